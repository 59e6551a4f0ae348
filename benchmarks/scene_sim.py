"""Speed and memory of the built-in simulator on a scanned scene, side by side with a procedural house.

The "scan" is made here, deterministically: a procedural house (``generate_house(--house-seed)``) whose
largest triangles are split until it has about ``--triangles`` of them (scans have many small
triangles), every face UV-mapped by planar projection into one of ``--textures`` texture images of
``--texture-px`` squared (structure and objects on different images, REPEAT-wrapped as in a real
atlas), written as a Y-up GLB with embedded PNGs, then read back through ``sims.raycast.scan.load_scan``
exactly as a user's file would be. Semantics: a ``.semantic.json`` naming the object nodes.

What is measured (one run prints everything):

  1. build  : writing the GLB (not the simulator's cost, shown for scale), then in the simulator's order:
              ``load_scan`` (parse + flatten + semantics), ``detect_floors``, ``build_scan_navgrid`` of
              the ground storey, the renderer (Embree BVH + appearance tables).
  2. memory : in a fresh process each, RSS over the imports after loading and the first two frames,
              for the scan and for the procedural house.
  3. steps/s: ``RaycastSimulator`` at ``--width`` x ``--height`` from the same start cell (the scan's
              floor and walls are the house's, so the same poses are valid in both), ``--steps`` steps
              of a fixed-seed action sequence (MOVE_FORWARD x3 : TURN_LEFT : TURN_RIGHT) returning RGB +
              depth + instance ids; median of ``--repeats`` runs, interleaved; ratio scan / house.

Run (defaults: about 1M triangles, 4 textures of 2048 px; a few minutes on 2 cores):

    .venv/bin/python benchmarks/scene_sim.py
    .venv/bin/python benchmarks/scene_sim.py --triangles 300000 --texture-px 4096 --json /tmp/scene_sim.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere without installing

from benchmarks.sim import action_sequence, rss_mb  # noqa: E402


# ---------------------------------------------------------------------------------------------- the scan
def _split_largest(v: np.ndarray, f: np.ndarray, share: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split the ``share`` largest faces into 4 (edge midpoints; midpoints are not shared between faces,
    which is fine for rendering and keeps this vectorised). Returns (vertices, faces, parent face of each)."""
    tri = v[f]
    area = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    k = max(1, int(len(f) * share))
    big = np.argsort(-area)[:k]
    keep = np.setdiff1d(np.arange(len(f)), big)
    t = tri[big]
    m01, m12, m20 = (t[:, 0] + t[:, 1]) / 2, (t[:, 1] + t[:, 2]) / 2, (t[:, 2] + t[:, 0]) / 2
    new = np.stack([np.stack([t[:, 0], m01, m20], 1), np.stack([m01, t[:, 1], m12], 1),
                    np.stack([m20, m12, t[:, 2]], 1), np.stack([m01, m12, m20], 1)], 1).reshape(-1, 3, 3)
    verts = np.concatenate([v, new.reshape(-1, 3)])
    faces = np.concatenate([f[keep], len(v) + np.arange(len(new) * 3).reshape(-1, 3)])
    return verts, faces, np.concatenate([keep, np.repeat(big, 4)])


def _texture(px: int, seed: int) -> np.ndarray:
    """(px, px, 3) uint8: tiles with noise (something a CLIP model could tell apart from another)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(60, 220, 3)
    yy, xx = np.mgrid[0:px, 0:px]
    tiles = (((xx // (px // 16)) + (yy // (px // 16))) % 2)[..., None] * 40
    noise = rng.integers(-12, 13, (px // 8, px // 8, 3)).repeat(8, 0).repeat(8, 1)
    return np.clip(base + tiles + noise, 0, 255).astype(np.uint8)


def make_scan(folder: Path, house_seed: int, triangles: int, n_textures: int, texture_px: int) -> tuple[Path, dict]:
    """Write ``<folder>/scan.glb`` (+ ``scan.semantic.json``); return its path and figures."""
    import trimesh
    from PIL import Image

    from sims.habitat.frames import world_to_habitat
    from sims.raycast.house import generate_house
    from sims.raycast.render import face_normals

    house = generate_house(house_seed)
    v, f = house.vertices.astype(np.float64), house.faces.astype(np.int64)
    inst = house.face_instance.copy()
    while len(f) < triangles:
        v, f, parent = _split_largest(v, f, min(1.0, (triangles - len(f)) / (3 * len(f))))
        inst = inst[parent]
    n = face_normals(v.astype(np.float32), f.astype(np.int32))
    tri = v[f]
    horizontal = np.abs(n[:, 2]) > 0.5
    a = np.where(horizontal[:, None], tri[..., 0], tri[..., 0] + tri[..., 1])
    b = np.where(horizontal[:, None], tri[..., 1], tri[..., 2])
    uv = np.stack([a, b], -1) / 1.5  # 1.5 m per texture repeat
    tex_of = np.where(inst < 0, 0, 1 + inst % max(1, n_textures - 1)) % n_textures
    images = [Image.fromarray(_texture(texture_px, i)) for i in range(n_textures)]
    scene = trimesh.Scene()
    mapping = {}
    for t in range(n_textures):
        for group, sel in (("structure", (tex_of == t) & (inst < 0)), ("objects", (tex_of == t) & (inst >= 0))):
            idx = np.flatnonzero(sel)
            if len(idx) == 0:
                continue
            if group == "objects":  # one node per object, so the semantics file can name them
                for i in np.unique(inst[idx]):
                    j = idx[inst[idx] == i]
                    name = f"obj{i:04d}"
                    _add(scene, trimesh, world_to_habitat(tri[j].reshape(-1, 3)), uv[j].reshape(-1, 2), images[t], name)
                    mapping[name] = house.labels.get(int(i), "object")
            else:
                _add(scene, trimesh, world_to_habitat(tri[idx].reshape(-1, 3)), uv[idx].reshape(-1, 2), images[t],
                     f"structure{t}")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scan.glb"
    t0 = time.perf_counter()
    path.write_bytes(scene.export(file_type="glb"))
    (folder / "scan.semantic.json").write_text(json.dumps(mapping))
    return path, {"triangles": int(len(f)), "textures": n_textures, "texture_px": texture_px,
                  "glb_mb": path.stat().st_size / 2**20, "write_s": time.perf_counter() - t0, "house": house.scene_id}


def _add(scene, trimesh, vertices: np.ndarray, uv: np.ndarray, image, name: str) -> None:
    faces = np.arange(len(vertices)).reshape(-1, 3)
    material = trimesh.visual.material.PBRMaterial(baseColorTexture=image, baseColorFactor=[255, 255, 255, 255])
    mesh = trimesh.Trimesh(vertices, faces, visual=trimesh.visual.TextureVisuals(uv=uv, material=material),
                           process=False)
    scene.add_geometry(mesh, node_name=name, geom_name=name)


# ---------------------------------------------------------------------------------------------- 1. build
def bench_build(path: Path) -> dict:
    from sims.raycast.floors import build_scan_navgrid, detect_floors
    from sims.raycast.render import Renderer
    from sims.raycast.scan import load_scan

    out = {}
    t0 = time.perf_counter()
    scene = load_scan(path)
    out["load_scan_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    floors = detect_floors(scene)
    out["detect_floors_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    nav = build_scan_navgrid(scene, floors[0])
    out["navgrid_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    Renderer(scene).close()
    out["renderer_s"] = time.perf_counter() - t0
    out.update(floors_m=floors, navigable_m2=float(nav.navigable.sum() * nav.resolution_m ** 2),
               objects=len(scene.objects), faces=len(scene.faces))
    for k in ("load_scan_s", "detect_floors_s", "navgrid_s", "renderer_s"):
        print(f"  {k:<16} {out[k]:7.2f} s")
    print(f"  {out['faces']} faces, storeys at {', '.join(f'{z:.2f}' for z in floors)} m, "
          f"{out['navigable_m2']:.0f} m2 navigable, {out['objects']} labelled objects")
    return out


# ---------------------------------------------------------------------------------------------- 2. memory
def _memory_probe(scene_id: str, width: int, height: int) -> dict:
    from embodied.types import Action
    from sims.raycast.simulator import RaycastSimulator, SimConfig

    base = rss_mb()[0]
    sim = RaycastSimulator(SimConfig(width=width, height=height, scene=scene_id))
    sim.reset(seed=0)
    sim.step(Action.TURN_LEFT)
    rss, peak = rss_mb()
    sim.close()
    return {"increase_mb": rss - base, "peak_increase_mb": peak - base}


def bench_memory(scan: Path, house_id: str, width: int, height: int) -> dict:
    ctx = mp.get_context("spawn")
    out = {}
    for name, sid in (("house", house_id), ("scan", str(scan))):
        with ctx.Pool(1) as pool:
            out[name] = pool.apply(_memory_probe, (sid, width, height))
        print(f"  {name:<6} +{out[name]['increase_mb']:7.1f} MiB RSS (peak +{out[name]['peak_increase_mb']:7.1f} MiB)")
    return out


# ---------------------------------------------------------------------------------------------- 3. steps/s
def bench_steps(scan: Path, house_id: str, width: int, height: int, steps: int, repeats: int) -> dict:
    from sims.raycast.native import load_native
    from sims.raycast.simulator import RaycastSimulator, SimConfig

    sims = {name: RaycastSimulator(SimConfig(width=width, height=height, scene=sid))
            for name, sid in (("house", house_id), ("scan", str(scan)))}
    for sim in sims.values():
        sim.reset(seed=0)  # loads the scene
    scan_nav, house_nav = sims["scan"].nav, sims["house"].nav  # their grids differ in extent: compare points
    cells = [c for c in np.argwhere(scan_nav.largest_component())[::25]
             if house_nav.is_navigable(scan_nav.cell_center(*c))]
    start = scan_nav.cell_center(*cells[len(cells) // 2])
    actions = action_sequence(steps, 0)
    times: dict[str, list[float]] = {k: [] for k in sims}
    for _ in range(repeats):
        for name, sim in sims.items():
            sim.teleport(start, 0.0)
            for a in actions[:10]:  # warm-up
                sim.step(a)
            sim.teleport(start, 0.0)
            t0 = time.perf_counter()
            for a in actions:
                sim.step(a)
            times[name].append(steps / (time.perf_counter() - t0))
    out = {k: statistics.median(v) for k, v in times.items()}
    out["ratio_scan_over_house"] = out["scan"] / out["house"]
    out["native"] = load_native() is not None
    for k in ("house", "scan"):
        print(f"  {k:<6} {out[k]:7.1f} steps/s  ({width}x{height}, RGB + depth + instances)")
    print(f"  scan / house: {out['ratio_scan_over_house']:.2f}  (native renderer: {out['native']})")
    for sim in sims.values():
        sim.close()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--house-seed", type=int, default=800)
    p.add_argument("--triangles", type=int, default=1_000_000)
    p.add_argument("--textures", type=int, default=4)
    p.add_argument("--texture-px", type=int, default=2048)
    p.add_argument("--width", type=int, default=224)
    p.add_argument("--height", type=int, default=224)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--keep", type=Path, default=None, help="Write the scan (scan.glb + scan.semantic.json) here and keep it.")
    args = p.parse_args()
    res: dict = {"args": vars(args) | {"json": str(args.json) if args.json else None,
                                       "keep": str(args.keep) if args.keep else None}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        print(f"scan: house-{args.house_seed} split to ~{args.triangles} triangles, {args.textures} x "
              f"{args.texture_px}^2 textures")
        path, res["scan"] = make_scan(folder, args.house_seed, args.triangles, args.textures, args.texture_px)
        print(f"  {res['scan']['triangles']} triangles, GLB {res['scan']['glb_mb']:.0f} MiB written in "
              f"{res['scan']['write_s']:.1f} s")
        house_id = res["scan"]["house"]
        print("1. build")
        res["build"] = bench_build(path)
        print("2. memory")
        res["memory"] = bench_memory(path, house_id, args.width, args.height)
        print("3. steps/s")
        res["steps"] = bench_steps(path, house_id, args.width, args.height, args.steps, args.repeats)
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))
        print(f"-> {args.json}")


if __name__ == "__main__":
    main()
