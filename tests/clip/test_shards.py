import json
import tarfile

import numpy as np
import pytest

from embodied.clip.shards import (
    ShardError,
    ClipShardWriter,
    check_held_out,
    decode_seg,
    encode_seg,
    iter_samples,
    load_samples,
    read_index,
    write_index,
)


def _write(tmp_path, n=5, max_count=2, seg=False):
    rng = np.random.default_rng(0)
    with ClipShardWriter(tmp_path, prefix="train", max_count=max_count) as w:
        for i in range(n):
            img = np.full((24, 32, 3), (40 * i, 200 - 30 * i, 90), np.uint8)
            ids = rng.integers(-1, 5, (24, 32)).astype(np.int32) if seg else None
            w.write(f"house-000001-o{i:04d}", img, f"a photo of thing {i}.", {"kind": "crop", "category": f"c{i % 2}"},
                    ids)
    write_index(tmp_path, w.shards, {"split": "train", "scenes": ["house-000001"], "categories": ["c0", "c1"]})
    return w.shards


def test_round_trip_counts_index_and_order(tmp_path):
    shards = _write(tmp_path, n=5, max_count=2)
    assert [s.count for s in shards] == [2, 2, 1] and [s.name for s in shards][0] == "train-000000.tar"
    index = read_index(tmp_path)
    assert index["total"] == 5 and index["scenes"] == ["house-000001"] and len(index["fingerprint"]) == 64
    samples = load_samples(tmp_path)
    assert [s.key for s in samples] == [f"house-000001-o{i:04d}" for i in range(5)]
    assert samples[3].caption == "a photo of thing 3." and samples[3].meta == {"kind": "crop", "category": "c1"}
    # JPEG at quality 90, 4:4:4: flat colours survive within a few levels
    assert samples[3].image.shape == (24, 32, 3)
    assert np.abs(samples[3].image.astype(int) - [120, 110, 90]).max() <= 3
    assert not list(tmp_path.glob(".*tmp"))  # atomic writes leave no temporary files
    assert [s.key for s in iter_samples(tmp_path, kinds=("frame",))] == []
    with pytest.raises(ShardError, match="no samples of kind frame"):
        load_samples(tmp_path, kinds=("frame",))


def test_shards_are_webdataset_readable_and_deterministic(tmp_path):
    import webdataset as wds

    _write(tmp_path / "a", n=3, max_count=10)
    _write(tmp_path / "b", n=3, max_count=10)
    assert (tmp_path / "a" / "train-000000.tar").read_bytes() == (tmp_path / "b" / "train-000000.tar").read_bytes()
    ds = wds.WebDataset(str(tmp_path / "a" / "train-000000.tar"), shardshuffle=False).decode("rgb8")
    rows = list(ds)
    assert [r["__key__"] for r in rows] == [f"house-000001-o{i:04d}" for i in range(3)]
    assert rows[1]["txt"] == "a photo of thing 1." and rows[1]["json"]["category"] == "c1"
    assert rows[1]["jpg"].shape == (24, 32, 3) and rows[1]["jpg"].dtype == np.uint8


def test_instance_masks_round_trip(tmp_path):
    ids = np.array([[-1, 0, 3], [65534, 7, -1]], np.int32)
    np.testing.assert_array_equal(decode_seg(encode_seg(ids)), ids)
    _write(tmp_path, n=2, seg=True)
    s = load_samples(tmp_path)[0]
    assert s.seg.dtype == np.int32 and s.seg.shape == (24, 32) and s.seg.min() >= -1


def test_bad_data_gives_clear_errors(tmp_path):
    with pytest.raises(ShardError, match="index.json is missing.*embodied clip dataset"):
        read_index(tmp_path)
    with pytest.raises(ShardError, match="no samples were written"):
        write_index(tmp_path, [], {"split": "train"})
    w = ClipShardWriter(tmp_path / "w")
    with pytest.raises(ShardError, match="letters, digits"):
        w.write("bad.key", np.zeros((2, 2, 3), np.uint8), "x", {})
    w.write("k", np.zeros((2, 2, 3), np.uint8), "x", {})
    with pytest.raises(ShardError, match="duplicate"):
        w.write("k", np.zeros((2, 2, 3), np.uint8), "x", {})
    with pytest.raises(ShardError, match="empty caption"):
        w.write("k2", np.zeros((2, 2, 3), np.uint8), "  ", {})
    w.close()
    # an index that promises samples over an empty tar: "empty shard"
    empty = tmp_path / "empty"
    empty.mkdir()
    with tarfile.open(empty / "train-000000.tar", "w"):
        pass
    (empty / "index.json").write_text(json.dumps({"format": "embodied-clip-shards/1", "total": 1,
                                                  "shards": [{"name": "train-000000.tar", "count": 1, "sha256": ""}]}))
    with pytest.raises(ShardError, match="empty shard"):
        load_samples(empty)
    (empty / "index.json").write_text(json.dumps({"format": "embodied-clip-shards/1", "total": 0, "shards": []}))
    with pytest.raises(ShardError, match="holds no samples"):
        read_index(empty)


def test_check_held_out():
    check_held_out(["house-000001", "house-000002"], {"scenes": ["house-000800"]})
    with pytest.raises(ShardError, match="shares 1 scenes.*house-000002"):
        check_held_out(["house-000001", "house-000002"], {"scenes": ["house-000002", "house-000800"]})
