"""CLIP checkpoint files: safe loading, atomic saving, and WiSE-FT / PAINT weight interpolation.

Files are plain state dicts: ``.safetensors`` (preferred; our metadata rides in its header) or
``.pt`` / ``.pth`` / ``.bin`` loaded with ``torch.load(weights_only=True)``. open_clip training
checkpoints (``{"state_dict": ..., "epoch": ...}`` with ``module.`` prefixes) load too.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import torch

from embodied.errors import CheckpointError, ConfigError
from embodied.files import file_sha256

__all__ = [
    "ARCH_KEY",
    "PREPROCESS_KEY",
    "QUICK_GELU_KEY",
    "PROVENANCE_KEY",
    "load_state_dict",
    "save_state_dict",
    "interpolate_state_dicts",
    "interpolate_checkpoints",
]

ARCH_KEY = "embodied.architecture"
PREPROCESS_KEY = "embodied.preprocess"
QUICK_GELU_KEY = "embodied.quick_gelu"
PROVENANCE_KEY = "embodied.provenance"
_TORCH_META = "embodied_metadata"  # where .pt files written by save_state_dict keep the metadata
_SAFE_SUFFIXES = (".safetensors",)
_TORCH_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")


def load_state_dict(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read a state dict and its string metadata (empty for torch files).

    Raises:
        CheckpointError: missing file, unknown suffix, corrupt content, or no tensors inside.
    """
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint file not found: {p}")
    suffix = p.suffix.lower()
    meta: dict[str, str] = {}
    try:
        if suffix in _SAFE_SUFFIXES:
            from safetensors import safe_open

            with safe_open(str(p), framework="pt", device="cpu") as f:
                meta = dict(f.metadata() or {})
                sd = {k: f.get_tensor(k) for k in f.keys()}
        elif suffix in _TORCH_SUFFIXES:
            obj = torch.load(str(p), map_location="cpu", weights_only=True)
            if isinstance(obj, Mapping) and isinstance(obj.get(_TORCH_META), Mapping):
                meta = {str(k): str(v) for k, v in obj[_TORCH_META].items()}
            if isinstance(obj, Mapping) and "state_dict" in obj:
                obj = obj["state_dict"]
            if not isinstance(obj, Mapping):
                raise CheckpointError(f"{p} holds a {type(obj).__name__}, not a state dict")
            sd = {k.removeprefix("module."): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
        else:
            raise CheckpointError(
                f"unsupported checkpoint suffix '{suffix}' for {p}; use .safetensors, .pt, .pth or .bin"
            )
    except CheckpointError:
        raise
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"could not read checkpoint {p} (corrupt, or not a plain state dict of tensors; pickled "
            f"objects are refused for safety): {first}"
        ) from exc
    if not sd:
        raise CheckpointError(f"checkpoint {p} contains no tensors")
    return sd, meta


def _stable_header(blob: bytes) -> bytes:
    """A safetensors file with its JSON header's keys sorted: safetensors writes the metadata in
    hash-map order, which changes from process to process, so equal weights gave unequal files."""
    import json
    import struct

    (n,) = struct.unpack("<Q", blob[:8])
    header = json.dumps(json.loads(blob[8:8 + n]), sort_keys=True, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)  # the data stays 8-byte aligned, as safetensors writes it
    return struct.pack("<Q", len(header)) + header + blob[8 + n:]


def save_state_dict(
    path: str | os.PathLike, state_dict: Mapping[str, torch.Tensor], metadata: Mapping[str, str] | None = None
) -> Path:
    """Write a state dict atomically (temp file + rename). ``.safetensors`` keeps ``metadata``."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in state_dict.items()}
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    os.close(fd)
    try:
        if p.suffix.lower() in _SAFE_SUFFIXES:
            from safetensors.torch import save

            Path(tmp).write_bytes(_stable_header(save(tensors, metadata=dict(metadata or {}))))
        elif p.suffix.lower() in _TORCH_SUFFIXES:
            torch.save({"state_dict": tensors, _TORCH_META: dict(metadata or {})}, tmp)
        else:
            raise CheckpointError(f"unsupported checkpoint suffix '{p.suffix}'; use .safetensors or .pt")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual mode
        os.replace(tmp, p)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return p


def interpolate_state_dicts(
    zeroshot: Mapping[str, torch.Tensor], finetuned: Mapping[str, torch.Tensor], alpha: float
) -> dict[str, torch.Tensor]:
    """WiSE-FT / PAINT blend ``(1 - alpha) * zeroshot + alpha * finetuned``, key by key.

    Floating-point tensors are blended in float64 and cast back; integer and bool buffers (e.g.
    token ids, masks) must be equal and are copied.

    Raises:
        ConfigError: alpha outside [0, 1].
        CheckpointError: different keys or shapes (different architectures).
    """
    if not (0.0 <= float(alpha) <= 1.0):
        raise ConfigError(f"interpolation alpha must be in [0, 1], got {alpha}")
    ka, kb = set(zeroshot), set(finetuned)
    if ka != kb:
        only_a, only_b = sorted(ka - kb)[:5], sorted(kb - ka)[:5]
        raise CheckpointError(
            "cannot interpolate checkpoints of different architectures: keys only in the zero-shot "
            f"model {only_a}, only in the fine-tuned model {only_b}"
        )
    out: dict[str, torch.Tensor] = {}
    for k, a in zeroshot.items():
        b = finetuned[k]
        if a.shape != b.shape:
            raise CheckpointError(
                f"cannot interpolate '{k}': shape {tuple(a.shape)} vs {tuple(b.shape)} (different architectures)"
            )
        if a.is_floating_point():
            mix = (1.0 - alpha) * a.double() + alpha * b.double()
            out[k] = mix.to(a.dtype)
        else:
            if not torch.equal(a, b):
                raise CheckpointError(f"non-float tensor '{k}' differs between the checkpoints")
            out[k] = a.clone()
    return out


def interpolate_checkpoints(
    zeroshot_path: str | os.PathLike,
    finetuned_path: str | os.PathLike,
    alpha: float,
    out_path: str | os.PathLike,
) -> Path:
    """Blend two checkpoint files of one architecture and write the result (metadata kept)."""
    za, meta_a = load_state_dict(zeroshot_path)
    fb, meta_b = load_state_dict(finetuned_path)
    arch_a, arch_b = meta_a.get(ARCH_KEY), meta_b.get(ARCH_KEY)
    if arch_a and arch_b and arch_a != arch_b:
        raise CheckpointError(f"cannot interpolate a {arch_a} checkpoint with a {arch_b} checkpoint")
    meta = {**meta_b, **meta_a}
    blend = {"alpha": float(alpha), "zeroshot": file_sha256(zeroshot_path), "finetuned": file_sha256(finetuned_path)}
    meta["embodied.interpolation"] = json.dumps(blend)
    meta[PROVENANCE_KEY] = json.dumps({"source": "interpolation", **blend})
    return save_state_dict(out_path, interpolate_state_dicts(za, fb, alpha), meta)
