"""Seconds per object for multi-view rendering: the built-in ray caster vs Blender Cycles (bpy).

Same object, same 12 Zero123 cameras (seed 0), 256x256, both backends of ``datasets3d.rendering``:

  * render      : ``backend.render(asset, poses, K)`` for all views of one object, from the loaded,
                  normalized asset (Cycles: scene build + N renders + reading the PNGs back; its
                  depth/normals/mask come from the ray caster and are included).
  * end-to-end  : ``runner.render_one`` for the object: sha256 check, load + normalize, cameras,
                  render, and writing every PNG / .npy / metadata.json / contact sheet.

``core-s/obj`` is the end-to-end CPU time of all threads (core-seconds): the ray caster scales out
as one object per core, so objects per second of a full machine go as its inverse; the target is
checked on it (per core, like the mining benchmark). Median over ``--repeats`` runs (after one warm-up) for the ray caster; Cycles is slow, so it runs
``--bpy-repeats`` times (default 1, after a warm-up of the import). The ray caster uses one thread
(scale-out is one object per worker process); Cycles uses all cores (``threads`` 0) at
``--bpy-samples`` samples (low: 16), no denoising. Target: ray caster >= 20x faster per object.
If bpy cannot be imported, its row says why and the ray caster is still measured.

Run:

    .venv/bin/python benchmarks/render.py
    .venv/bin/python benchmarks/render.py --mesh path/to/model.glb --size 512 --json /tmp/render.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere without installing

from datasets3d.objaverse import scan_local  # noqa: E402
from datasets3d.rendering.asset import load_asset  # noqa: E402
from datasets3d.rendering.cameras import intrinsics_from_lens, object_rng, sample_cameras  # noqa: E402
from datasets3d.rendering.config import RenderConfig, texture_limit_px  # noqa: E402
from datasets3d.rendering.runner import build_backend, render_one  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "assets" / "objects"
DEFAULT_MESH = SHARED / "ocrtoc_blue_cup" / "textured.obj"


def _procedural(folder: Path) -> Path:
    """A textured, 20k-triangle stand-in when the shared real assets are absent."""
    import numpy as np
    import trimesh
    from PIL import Image

    m = trimesh.creation.icosphere(subdivisions=5)
    m.apply_scale([1.0, 0.7, 0.5])
    uv = np.c_[np.arctan2(m.vertices[:, 1], m.vertices[:, 0]) / (2 * np.pi) + 0.5, m.vertices[:, 2] / 1.0 + 0.5]
    tex = (np.random.default_rng(0).random((256, 256, 3)) * 255).astype(np.uint8)
    m.visual = trimesh.visual.TextureVisuals(uv=uv, image=Image.fromarray(tex))
    path = folder / "procedural.glb"
    m.export(path)
    return path


def _time_backend(cfg: RenderConfig, mesh: Path, repeats: int, out: Path) -> dict:
    rec = scan_local([mesh], extract_dir=out / "x")[0][0]
    asset = load_asset(mesh, up_axis=cfg.up_axis, max_texture_px=texture_limit_px(cfg))
    poses = sample_cameras(cfg, object_rng(cfg.seed, rec.sha256))
    K = intrinsics_from_lens(cfg.width, cfg.height, cfg.lens_mm, cfg.sensor_mm)
    backend = build_backend(cfg)
    backend.render(asset, poses[:1], K)  # warm-up (imports, caches)
    render_s, e2e_s, e2e_cpu_s = [], [], []
    for i in range(repeats):
        t0 = time.perf_counter()
        views = backend.render(asset, poses, K)
        render_s.append(time.perf_counter() - t0)
        assert len(views) == cfg.views
        job = {"record": rec.to_dict(), "out_dir": str(out / f"{cfg.backend}-{i}"), "config": _cfg_dict(cfg)}
        (out / f"{cfg.backend}-{i}" / "objects").mkdir(parents=True, exist_ok=True)
        t0, c0 = time.perf_counter(), time.process_time()
        row = render_one(job)
        e2e_s.append(time.perf_counter() - t0)
        e2e_cpu_s.append(time.process_time() - c0)  # all threads of this process: core-seconds
        if row["status"] != "ok":
            raise RuntimeError(f"{cfg.backend}: {row['error']}")
    return {"backend": cfg.backend, "render_s": statistics.median(render_s), "end_to_end_s": statistics.median(e2e_s),
            "end_to_end_cpu_s": statistics.median(e2e_cpu_s), "runs": repeats, "describe": backend.describe(), "faces": asset.info["face_count"]}


def _cfg_dict(cfg: RenderConfig) -> dict:
    from embodied.config import config_to_dict

    return config_to_dict(cfg)


def _bpy_status() -> str | None:
    """None when bpy imports and can render with Cycles, else the reason."""
    from embodied.optional import is_available

    if not is_available("bpy"):
        return "bpy is not installed (pip install 'embodied-zeroshot[blender]')"
    try:
        import bpy
    except Exception as exc:  # noqa: BLE001 - any import failure is the reason
        return f"bpy does not import: {type(exc).__name__}: {exc}"
    if getattr(bpy, "IS_TEST_STAND_IN", False):
        return "bpy on sys.path is the test stand-in"
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mesh", type=Path, default=None, help=f"object to render (default: {DEFAULT_MESH})")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--views", type=int, default=12)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--bpy-repeats", type=int, default=1)
    ap.add_argument("--bpy-samples", type=int, default=16)
    ap.add_argument("--skip-bpy", action="store_true")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="render-bench-") as tmp:
        out = Path(tmp)
        mesh = args.mesh or (DEFAULT_MESH if DEFAULT_MESH.is_file() else _procedural(out))
        cpu = platform.processor() or platform.machine()
        print(f"object: {mesh} | {args.views} views {args.size}x{args.size} | {cpu}, {os.cpu_count()} cores, "
              f"load average {os.getloadavg()[0]:.2f}")
        base = dict(views=args.views, width=args.size, height=args.size, seed=0)
        rows = [_time_backend(RenderConfig(backend="raycast", **base), mesh, args.repeats, out)]
        reason = "skipped (--skip-bpy)" if args.skip_bpy else _bpy_status()
        if reason is None:
            cfg = RenderConfig(backend="blender", samples=args.bpy_samples, threads=0, **base)
            rows.append(_time_backend(cfg, mesh, args.bpy_repeats, out))
        else:
            rows.append({"backend": "blender", "unavailable": reason})

    print(f"\n{'backend':<9} {'engine':<34} {'spp':>4} {'render s/obj':>13} {'end-to-end s/obj':>17} "
          f"{'core-s/obj':>11} {'runs':>5}")
    for r in rows:
        if "unavailable" in r:
            print(f"{r['backend']:<9} unavailable: {r['unavailable']}")
            continue
        d = r["describe"]
        engine = d["engine"] + (f" {d['blender']}" if "blender" in d else "")
        print(f"{r['backend']:<9} {engine[:34]:<34} {d['samples_per_pixel']:>4} {r['render_s']:>13.3f} "
              f"{r['end_to_end_s']:>17.3f} {r['end_to_end_cpu_s']:>11.3f} {r['runs']:>5}")
    result = {"mesh": str(mesh), "size": args.size, "views": args.views, "rows": rows}
    if len(rows) == 2 and "unavailable" not in rows[1]:
        speed = rows[1]["render_s"] / rows[0]["render_s"]
        speed_e2e = rows[1]["end_to_end_s"] / rows[0]["end_to_end_s"]
        per_core = rows[1]["end_to_end_cpu_s"] / rows[0]["end_to_end_cpu_s"]
        result.update(speedup_render=speed, speedup_end_to_end=speed_e2e, speedup_per_core=per_core)
        print(f"\nray caster vs Cycles: {speed:.1f}x faster (render wall), {speed_e2e:.1f}x (end-to-end wall, "
              f"Cycles on all {os.cpu_count()} cores, the ray caster on one), {per_core:.1f}x per core (end-to-end "
              f"core-seconds: objects per second of a machine filled with workers); "
              f"target >= 20x per core: {'PASS' if per_core >= 20 else 'FAIL'}")
    else:
        print("\nspeed-up vs Cycles: not measured (bpy unavailable)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
