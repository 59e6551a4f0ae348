import json

import numpy as np
import pytest

from embodied.clip.shards import ShardError, check_held_out, load_samples, read_index
from embodied.errors import ConfigError
from sims.raycast.categories import CATEGORIES
from datasets3d.clip_data import (
    ClipDataConfig,
    caption_frame,
    caption_object,
    house_samples,
    write_clip_dataset,
)
from sims.raycast.episodes import SPLITS

SMALL = dict(crops_per_category=1, frames_per_house=2, cells_per_frame=2, frame_px=128, crop_px=48)


@pytest.fixture(scope="module")
def train_data(tmp_path_factory):
    out = tmp_path_factory.mktemp("clip") / "train"
    write_clip_dataset(out, ClipDataConfig(split="train", houses=2, **SMALL), progress=False)
    return out


@pytest.fixture(scope="module")
def val_data(tmp_path_factory):
    out = tmp_path_factory.mktemp("clip") / "val"
    write_clip_dataset(out, ClipDataConfig(split="val", houses=1, keep_masks=True, **SMALL), progress=False)
    return out


def test_captions_name_category_and_attributes():
    rng = np.random.default_rng(0)
    attrs = {"colour": "orange", "material": "fabric", "size": "large"}
    caps = [caption_object("sofa", attrs, "living_room", rng) for _ in range(300)]
    assert all("sofa" in c for c in caps)
    assert len(set(caps)) > 60  # varied templates and attribute subsets
    assert any("orange" in c for c in caps) and any("fabric" in c for c in caps) and any("large" in c for c in caps)
    assert any("living room" in c for c in caps) and not any("living_room" in c for c in caps)
    assert sum(c in ("a photo of a sofa.", "a sofa.", "the sofa.", "sofa") for c in caps) > 10  # bare category
    assert any(c.startswith("an orange") for c in caps)  # articles follow the first word
    frames = [caption_frame(["chair", "lamp"], "office", np.random.default_rng(i)) for i in range(20)]
    assert any("an office" in c for c in frames) and not any("a office" in c for c in frames)
    cap = caption_frame(["oven", "sink", "mug", "chair"], "kitchen", np.random.default_rng(1))
    assert "oven" in cap and "sink" in cap and "mug" in cap and "chair" not in cap  # three largest


def test_house_samples_are_deterministic_and_well_formed():
    cfg = ClipDataConfig(split="train", houses=1, **SMALL)
    a, b = house_samples(3, cfg), house_samples(3, cfg)
    assert [s.key for s in a] == [s.key for s in b] and [s.caption for s in a] == [s.caption for s in b]
    assert all(np.array_equal(x.image, y.image) for x, y in zip(a, b))
    kinds = {s.meta["kind"] for s in a}
    assert kinds == {"crop", "frame", "cell", "segment"}
    segs = [s for s in a if s.meta["kind"] == "segment"]
    named = [s for s in segs if s.meta["category"] is not None]
    assert named and all(s.meta["category"] in s.caption for s in named)
    assert all(min(s.image.shape[:2]) <= 48 and s.meta["segment_px"] >= cfg.min_segment_px for s in segs)
    crop_objects = {s.meta["instance_id"] for s in a if s.meta["kind"] == "crop"}
    assert {s.meta["instance_id"] for s in named} & crop_objects  # a view's own object is its first segment
    none = house_samples(3, ClipDataConfig(split="train", houses=1, segments_per_view=0, **SMALL))
    assert {s.meta["kind"] for s in none} == {"crop", "frame", "cell"}
    crops = [s for s in a if s.meta["kind"] == "crop"]
    assert all(s.image.shape == (48, 48, 3) and s.meta["category"] in CATEGORIES for s in crops)
    assert all(s.meta["category"] in s.caption for s in crops)
    assert all(s.meta["visible_px"] >= cfg.min_object_px for s in crops)
    frames = [s for s in a if s.meta["kind"] == "frame"]
    assert len(frames) == 2 and all(s.image.shape == (128, 128, 3) and s.seg is None for s in frames)


def test_dataset_index_and_shard_contents(train_data):
    index = read_index(train_data)
    assert index["split"] == "train" and index["houses"] == [0, 1]
    assert index["scenes"] == ["house-000000", "house-000001"]
    assert index["categories"] == list(CATEGORIES)
    assert index["total"] == sum(index["counts"].values()) == sum(s["count"] for s in index["shards"])
    samples = load_samples(train_data)
    assert len(samples) == index["total"]
    crops = [s for s in samples if s.meta["kind"] == "crop"]
    assert len(crops) == index["counts"]["crop"] == sum(index["crops_per_category"].values())
    assert {s.meta["scene"] for s in samples} == set(index["scenes"])
    assert all(s.caption and s.image.dtype == np.uint8 for s in samples)
    assert index["generator"]["config"]["crops_per_category"] == 1
    with pytest.raises(ConfigError, match="already holds a CLIP dataset"):
        write_clip_dataset(train_data, ClipDataConfig(split="train", houses=2, **SMALL), progress=False)


def test_held_out_houses_never_leak_into_training_data(train_data, val_data):
    train, val = read_index(train_data), read_index(val_data)
    assert set(train["houses"]) <= set(SPLITS["train"])
    assert not set(train["houses"]) & (set(SPLITS["val"]) | set(SPLITS["test"]))
    assert set(val["houses"]) <= set(SPLITS["val"])
    train_scenes = {s.meta["scene"] for s in load_samples(train_data, with_seg=False)}
    val_scenes = {s.meta["scene"] for s in load_samples(val_data, with_seg=False)}
    assert not train_scenes & val_scenes
    check_held_out(train["scenes"], val)  # passes
    with pytest.raises(ShardError, match="shares 2 scenes"):
        check_held_out(train["scenes"], train)


def test_evaluation_frames_carry_instance_masks(val_data):
    frames = load_samples(val_data, kinds=("frame",))
    f = frames[0]
    assert f.seg is not None and f.seg.shape == f.image.shape[:2]
    labels = {int(k): v for k, v in f.meta["labels"].items()}
    visible = {int(i) for i in np.unique(f.seg) if i >= 0}
    assert visible <= set(labels)
    for inst, cat, px in f.meta["visible"]:
        assert labels[inst] == cat and int((f.seg == inst).sum()) == px


def test_bad_settings():
    with pytest.raises(ConfigError, match="unknown split"):
        ClipDataConfig(split="holdout")
    with pytest.raises(ConfigError, match="has 100 houses"):
        ClipDataConfig(split="val", houses=101)
    with pytest.raises(ConfigError, match="nothing to render"):
        ClipDataConfig(crops_per_category=0, frames_per_house=0)


def test_cli_dataset_command(tmp_path):
    from click.testing import CliRunner

    from embodied.cli.main import cli

    res = CliRunner().invoke(cli, ["clip", "dataset", "--out", str(tmp_path / "d"), "--split", "test", "--houses", "1",
                                   "--crops-per-category", "1", "--frames-per-house", "1", "--cells-per-frame", "0",
                                   "--frame-px", "96", "--crop-px", "32", "--masks", "--workers", "1"])
    assert res.exit_code == 0, res.output
    index = json.loads((tmp_path / "d" / "index.json").read_text())
    assert index["houses"] == [900] and index["counts"]["frame"] == 1 and "samples" in res.output


def test_prepare_reuses_data_of_the_same_settings_and_version_only(tmp_path):
    """`embodied clip prepare` keeps rendered data whose settings and CLIP data version match, and
    renders again when the version differs (e.g. a new depth segmenter changed the segment crops)."""
    from datasets3d.sim_clip import ensure_dataset

    cfg = ClipDataConfig(split="train", houses=1, **SMALL)
    said = []
    path = ensure_dataset(tmp_path / "train", cfg, said.append)
    ensure_dataset(path, cfg, said.append)
    assert len(said) == 1  # rendered once, then reused
    index = json.loads((path / "index.json").read_text())
    index["generator"]["clip_data_version"] -= 1
    (path / "index.json").write_text(json.dumps(index))
    ensure_dataset(path, cfg, said.append)
    assert len(said) == 2 and read_index(path)["generator"]["clip_data_version"] == index["generator"]["clip_data_version"] + 1
