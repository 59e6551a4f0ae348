"""The articulated-object simulator: procedural objects and their joint conventions, RGB-D rendering
against analytic depth, physical pushes and pulls, the MJCF conversion and its cache, the two real
assets (PartNet-Mobility 45940, ReplicaCAD cabinet) and the observable ground truth."""

from __future__ import annotations

import os
import time
from pathlib import Path

import mujoco
import numpy as np
import pytest
from scipy.spatial import cKDTree

from embodied.articulation.metrics import sample_surface
from embodied.articulation.types import Interaction, MultiView
from embodied.errors import ConfigError
from embodied.geometry import depth_to_world_points, invert_transform
from sims.articulated import (KINDS, ArticulatedSimConfig, ArticulatedSimulator, ObjectConfig, generate_object,
                              load_mujoco, load_urdf, object_seeds)
from sims.articulated.mjcf import PROBE, cache_folder, to_mjcf

ASSETS = Path(__file__).resolve().parents[2].parent / "shared" / "assets" / "articulated"
PARTNET = ASSETS / "partnet_45940_storagefurniture" / "mobility.urdf"
REPLICA = ASSETS / "replicacad_cabinet_habitatsim" / "cabinet.urdf"

PHYS = ArticulatedSimConfig(n_cameras=1, width=48, height=36)  # physics tests barely look
VIEW = ArticulatedSimConfig(n_cameras=3, width=128, height=96)
X = np.array([1.0, 0.0, 0.0])


@pytest.fixture(scope="module", autouse=True)
def _mjcf_cache(tmp_path_factory):
    """Compiled MJCF goes to a throw-away cache, never the developer's ``~/.cache``."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EMBODIED_CACHE", str(tmp_path_factory.mktemp("embodied_mjcf")))
        yield


def _need(path: Path) -> None:
    if not path.is_file():
        pytest.skip(f"{path} is absent (the shared articulated assets are not installed)")


def _cabinet_one_drawer():
    """The first procedural cabinet with exactly one drawer (seed 1: one drawer and one left door)."""
    for seed in range(50):
        m = generate_object(seed, kind="cabinet")
        if sum(j.type == "prismatic" for j in m.movable_joints) == 1:
            return m
    raise AssertionError("no cabinet with one drawer in seeds 0-49")


def _joint(model, type_):
    return next(j for j in model.movable_joints if j.type == type_)


def _visuals_at_rest(model, link):
    T = model.link_poses()[link]
    return [v.transformed(T).vertices.astype(np.float64) for v in model.link(link).visuals]


def _front_panel(model, link):
    """World vertices (at rest) of the link's front panel: its box with the largest Y-Z extent."""
    return max(_visuals_at_rest(model, link), key=lambda v: np.ptp(v[:, 1]) * np.ptp(v[:, 2]))


def _handle_point(model, link):
    """Centre of the front face of the link's handle bar (its foremost box), at rest."""
    bar = max(_visuals_at_rest(model, link), key=lambda v: v[:, 0].max())
    return np.array([bar[:, 0].max(), *bar[:, 1:].mean(0)])


# --- 1. procedural objects ------------------------------------------------------------------------


def _same_model(a, b) -> bool:
    if [lk.name for lk in a.links] != [lk.name for lk in b.links] or len(a.joints) != len(b.joints):
        return False
    for la, lb in zip(a.links, b.links):
        ma, mb = la.visual_mesh(), lb.visual_mesh()
        if not (np.array_equal(ma.vertices, mb.vertices) and np.array_equal(ma.faces, mb.faces)
                and np.array_equal(ma.face_rgb, mb.face_rgb)) or la.mass_kg != lb.mass_kg:
            return False
    for ja, jb in zip(a.joints, b.joints):
        if (ja.name, ja.type, ja.parent, ja.child, ja.lower, ja.upper) != (jb.name, jb.type, jb.parent, jb.child,
                                                                         jb.lower, jb.upper):
            return False
        if not (np.array_equal(ja.T_parent_joint, jb.T_parent_joint) and np.array_equal(ja.axis, jb.axis)):
            return False
    return True


@pytest.mark.parametrize("seed", [0, 7, 123])
def test_same_seed_same_object_and_different_seeds_differ(seed):
    a, b = generate_object(seed), generate_object(seed)
    assert _same_model(a, b)
    assert a.meta == b.meta and a.name == b.name
    other = generate_object(seed + 1)
    assert not _same_model(a, other)
    # same kind forced, other seed: the sizes (and so the carcass vertices) differ
    ka, kb = generate_object(seed, kind="cabinet"), generate_object(seed + 1, kind="cabinet")
    assert not np.allclose(ka.meta["size_m"], kb.meta["size_m"])
    assert ka.links[0].visual_mesh().vertices.shape != kb.links[0].visual_mesh().vertices.shape or not np.allclose(
        ka.links[0].visual_mesh().vertices, kb.links[0].visual_mesh().vertices)


@pytest.mark.parametrize("max_parts", [1, 2, 4])
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_builds_one_to_max_parts_movable_joints(kind, max_parts):
    counts = []
    for seed in range(8):
        m = generate_object(seed, ObjectConfig(max_parts=max_parts), kind=kind)
        assert m.meta["kind"] == kind and m.name == f"{kind}-{seed}"
        n = len(m.movable_joints)
        assert 1 <= n <= max_parts, (kind, seed, n)
        counts.append(n)
        lo, hi = m.bounds_m()
        assert abs(lo[2]) < 1e-6 and hi[2] > 0.1  # stands on z = 0
    if kind in ("cabinet", "drawers") and max_parts == 4:
        assert max(counts) >= 2  # more than one part does occur


def test_max_parts_one_cabinet_has_exactly_one_part():
    for seed in range(12):
        m = generate_object(seed, ObjectConfig(max_parts=1), kind="cabinet")
        assert len(m.movable_joints) == 1, seed


def test_object_seeds_splits_are_disjoint_and_deterministic():
    splits = {s: object_seeds(s, 200) for s in ("train", "val", "test")}
    for s, seeds in splits.items():
        assert len(seeds) == 200 == len(set(seeds))
        assert object_seeds(s, 200) == seeds
        assert object_seeds(s, 200, seed=1) != seeds
    assert not set(splits["train"]) & set(splits["val"])
    assert not set(splits["train"]) & set(splits["test"])
    assert not set(splits["val"]) & set(splits["test"])
    # also across different draws of the seed argument
    assert not set(object_seeds("train", 200, seed=5)) & set(object_seeds("test", 200, seed=9))


def test_unknown_kind_split_or_config_is_a_config_error():
    with pytest.raises(ConfigError, match="sofa"):
        generate_object(0, kind="sofa")
    with pytest.raises(ConfigError):
        ObjectConfig(kinds=("cabinet", "sofa"))
    with pytest.raises(ConfigError):
        ObjectConfig(max_parts=0)
    with pytest.raises(ConfigError, match="dev"):
        object_seeds("dev", 3)


# --- 2. joint conventions -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["drawers", "cabinet"])
def test_drawer_moves_plus_x_when_its_joint_goes_positive(kind):
    n = 0
    for seed in range(6):
        m = generate_object(seed, kind=kind)
        for j in m.movable_joints:
            if j.type != "prismatic":
                continue
            rest, out = m.link_poses(), m.link_poses({j.name: 0.1})
            d = out[j.child][:3, 3] - rest[j.child][:3, 3]
            assert np.allclose(d, [0.1, 0.0, 0.0], atol=1e-9)
            assert np.allclose(out[j.child][:3, :3], rest[j.child][:3, :3])
            assert j.lower == 0.0 and 0.1 < j.upper < m.meta["size_m"][1]  # opens by most of its depth
            n += 1
    assert n >= 3


def _swing(model, joint, q):
    """Free-edge vertices of a side-hinged door at rest and at angle ``q`` (world), and the hinge point."""
    rest, opened = model.link_poses(), model.link_poses({joint.name: q})
    v = model.link(joint.child).visual_mesh().vertices.astype(np.float64)
    w0 = v @ rest[joint.child][:3, :3].T + rest[joint.child][:3, 3]
    w1 = v @ opened[joint.child][:3, :3].T + opened[joint.child][:3, 3]
    return w0, w1, rest[joint.child][:3, 3]


@pytest.mark.parametrize("kind,seed", [("microwave", 0), ("cabinet", 0), ("cabinet", 8)])
def test_side_hinged_doors_swing_their_free_edge_outward_to_plus_x(kind, seed):
    m = generate_object(seed, kind=kind)
    doors = [j for j in m.movable_joints if j.type == "revolute" and abs(j.axis[2]) > 0.99]
    assert doors
    q = 0.6
    for j in doors:
        w0, w1, hinge = _swing(m, j, q)
        left = j.axis[2] < 0
        assert np.allclose(j.axis, [0, 0, -1] if left else [0, 0, 1])
        # a left hinge sits on the door's y-min edge, a right hinge on its y-max edge
        assert abs(hinge[1] - (w0[:, 1].min() if left else w0[:, 1].max())) < 1e-6
        edge = w0[:, 1] > w0[:, 1].max() - 1e-6 if left else w0[:, 1] < w0[:, 1].min() + 1e-6
        width = abs(w0[edge, 1].mean() - hinge[1])
        dx = w1[edge, 0] - w0[edge, 0]
        assert (dx > 0.4 * width * np.sin(q)).all(), (j.name, dx.min(), width)
        # closer to the hinge line in y, as a rotation about a vertical axis moves it
        assert abs(w1[edge, 1].mean() - hinge[1]) < width


# --- 3. rendering ---------------------------------------------------------------------------------


def test_depth_matches_the_analytic_depth_of_the_drawer_front_and_link_ids_are_right():
    m = _cabinet_one_drawer()
    drawer = _joint(m, "prismatic")
    sim = ArticulatedSimulator(m, ArticulatedSimConfig(n_cameras=1, width=160, height=120))
    view = sim.observe().views[0]
    K, T = view.intrinsics, view.T_world_cam
    panel = _front_panel(m, drawer.child)
    x_front = panel[:, 0].max()
    (y0, z0), (y1, z1) = panel[:, 1:].min(0), panel[:, 1:].max(0)
    drawer_id = sim.link_names.index(drawer.child)
    T_cam_world = invert_transform(T)
    checked = 0
    for fy in (0.3, 0.5, 0.7):
        for fz in (0.2, 0.35):  # below the handle (it sits in the upper half of the front)
            p = np.array([x_front, y0 + fy * (y1 - y0), z0 + fz * (z1 - z0)])
            pc = T_cam_world[:3, :3] @ p + T_cam_world[:3, 3]
            u, v = int(round(K.fx * pc[0] / pc[2] + K.cx)), int(round(K.fy * pc[1] / pc[2] + K.cy))
            # the point of the front plane that pixel (u, v) sees, and its z-depth
            ray = T[:3, :3] @ np.array([(u - K.cx) / K.fx, (v - K.cy) / K.fy, 1.0])
            t = (x_front - T[0, 3]) / ray[0]
            hit = T[:3, 3] + t * ray
            assert y0 < hit[1] < y1 and z0 < hit[2] < z1
            assert view.link_id[v, u] == drawer_id, (u, v)
            assert abs(float(view.depth[v, u]) - t) < 1e-3, (u, v, view.depth[v, u], t)
            checked += 1
    assert checked == 6
    bg = view.link_id == -1
    assert 0.1 < bg.mean() < 0.9
    assert (view.depth[bg] == 0).all() and (view.depth[~bg] > 0).all()
    assert view.link_id[0, 0] == -1 and view.depth[0, 0] == 0  # the corner shows no object
    assert view.rgb.shape == (120, 160, 3) and view.rgb.dtype == np.uint8 and view.depth.dtype == np.float32


def test_one_to_four_cameras_and_five_is_a_config_error():
    m = _cabinet_one_drawer()
    for n in (1, 2, 3, 4):
        sim = ArticulatedSimulator(m, ArticulatedSimConfig(n_cameras=n, width=32, height=24))
        mv = sim.observe()
        assert isinstance(mv, MultiView) and len(mv.views) == n
        eyes = np.array([v.T_world_cam[:3, 3] for v in mv.views])
        assert all(np.linalg.norm(eyes[i] - eyes[k]) > 0.05 for i in range(n) for k in range(i))
        assert all(v.depth.shape == (24, 32) and (v.depth > 0).mean() > 0.05 for v in mv.views)
    with pytest.raises(ConfigError, match="n_cameras"):
        ArticulatedSimConfig(n_cameras=5)
    with pytest.raises(ConfigError):
        ArticulatedSimConfig(n_cameras=0)


# --- 4. physics -----------------------------------------------------------------------------------


@pytest.fixture
def cabinet():
    m = _cabinet_one_drawer()
    return m, _joint(m, "prismatic"), ArticulatedSimulator(m, PHYS)


@pytest.mark.parametrize("distance", [0.05, 0.12])
@pytest.mark.parametrize("heavy", [False, True], ids=["cabinet", "chest"])
def test_pulling_the_handle_opens_the_drawer_by_the_pulled_distance(cabinet, heavy, distance):
    m, drawer, sim = cabinet
    if heavy:  # a one-drawer chest whose drawer weighs twice the cabinet's
        m = generate_object(0, ObjectConfig(max_parts=1), kind="drawers")
        drawer, sim = _joint(m, "prismatic"), ArticulatedSimulator(m, PHYS)
        assert m.link(drawer.child).mass_kg > 10
    res = sim.interact(Interaction("pull", _handle_point(m, drawer.child), X, X, distance))
    q = sim.joint_positions()
    assert res.touched and res.info["link"] == drawer.child
    assert abs(q[drawer.name] - distance) <= 0.03, q
    assert all(abs(v) < 1e-3 for k, v in q.items() if k != drawer.name)  # nothing else moved
    for _ in range(250):  # half a second more of physics: it stays where it was left
        mujoco.mj_step(sim.m, sim.d)
    assert abs(sim.joint_positions()[drawer.name] - q[drawer.name]) < 1e-3


def test_pushing_the_closed_drawer_inward_barely_moves_it(cabinet):
    m, drawer, sim = cabinet
    panel = _front_panel(m, drawer.child)
    p = np.array([panel[:, 0].max(), panel[:, 1].mean(), panel[:, 2].min() + 0.25 * np.ptp(panel[:, 2])])
    res = sim.interact(Interaction("push", p, -X, X, 0.05))
    assert res.touched and res.info["link"] == drawer.child
    assert abs(sim.joint_positions()[drawer.name]) < 0.002, sim.joint_positions()


def test_pulling_past_the_upper_limit_stops_at_the_limit(cabinet, monkeypatch):
    m, drawer, sim = cabinet
    seen = []
    step = mujoco.mj_step

    def recording_step(mm, dd):
        step(mm, dd)
        seen.append(sim.joint_positions()[drawer.name])

    monkeypatch.setattr(mujoco, "mj_step", recording_step)
    res = sim.interact(Interaction("pull", _handle_point(m, drawer.child), X, X, drawer.upper + 0.1))
    monkeypatch.undo()
    q = sim.joint_positions()[drawer.name]
    assert res.touched and len(seen) > 100
    assert max(seen) <= drawer.upper + 0.01, (max(seen), drawer.upper)
    assert drawer.lower - 0.002 <= q <= drawer.upper + 0.002
    assert q > drawer.upper - 0.03  # it did reach the stop


@pytest.mark.parametrize("kind", ["push", "pull"])
def test_a_point_far_from_every_surface_touches_nothing(cabinet, kind):
    m, drawer, sim = cabinet
    before_q, before_T = sim.joint_positions(), sim.link_poses()
    lo, hi = m.bounds_m()
    above = np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, hi[2] + 0.10])
    ahead = _handle_point(m, drawer.child) + 0.10 * X
    for p, n in ((above, np.array([0.0, 0.0, 1.0])), (ahead, X)):
        res = sim.interact(Interaction(kind, p, -n if kind == "push" else n, n, 0.1))
        assert not res.touched and res.info["link"] is None
    assert sim.joint_positions() == before_q
    assert all(np.array_equal(T, before_T[k]) for k, T in sim.link_poses().items())


def test_reset_returns_every_joint_to_rest(cabinet):
    m, drawer, sim = cabinet
    first = sim.reset()
    door = _joint(m, "revolute")
    sim.interact(Interaction("pull", _handle_point(m, drawer.child), X, X, 0.1))
    sim.interact(Interaction("pull", _handle_point(m, door.child), X, X, 0.1))
    moved = sim.joint_positions()
    assert moved[drawer.name] > 0.05 and moved[door.name] > 0.05
    again = sim.reset()
    assert sim.joint_positions() == m.rest_positions()
    assert sim.interactions == 0
    rest = m.link_poses()
    assert all(np.allclose(T, rest[k], atol=1e-9) for k, T in sim.link_poses().items())
    assert np.array_equal(first.views[0].depth, again.views[0].depth)


@pytest.mark.parametrize("kind,seed", [("cabinet", 0), ("microwave", 0), ("fridge", 1)])
def test_pulling_a_door_handle_along_the_outward_normal_opens_it(kind, seed):
    m = generate_object(seed, kind=kind)
    sim = ArticulatedSimulator(m, PHYS)
    for door in [j for j in m.movable_joints if j.type == "revolute"]:
        sim.reset()
        res = sim.interact(Interaction("pull", _handle_point(m, door.child), X, X, 0.1))
        a = sim.joint_positions()[door.name]
        assert res.touched and res.info["link"] == door.child
        assert 0.1 < a <= door.upper, (door.name, a)


# --- 5. MJCF --------------------------------------------------------------------------------------


def _check_compiled(model, mm):
    probe = mm.body(PROBE).id
    assert mm.nbody == len(model.links) + 2  # the world, every link, the probe
    assert mm.neq == len(model.links) - 1 and not mm.eq_active0.any()
    assert mm.njnt == len(model.movable_joints)
    for g in range(mm.ngeom):
        if mm.geom_bodyid[g] == probe:
            assert (mm.geom_contype[g], mm.geom_conaffinity[g]) == (1, 0)
        else:
            assert (mm.geom_contype[g], mm.geom_conaffinity[g]) == (0, 1)
    assert sum(mm.geom_bodyid == probe) == 1
    for lk in model.links[1:]:
        assert mm.body_mass[mm.body(lk.name).id] > 0, lk.name
    assert (mm.dof_damping >= 2.0 - 1e-9).all() and (mm.dof_frictionloss >= 0.5 - 1e-9).all()


@pytest.mark.parametrize("kind", KINDS)
def test_to_mjcf_compiles_only_the_probe_collides_and_bodies_have_mass(kind):
    m = generate_object(3, kind=kind)
    xml, assets = to_mjcf(m)
    mm = mujoco.MjModel.from_xml_string(xml, assets)
    _check_compiled(m, mm)
    for lk in m.links[1:]:  # procedural links state their mass; it is kept
        assert mm.body_mass[mm.body(lk.name).id] == pytest.approx(lk.mass_kg, rel=1e-5)
    d = mujoco.MjData(mm)
    d.qpos[:] = [j.upper for j in m.movable_joints]  # every part open: parts overlap nothing that collides
    mujoco.mj_forward(mm, d)
    assert d.ncon == 0


def test_load_mujoco_caches_the_mjcf(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBODIED_CACHE", str(tmp_path))
    assert cache_folder() == tmp_path / "mjcf"
    m = _cabinet_one_drawer()
    a = load_mujoco(m)
    xmls = list(tmp_path.rglob("model.xml"))
    assert len(xmls) == 1
    old = time.time() - 3600
    os.utime(xmls[0], (old, old))
    stamp = xmls[0].stat().st_mtime_ns
    b = load_mujoco(m)
    assert xmls[0].stat().st_mtime_ns == stamp  # read back, not rewritten
    assert list(tmp_path.rglob("model.xml")) == xmls
    assert (a.nbody, a.ngeom, a.njnt) == (b.nbody, b.ngeom, b.njnt)
    assert np.array_equal(a.body_mass, b.body_mass)
    load_mujoco(m, timestep_s=0.001)  # other settings, another entry
    assert len(list(tmp_path.rglob("model.xml"))) == 2
    load_mujoco(generate_object(2))  # another object, another entry
    assert len(list(tmp_path.rglob("model.xml"))) == 3


# --- 6. real objects ------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["partnet", "replica"])
def real(request):
    path = {"partnet": PARTNET, "replica": REPLICA}[request.param]
    _need(path)
    model = load_urdf(path)
    return request.param, model, ArticulatedSimulator(model, VIEW)


def test_real_objects_load_compile_and_are_seen(real):
    name, model, sim = real
    _check_compiled(model, load_mujoco(model, timestep_s=VIEW.timestep_s, gravity=VIEW.gravity,
                                        probe_radius_m=VIEW.probe_radius_m))  # a fresh copy, from the cache
    assert sim.m.geom_contype[sim.m.geom_bodyid == sim.m.body(PROBE).id].tolist() == [0]  # parked: off
    mv = sim.reset()
    assert len(mv.views) == 3
    owner = model.rigid_groups()
    movable_ids = {i for i, n in enumerate(sim.link_names) if owner[n]}
    seen = set()
    for v in mv.views:
        assert (v.depth > 0).mean() > 0.05, name
        assert ((v.depth > 0) == (v.link_id >= 0)).all()
        seen |= set(np.unique(v.link_id).tolist()) & movable_ids
    assert seen, f"{name}: no movable part visible"


def _grasp_visible(sim, link):
    """A visible point of ``link`` (the one nearest the centre of its pixels in the view showing most of it)
    and the unit direction from it towards that camera."""
    lid = sim.link_names.index(link)
    views = sim.observe().views
    v = max(views, key=lambda v: int((v.link_id == lid).sum()))
    pts, _ = depth_to_world_points(v.depth, v.intrinsics.K, v.T_world_cam, mask=v.link_id == lid)
    assert len(pts) > 50, f"{link} is barely visible"
    p = pts[np.argmin(np.linalg.norm(pts - pts.mean(0), axis=1))]
    n = v.T_world_cam[:3, 3] - p
    return p, n / np.linalg.norm(n)


@pytest.mark.parametrize("asset,joint", [("partnet", "joint_2"), ("replica", "left_slide"), ("replica", "right_slide")])
def test_grasping_a_visible_point_and_pulling_along_the_axis_slides_the_part(asset, joint):
    path = {"partnet": PARTNET, "replica": REPLICA}[asset]
    _need(path)
    model = load_urdf(path)
    sim = ArticulatedSimulator(model, VIEW)
    truth = next(t for t in sim.truth() if t.joint == joint)
    assert truth.type == "prismatic"
    sign = 1.0 if truth.upper > 0.05 else -1.0  # towards the open side of its range
    p, n = _grasp_visible(sim, truth.links[0])
    res = sim.interact(Interaction("pull", p, sign * truth.axis, n, 0.1))
    moved = sim.joint_positions()[joint]
    assert res.touched and res.info["link"] == truth.links[0]
    assert sign * moved > 0.02, moved
    assert abs(moved) < 0.1 + 0.03  # not flung past where the probe let go
    assert all(abs(v) < 1e-3 for k, v in sim.joint_positions().items() if k != joint)


# --- 7. observable truth --------------------------------------------------------------------------


def _check_observable(sim):
    obs = sim.observable_truth()
    truth = {t.joint: t for t in sim.truth()}
    assert set(obs) == set(truth)
    for name, pts in obs.items():
        t = truth[name]
        assert pts.ndim == 2 and pts.shape[1] == 3 and len(pts) > 100, (name, pts.shape)
        ref = sample_surface(t.mesh.vertices, t.mesh.faces, 0.004)
        d, _ = cKDTree(ref).query(pts)
        assert d.max() < 0.01, (name, float(d.max()))


def test_observable_truth_lies_on_each_procedural_part():
    _check_observable(ArticulatedSimulator(generate_object(0, kind="cabinet"), VIEW))


def test_observable_truth_lies_on_each_real_part(real):
    _check_observable(real[2])
