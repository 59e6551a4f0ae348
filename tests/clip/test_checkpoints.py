import numpy as np
import pytest
import torch

from embodied.clip import ClipBackbone, ClipConfig
from embodied.clip.checkpoints import interpolate_checkpoints, interpolate_state_dicts, load_state_dict
from embodied.errors import CheckpointError, ConfigError


def _sd(seed):
    g = torch.Generator().manual_seed(seed)
    return {"w": torch.randn(4, 3, generator=g), "h": torch.randn(2, generator=g).half(),
            "ids": torch.arange(5)}


@pytest.mark.parametrize("alpha", [0.0, 1.0, 0.5, 0.25])
def test_interpolation_values(alpha):
    a, b = _sd(0), _sd(1)
    out = interpolate_state_dicts(a, b, alpha)
    expect = (1 - alpha) * a["w"].double() + alpha * b["w"].double()
    torch.testing.assert_close(out["w"], expect.float(), atol=0, rtol=0)
    assert out["h"].dtype == torch.float16 and torch.equal(out["ids"], a["ids"])
    if alpha == 0.0:
        assert all(torch.equal(out[k], a[k]) for k in a)
    if alpha == 1.0:
        assert all(torch.equal(out[k], b[k]) for k in b)


def test_interpolation_rejects_bad_input():
    a, b = _sd(0), _sd(1)
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        interpolate_state_dicts(a, b, 1.5)
    with pytest.raises(CheckpointError, match="different architectures"):
        interpolate_state_dicts(a, {**b, "extra": torch.zeros(1)}, 0.5)
    with pytest.raises(CheckpointError, match="shape"):
        interpolate_state_dicts(a, {**b, "w": torch.zeros(3, 4)}, 0.5)
    with pytest.raises(CheckpointError, match="non-float"):
        interpolate_state_dicts(a, {**b, "ids": torch.arange(5) + 1}, 0.5)


def test_interpolated_checkpoint_files_load_as_backbones(tmp_path, images):
    zs = ClipBackbone(ClipConfig(model="embodied-tiny", random_init=True, seed=0, device="cpu"))
    ft = ClipBackbone(ClipConfig(model="embodied-tiny", random_init=True, seed=1, device="cpu"))
    pz, pf = zs.save(tmp_path / "zs.safetensors"), ft.save(tmp_path / "ft.safetensors")
    for alpha, ref in ((0.0, zs), (1.0, ft)):
        out = interpolate_checkpoints(pz, pf, alpha, tmp_path / f"mix{alpha}.safetensors")
        mixed = ClipBackbone(ClipConfig(model="embodied-tiny", checkpoint=str(out), device="cpu"))
        np.testing.assert_allclose(mixed.encode_images(images), ref.encode_images(images), atol=1e-6, rtol=0)
    half = interpolate_checkpoints(pz, pf, 0.5, tmp_path / "mix.safetensors")
    sd, meta = load_state_dict(half)
    key = "visual.proj"
    torch.testing.assert_close(sd[key], 0.5 * zs.model.state_dict()[key] + 0.5 * ft.model.state_dict()[key])
    assert '"alpha": 0.5' in meta["embodied.interpolation"]
    assert meta["embodied.architecture"] == "embodied-tiny"
    assert '"source": "interpolation"' in meta["embodied.provenance"]  # not the zero-shot model's
