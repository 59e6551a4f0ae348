"""Speed and footprint of the built-in ray-cast simulator, side by side with pybullet's TinyRenderer.

What is measured (one run prints everything, then a PASS/FAIL summary against the targets):

  1. house generation : ``generate_house(seed)`` wall time for several seeds (median, max; target
                        <= 2 s), with the face and object counts of each house.
  2. memory           : in a fresh process (so nothing else inflates it), the RSS increase over
                        ``import sims.raycast.simulator`` after generating a house, building
                        ``RaycastSimulator(scene=...)`` (renderer + navigable grid) and rendering one
                        frame (target < 500 MB); also the peak RSS and the scene arrays' nbytes.
  3. steps/s          : ``RaycastSimulator(SimConfig(width, height, backend, threads))`` in the same
                        house, ``reset(seed=house seed)``, then ``--steps`` steps of a fixed-seed random
                        action sequence (MOVE_FORWARD x3 : TURN_LEFT : TURN_RIGHT), timed with
                        time.perf_counter after a warm-up; every step returns RGB + depth + instance
                        ids. Median over ``--repeats`` runs, interleaved across backends so that
                        drift from other load hits all of them alike (target >= 200 steps/s). The
                        renderer alone over the same poses is timed too (render ms), which shows how
                        little of a step is the simulator's own bookkeeping.
  4. pybullet         : the same triangles loaded into pybullet (DIRECT mode, one GEOM_MESH body per
                        object instance, chunked to stay under pybullet's vertex limit, one colour per
                        body), and the camera poses recorded in 3. rendered with
                        ``getCameraImage(W, H, renderer=ER_TINY_RENDERER)`` (RGB + depth + segmentation,
                        converted to uint8 RGB, metric depth and instance ids like ours). Same hfov
                        (pybullet's fov argument is the vertical fov), near/far planes. Reports
                        frames/s and the ratio built-in steps/s / pybullet frames/s (target >= 5x).
                        Sanity check that the cameras match: median |depth difference| over pixels
                        where both hit (depth buffer d -> z = far*near / (far - (far - near) * d)),
                        and the instance-id agreement. TinyRenderer samples pixel corners rather than
                        pixel centres, so the same figures are also given with our principal point
                        moved by (+0.5, -0.5) px onto its sample positions (should be ~0).

Run (defaults take about a minute and a half on 2 cores):

    .venv/bin/python benchmarks/sim.py
    .venv/bin/python benchmarks/sim.py --house-seed 3 --steps 500 --repeats 5 --json /tmp/sim.json
    .venv/bin/python benchmarks/sim.py --backends embree:1,embree:2 --skip memory,pybullet

Timings depend on other load on the machine: the "others" columns give the CPU (in cores) that other
processes used during the timed runs; the header prints the load average.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere without installing

from embodied.types import Action, CameraIntrinsics  # noqa: E402

TARGETS = {"gen_s": 2.0, "mem_mb": 500.0, "steps_per_s": 200.0, "ratio": 5.0}
SECTIONS = ("generation", "memory", "steps", "pybullet")


# ---------------------------------------------------------------------------------------------- helpers
class OtherLoad:
    """CPU used by *other* processes while a block runs, in cores (machine-wide busy time from /proc/stat
    minus this process's own CPU time, over wall time). Timings taken with others > ~0.2 are suspect."""

    def __init__(self) -> None:
        self.cores: list[float] = []

    @staticmethod
    def _snapshot() -> tuple[float, float, float]:
        try:
            v = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
            busy = (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait
        except (OSError, ValueError):
            busy = math.nan
        t = os.times()
        return busy, t.user + t.system, time.perf_counter()

    def __enter__(self) -> OtherLoad:
        self._start = self._snapshot()
        return self

    def __exit__(self, *exc) -> None:
        b1, c1, w1 = self._snapshot()
        b0, c0, w0 = self._start
        self.cores.append(max(0.0, ((b1 - b0) - (c1 - c0)) / (w1 - w0)))

    @property
    def median(self) -> float:
        return statistics.median(self.cores) if self.cores else math.nan


def rss_mb() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MiB."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024
    except (OSError, KeyError):
        import psutil

        rss = psutil.Process().memory_info().rss / 2**20
        return rss, rss


def parse_backends(spec: str) -> list[tuple[str, int | None]]:
    """"embree:1,embree:2,open3d" -> [("embree", 1), ("embree", 2), ("open3d", None)].

    "embree" is the compiled (native) renderer when it builds here; "embree-numpy" forces the numpy one.
    """
    out = []
    for item in filter(None, (s.strip() for s in spec.split(","))):
        name, _, threads = item.partition(":")
        out.append((name, int(threads) if threads else None))
    return out


def backend_label(backend: str, threads: int | None) -> str:
    if not backend.startswith("embree"):
        return backend
    return f"{backend} x{threads}" if threads else f"{backend} x{min(8, os.cpu_count() or 1)} (default)"


def backend_args(backend: str) -> tuple[str, bool | None]:
    """(SimConfig backend, native flag) of a benchmark backend token."""
    return ("embree", False) if backend == "embree-numpy" else (backend, None)


def action_sequence(n: int, seed: int) -> list[Action]:
    """Fixed-seed random actions: MOVE_FORWARD, TURN_LEFT, TURN_RIGHT with weights 3 : 1 : 1."""
    rng = np.random.default_rng(seed)
    choices = (Action.MOVE_FORWARD, Action.TURN_LEFT, Action.TURN_RIGHT)
    return [choices[i] for i in rng.choice(3, size=n, p=(0.6, 0.2, 0.2))]


def shifted(K: CameraIntrinsics, du: float, dv: float) -> CameraIntrinsics:
    return CameraIntrinsics(K.width, K.height, K.fx, K.fy, K.cx + du, K.cy + dv)


# ---------------------------------------------------------------------------------------------- 1. generation
def bench_generation(seeds: list[int]) -> dict:
    """Wall time of generate_house per seed (the first call also pays for lazy imports: warmed up first)."""
    from sims.raycast.house import generate_house

    generate_house(seeds[0] + 10_000)  # warm-up: imports, object-mesh caches
    rows = []
    for s in seeds:
        t0 = time.perf_counter()
        scene = generate_house(s)
        dt = time.perf_counter() - t0
        rows.append({"seed": s, "seconds": dt, "faces": len(scene.faces), "objects": len(scene.objects),
                     "rooms": len(scene.rooms)})
        print(f"  seed {s:>6}: {dt:6.3f} s  {len(scene.faces):>6} faces  {len(scene.objects):>3} objects  "
              f"{len(scene.rooms):>2} rooms")
    times = [r["seconds"] for r in rows]
    res = {"per_seed": rows, "median_s": statistics.median(times), "max_s": max(times)}
    print(f"  median {res['median_s']:.3f} s, max {res['max_s']:.3f} s")
    return res


# ---------------------------------------------------------------------------------------------- 2. memory
def _memory_probe(house_seed: int, width: int, height: int, backend: str, threads: int | None) -> dict:
    """Runs in a fresh (spawned) process: RSS after each stage of loading one house."""
    import sims.raycast.simulator as simmod
    from sims.raycast.house import generate_house

    stages = [("after imports", *rss_mb())]
    scene = generate_house(house_seed)
    stages.append(("+ generate_house", *rss_mb()))
    sim = simmod.RaycastSimulator(simmod.SimConfig(width=width, height=height, backend=backend, threads=threads),
                                  scene=scene)
    stages.append(("+ RaycastSimulator(scene=...)", *rss_mb()))
    sim.reset(seed=house_seed)  # renders the first frame
    sim.step(Action.TURN_LEFT)
    stages.append(("+ reset + 1 step (2 frames)", *rss_mb()))
    arrays = {k: int(getattr(scene, k).nbytes) for k in ("vertices", "faces", "face_albedo", "face_pattern",
                                                          "face_instance")}
    sim.close()
    return {"stages": stages, "scene_arrays_bytes": arrays, "navgrid_bytes": int(sim.nav.navigable.nbytes),
            "navgrid_shape": list(sim.nav.shape)}


def bench_memory(house_seed: int, width: int, height: int, backend: str, threads: int | None) -> dict:
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        res = pool.apply(_memory_probe, (house_seed, width, height, backend, threads))
    base = res["stages"][0][1]
    for name, rss, peak in res["stages"]:
        print(f"  {name:<32} RSS {rss:8.1f} MiB  (+{rss - base:6.1f})  peak {peak:8.1f} MiB")
    final, peak = res["stages"][-1][1], res["stages"][-1][2]
    res["increase_mb"] = final - base
    res["peak_increase_mb"] = peak - base
    total = sum(res["scene_arrays_bytes"].values())
    print("  scene arrays: " + ", ".join(f"{k} {v / 2**20:.2f}" for k, v in res["scene_arrays_bytes"].items())
          + f" MiB; total {total / 2**20:.2f} MiB; navgrid {res['navgrid_shape']} "
          f"{res['navgrid_bytes'] / 2**20:.2f} MiB")
    print(f"  increase {res['increase_mb']:.1f} MiB (peak +{res['peak_increase_mb']:.1f} MiB) over the imports")
    return res


# ---------------------------------------------------------------------------------------------- 3. steps/s
def bench_steps(scene, nav, configs: list[tuple[str, int | None]], actions: list[Action], reset_seed: int,
                repeats: int, warmup: int, width: int, height: int) -> tuple[dict, list[np.ndarray]]:
    """Steps/s per backend over the same action sequence; returns the results and the camera poses."""
    from sims.raycast.render import Renderer
    from sims.raycast.simulator import RaycastSimulator, SimConfig

    sims, renderers, times, render_times, load = {}, {}, {}, {}, {}
    poses: list[np.ndarray] | None = None
    for backend, threads in configs:
        label = backend_label(backend, threads)
        name, native = backend_args(backend)
        cfg = SimConfig(width=width, height=height, backend=name, threads=threads, native=native)
        sim = RaycastSimulator(cfg)
        sim.load_scene(scene, nav)  # same navigable grid for all: built once, outside the timing
        sim.reset(seed=reset_seed)
        for a in actions[:warmup]:
            sim.step(a)
        sims[label], times[label], render_times[label], load[label] = sim, [], [], OtherLoad()
        renderers[label] = Renderer(scene, name, cfg.max_depth_m, threads, native=native)
    K = next(iter(sims.values())).intrinsics
    for _ in range(repeats):  # interleaved: drift from other load hits every backend alike
        for label, sim in sims.items():
            sim.reset(seed=reset_seed)
            run_poses = []
            with load[label]:
                t0 = time.perf_counter()
                for a in actions:
                    run_poses.append(sim.step(a).observation.T_world_cam)
                times[label].append(time.perf_counter() - t0)
            if poses is None:
                poses = run_poses
            elif not all(np.array_equal(p, q) for p, q in zip(poses, run_poses)):
                raise RuntimeError(f"{label}: the trajectory differs from the first backend's")
            r = renderers[label]
            r.render(poses[0], K)
            t0 = time.perf_counter()
            for T in poses:
                r.render(T, K)
            render_times[label].append(time.perf_counter() - t0)
    n = len(actions)
    res = {}
    print(f"  {'backend':<22} {'steps/s':>8} {'ms/step':>8} {'render ms':>10} {'others':>7}   runs (steps/s)")
    for label in sims:
        t = statistics.median(times[label])
        tr = statistics.median(render_times[label])
        res[label] = {"steps_per_s": n / t, "ms_per_step": 1e3 * t / n, "render_ms": 1e3 * tr / n,
                      "runs_steps_per_s": [n / x for x in times[label]], "other_load_cores": load[label].cores}
        runs = " ".join(f"{x:.0f}" for x in res[label]["runs_steps_per_s"])
        print(f"  {label:<22} {n / t:8.1f} {1e3 * t / n:8.2f} {1e3 * tr / n:10.2f} {load[label].median:7.2f}   {runs}")
        sims[label].close()
        renderers[label].close()
    print("  (others: CPU cores used by other processes during the timed runs, median; render ms: the renderer "
          "alone)")
    return res, poses


# ---------------------------------------------------------------------------------------------- 4. pybullet
class PybulletScene:
    """The scene's triangles in a pybullet DIRECT client, rendered with ER_TINY_RENDERER."""

    MAX_FACES = 8192  # per visual shape: pybullet refuses meshes of ~100k+ vertices

    def __init__(self, scene, intrinsics: CameraIntrinsics, near_m: float, far_m: float) -> None:
        import pybullet as p

        self.p = p
        self.cid = p.connect(p.DIRECT)
        self.K, self.near, self.far = intrinsics, near_m, far_m
        body_instance = {}
        for inst in np.unique(scene.face_instance):
            fidx = np.flatnonzero(scene.face_instance == inst)
            rgba = [*(scene.face_albedo[fidx].mean(0) / 255.0).tolist(), 1.0]
            for k in range(0, len(fidx), self.MAX_FACES):
                verts = scene.vertices[scene.faces[fidx[k:k + self.MAX_FACES]].ravel()].astype(np.float64)
                shape = p.createVisualShape(p.GEOM_MESH, vertices=verts.tolist(), indices=list(range(len(verts))),
                                            rgbaColor=rgba, physicsClientId=self.cid)
                body = p.createMultiBody(baseMass=0, baseVisualShapeIndex=shape, physicsClientId=self.cid)
                body_instance[body] = int(inst)
        self.n_bodies = len(body_instance)
        self.seg_to_instance = np.full(max(body_instance) + 2, -1, np.int32)  # index -1 (background) -> -1
        for body, inst in body_instance.items():
            self.seg_to_instance[body] = inst
        # pybullet's fov is the vertical one; square pixels, so the aspect carries the horizontal fov
        self.proj = p.computeProjectionMatrixFOV(intrinsics.vfov_deg, intrinsics.width / intrinsics.height,
                                                 near_m, far_m)

    def render(self, T_world_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rgb (H, W, 3) uint8, depth (H, W) float32 metres with 0 = no hit, instance (H, W) int32)."""
        p, K = self.p, self.K
        eye = T_world_cam[:3, 3]
        # OpenCV camera: z forward, y down -> look at eye + z, up = -y
        view = p.computeViewMatrix(eye.tolist(), (eye + T_world_cam[:3, 2]).tolist(), (-T_world_cam[:3, 1]).tolist())
        _, _, rgba, zbuf, seg = p.getCameraImage(K.width, K.height, view, self.proj, renderer=p.ER_TINY_RENDERER,
                                                 physicsClientId=self.cid)
        rgb = np.asarray(rgba, np.uint8).reshape(K.height, K.width, 4)[..., :3]
        d = np.asarray(zbuf, np.float32).reshape(K.height, K.width)
        depth = self.far * self.near / (self.far - (self.far - self.near) * d)
        depth[d >= 1.0] = 0.0
        instance = self.seg_to_instance[np.asarray(seg, np.int64).reshape(K.height, K.width)]
        return rgb, depth.astype(np.float32), instance

    def close(self) -> None:
        self.p.disconnect(physicsClientId=self.cid)


def bench_pybullet(scene, poses: list[np.ndarray], intrinsics: CameraIntrinsics, max_depth_m: float, near_m: float,
                   repeats: int, compare_every: int) -> dict:
    from sims.raycast.render import Renderer

    t0 = time.perf_counter()
    pb = PybulletScene(scene, intrinsics, near_m, max_depth_m)
    load_s = time.perf_counter() - t0
    print(f"  loaded {len(scene.faces)} faces as {pb.n_bodies} bodies in {load_s:.2f} s; "
          f"vfov {intrinsics.vfov_deg:.2f} deg (hfov {intrinsics.hfov_deg:.2f}), near {near_m} m, far {max_depth_m} m")
    for T in poses[:5]:
        pb.render(T)
    times, load = [], OtherLoad()
    for _ in range(repeats):
        with load:
            t0 = time.perf_counter()
            for T in poses:
                pb.render(T)
            times.append(time.perf_counter() - t0)
    fps = len(poses) / statistics.median(times)
    print(f"  ER_TINY_RENDERER: {fps:.1f} frames/s, {1e3 / fps:.2f} ms/frame, others {load.median:.2f}   "
          "runs (frames/s) " + " ".join(f"{len(poses) / x:.1f}" for x in times))

    # camera sanity check, untimed: our depth/instances vs pybullet's over a subset of the poses
    ours = Renderer(scene, "embree", max_depth_m, 1)
    K_corner = shifted(intrinsics, 0.5, -0.5)  # TinyRenderer's sample positions in our pixel convention
    diffs, diffs_corner, same, same_corner = [], [], [], []
    for T in poses[::compare_every]:
        _, depth, inst = pb.render(T)
        for K, dl, sl in ((intrinsics, diffs, same), (K_corner, diffs_corner, same_corner)):
            fr = ours.render(T, K)
            both = (fr.depth > 0) & (depth > 0)
            dl.append(np.abs(fr.depth - depth)[both])
            sl.append(fr.instance[both] == inst[both])
    ours.close()
    pb.close()
    cat = np.concatenate
    res = {"frames_per_s": fps, "ms_per_frame": 1e3 / fps, "runs_frames_per_s": [len(poses) / x for x in times],
           "other_load_cores": load.cores, "load_s": load_s, "bodies": pb.n_bodies, "compared_frames": len(diffs),
           "depth_abs_diff_median_m": float(np.median(cat(diffs))),
           "depth_abs_diff_p90_m": float(np.percentile(cat(diffs), 90)),
           "instance_agreement": float(cat(same).mean()),
           "depth_abs_diff_median_m_corner_aligned": float(np.median(cat(diffs_corner))),
           "depth_abs_diff_p90_m_corner_aligned": float(np.percentile(cat(diffs_corner), 90)),
           "instance_agreement_corner_aligned": float(cat(same_corner).mean())}
    print(f"  camera check over {len(diffs)} frames, pixels where both hit: median |dz| "
          f"{1e3 * res['depth_abs_diff_median_m']:.2f} mm (p90 {1e3 * res['depth_abs_diff_p90_m']:.1f} mm), "
          f"instance ids agree {100 * res['instance_agreement']:.2f}%")
    print(f"  ... with our principal point on TinyRenderer's pixel-corner samples (+0.5, -0.5 px): median |dz| "
          f"{1e3 * res['depth_abs_diff_median_m_corner_aligned']:.4f} mm "
          f"(p90 {1e3 * res['depth_abs_diff_p90_m_corner_aligned']:.3f} mm), "
          f"instance ids agree {100 * res['instance_agreement_corner_aligned']:.2f}%")
    return res


# ---------------------------------------------------------------------------------------------- summary
def summary_rows(results: dict) -> list[tuple[str, str, str, bool]]:
    """[(figure, measured, target, passed)]."""
    rows = []
    if "generation" in results:
        g = results["generation"]
        rows.append(("house generation, max over seeds", f"{g['max_s']:.2f} s", f"<= {TARGETS['gen_s']:g} s",
                     g["max_s"] <= TARGETS["gen_s"]))
    if "memory" in results:
        m = results["memory"]
        rows.append(("RSS increase, loaded house", f"{m['increase_mb']:.0f} MiB", f"< {TARGETS['mem_mb']:g} MiB",
                     m["increase_mb"] < TARGETS["mem_mb"]))
    for label, s in results.get("steps", {}).items():
        rows.append((f"steps/s, {label}", f"{s['steps_per_s']:.0f}", f">= {TARGETS['steps_per_s']:g}",
                     s["steps_per_s"] >= TARGETS["steps_per_s"]))
    if "pybullet" in results:
        pb = results["pybullet"]
        for label, s in results.get("steps", {}).items():
            ratio = s["steps_per_s"] / pb["frames_per_s"]
            rows.append((f"built-in / pybullet, {label}", f"{ratio:.2f}x", f">= {TARGETS['ratio']:g}x",
                         ratio >= TARGETS["ratio"]))
        rows.append(("camera check: median |dz| vs pybullet", f"{1e3 * pb['depth_abs_diff_median_m']:.1f} mm",
                     "<= 30 mm", pb["depth_abs_diff_median_m"] <= 0.03))
    return rows


def print_summary(rows: list[tuple[str, str, str, bool]]) -> None:
    w = max(len(r[0]) for r in rows)
    print(f"\n{'figure':<{w}}  {'measured':>10}  {'target':>10}  result")
    for name, measured, target, ok in rows:
        print(f"{name:<{w}}  {measured:>10}  {target:>10}  {'PASS' if ok else 'FAIL'}")


def environment() -> dict:
    import embreex
    import open3d
    import pybullet  # noqa: F401  (prints its build line once)

    from importlib.metadata import version

    env = {"python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
           "cores": os.cpu_count(), "load_avg_1_5_15": list(os.getloadavg()), "numpy": np.__version__,
           "embreex": getattr(embreex, "__version__", None) or version("embreex"), "open3d": open3d.__version__,
           "pybullet": version("pybullet")}
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
        env["cpu"] = model
    except (OSError, StopIteration):
        pass
    return env


# ---------------------------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--house-seed", type=int, default=0,
                    help="house of the memory/steps/pybullet figures (also the reset seed of the start pose)")
    ap.add_argument("--action-seed", type=int, default=0, help="seed of the random action sequence")
    ap.add_argument("--gen-seeds", default="0,1,2,3,4", help="comma-separated seeds timed for house generation")
    ap.add_argument("--steps", type=int, default=300, help="timed steps per run")
    ap.add_argument("--warmup", type=int, default=30,
                    help="untimed steps per backend before the runs (the first ones of the sequence)")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per backend (the median is reported)")
    ap.add_argument("--backends", default="embree:1,embree:2,embree-numpy:2,open3d",
                    help="comma-separated backend[:threads]; threads only apply to embree (none = default)")
    ap.add_argument("--width", type=int, default=224)
    ap.add_argument("--height", type=int, default=224)
    ap.add_argument("--near", type=float, default=0.05, help="pybullet near plane (m); far = SimConfig.max_depth_m")
    ap.add_argument("--compare-every", type=int, default=5, help="camera check on every k-th recorded pose")
    ap.add_argument("--skip", default="", help=f"comma-separated sections to skip: {','.join(SECTIONS)}")
    ap.add_argument("--json", help="also write all figures to this JSON file")
    args = ap.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if unknown := skip - set(SECTIONS):
        ap.error(f"unknown --skip sections {sorted(unknown)}; choose from {SECTIONS}")
    configs = parse_backends(args.backends)
    if "pybullet" not in skip and "steps" in skip:
        ap.error("the pybullet section replays the camera poses of the steps section: do not skip 'steps'")

    env = environment()
    print(f"\nbuilt-in simulator benchmark: {env['cpu']}, {env['cores']} cores, load average "
          f"{' '.join(f'{x:.2f}' for x in env['load_avg_1_5_15'])}; python {env['python']}, numpy {env['numpy']}, "
          f"embreex {env['embreex']}, open3d {env['open3d']}, pybullet {env['pybullet']}")
    print(f"house seed {args.house_seed}, action seed {args.action_seed}, {args.width}x{args.height}, "
          f"{args.steps} steps x {args.repeats} runs, backends {args.backends}")
    results: dict = {"environment": env, "args": vars(args)}
    t_start = time.perf_counter()

    if "memory" not in skip:  # first, while this process is still small (the probe runs in its own anyway)
        print("\n[2] memory of a loaded house (fresh process, embree backend)")
        results["memory"] = bench_memory(args.house_seed, args.width, args.height, "embree", None)

    if "generation" not in skip:
        print("\n[1] house generation")
        results["generation"] = bench_generation([int(s) for s in args.gen_seeds.split(",")])

    if "steps" not in skip:
        from sims.raycast.house import generate_house
        from sims.raycast.navigation import build_navgrid
        from sims.raycast.simulator import SimConfig

        cfg = SimConfig(width=args.width, height=args.height)
        scene = generate_house(args.house_seed)
        nav = build_navgrid(scene, cfg.agent_radius_m, cfg.agent_height_m, cfg.nav_resolution_m)
        actions = action_sequence(args.steps, args.action_seed)
        counts = {a.value: sum(x is a for x in actions) for a in Action if a in actions}
        print(f"\n[3] steps/s, house {args.house_seed} ({len(scene.faces)} faces, {len(scene.objects)} objects), "
              f"RGB + depth + instances, actions {counts}")
        results["steps"], poses = bench_steps(scene, nav, configs, actions, args.house_seed,
                                              args.repeats, args.warmup, args.width, args.height)

        if "pybullet" not in skip:
            print(f"\n[4] pybullet ER_TINY_RENDERER (DIRECT) over the same {len(poses)} camera poses and triangles")
            results["pybullet"] = bench_pybullet(scene, poses, cfg.intrinsics, cfg.max_depth_m, args.near,
                                                 args.repeats, args.compare_every)
            fps = results["pybullet"]["frames_per_s"]
            print("  built-in steps/s / pybullet frames/s: " + ", ".join(
                f"{label} {s['steps_per_s'] / fps:.2f}x" for label, s in results["steps"].items()))

    env["load_avg_1_5_15_at_end"] = list(os.getloadavg())
    rows = summary_rows(results)
    results["summary"] = [{"figure": r[0], "measured": r[1], "target": r[2], "pass": r[3]} for r in rows]
    results["wall_s"] = time.perf_counter() - t_start
    if rows:
        print_summary(rows)
    others = [statistics.median(r["other_load_cores"]) for r in results.get("steps", {}).values()]
    if "pybullet" in results:
        others.append(statistics.median(results["pybullet"]["other_load_cores"]))
    if others and max(others) > 0.2:
        print(f"note: other processes used up to {max(others):.2f} cores during the timed runs (median per "
              "backend): timings, threaded ones above all, are pessimistic; rerun on an idle machine")
    print(f"\n(total {results['wall_s']:.0f} s; load average at the end "
          f"{' '.join(f'{x:.2f}' for x in env['load_avg_1_5_15_at_end'])})")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=float))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
