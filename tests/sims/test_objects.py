"""Procedural object meshes: budget, placement frame, colours, sizes, determinism, support surfaces."""

from functools import lru_cache

import numpy as np
import pytest
import trimesh

from embodied.errors import ConfigError
from sims.raycast.categories import CATEGORIES
from sims.raycast.objects import MAX_FACES, ProceduralObject, list_categories, make_object

CATS = list(CATEGORIES)
SEEDS = range(8)
SURFACE = ("tv", "laptop", "mug", "vase")
MATERIALS = {"wood", "metal", "fabric", "leather", "plastic", "ceramic", "glass", "stone"}

# category -> {measure: (lo, hi)} in metres; x = depth (front +X), y = width, z = height
SIZES = {
    "chair": {"z": (0.75, 1.05), "xy": (0.38, 0.7)},
    "bed": {"x": (1.9, 2.3), "y": (1.35, 1.95), "z": (0.75, 1.45)},
    "potted plant": {"z": (0.4, 2.0)},
    "toilet": {"x": (0.5, 0.8), "z": (0.65, 1.0)},
    "tv": {"x": (0.1, 0.25), "y": (0.38, 0.5), "z": (0.25, 0.5)},
    "sofa": {"x": (0.75, 1.1), "y": (1.45, 2.5), "z": (0.7, 1.1)},
    "table": {"z": (0.7, 0.8), "xy": (0.65, 1.85)},
    "cabinet": {"z": (0.5, 1.0), "y": (0.6, 1.45)},
    "sink": {"z": (0.78, 1.3)},
    "bathtub": {"y": (1.45, 1.9), "z": (0.45, 0.85)},
    "lamp": {"z": (1.2, 1.9)},
    "bookshelf": {"z": (0.95, 2.05), "x": (0.2, 0.45)},
    "refrigerator": {"z": (1.5, 2.0), "x": (0.6, 0.85)},
    "laptop": {"z": (0.15, 0.35), "y": (0.28, 0.4)},
    "mug": {"z": (0.06, 0.2), "xy": (0.06, 0.2)},
    "vase": {"z": (0.15, 0.75)},
    "clock": {"x": (0.02, 0.08), "z": (0.2, 0.5)},
    "oven": {"z": (0.8, 1.1), "x": (0.55, 0.75)},
}


@lru_cache(maxsize=None)
def obj(category: str, seed: int) -> ProceduralObject:
    return make_object(category, np.random.default_rng(seed))


def test_list_categories_matches_spec_order():
    assert list_categories() == tuple(CATEGORIES)
    assert len(list_categories()) == 18
    assert set(SIZES) == set(CATEGORIES)


@pytest.mark.parametrize("category", CATS)
def test_mesh_frame_colours_and_budget(category):
    for seed in SEEDS:
        o = obj(category, seed)
        m = o.mesh
        assert o.category == category
        assert 0 < len(m.faces) <= MAX_FACES
        assert np.isfinite(m.vertices).all()
        assert m.area_faces.min() > 1e-10
        lo, hi = m.bounds
        assert np.abs((lo + hi)[:2] / 2).max() < 1e-6
        if category == "clock":
            assert abs((lo[2] + hi[2]) / 2) < 1e-6 and lo[2] < 0
        else:
            assert lo[2] == 0.0
        fc = np.asarray(m.visual.face_colors)
        assert fc.shape == (len(m.faces), 4) and fc.dtype == np.uint8
        assert (fc[:, 3] == 255).all()


@pytest.mark.parametrize("category", CATS)
def test_sizes_are_plausible(category):
    for seed in SEEDS:
        ext = obj(category, seed).mesh.extents
        measures = {"x": ext[0], "y": ext[1], "z": ext[2], "xy": max(ext[0], ext[1])}
        for key, (lo, hi) in SIZES[category].items():
            assert lo <= measures[key] <= hi, (category, seed, key, measures[key])


@pytest.mark.parametrize("category", SURFACE)
def test_surface_objects_fit_a_small_top(category):
    for seed in SEEDS:
        a, b = sorted(obj(category, seed).mesh.extents[:2], reverse=True)
        assert a <= 0.5 and b <= 0.4, (category, seed, a, b)


@pytest.mark.parametrize("category", CATS)
def test_attributes(category):
    for seed in SEEDS:
        attrs = obj(category, seed).attributes
        assert attrs["size"] in {"small", "medium", "large"}
        assert attrs["material"] in MATERIALS
        assert isinstance(attrs["colour"], str) and attrs["colour"].replace(" ", "").isalpha()
    assert len({obj(category, s).attributes["size"] for s in range(30)}) == 3


@pytest.mark.parametrize("category", CATS)
def test_deterministic_and_varied(category):
    for seed in (0, 5):
        a, b = make_object(category, np.random.default_rng(seed)), obj(category, seed)
        assert a.mesh.vertices.tobytes() == b.mesh.vertices.tobytes()
        assert a.mesh.faces.tobytes() == b.mesh.faces.tobytes()
        assert np.asarray(a.mesh.visual.face_colors).tobytes() == np.asarray(b.mesh.visual.face_colors).tobytes()
        assert a.attributes == b.attributes
        assert (a.support_height_m, a.support_extent_m) == (b.support_height_m, b.support_extent_m)
    boxes = {tuple(np.round(obj(category, s).mesh.bounds.ravel(), 4)) for s in SEEDS}
    assert len(boxes) >= 4


@pytest.mark.parametrize("category", CATS)
def test_support_only_where_the_spec_says(category):
    o = obj(category, 0)
    if CATEGORIES[category].supports:
        assert o.support_height_m is not None and o.support_extent_m is not None
    else:
        assert o.support_height_m is None and o.support_extent_m is None


@pytest.mark.parametrize("category", [c for c, spec in CATEGORIES.items() if spec.supports])
def test_support_height_is_the_top_surface(category):
    for seed in SEEDS:
        o = obj(category, seed)
        h, (ex, ey) = o.support_height_m, o.support_extent_m
        assert 0.5 < h <= o.mesh.bounds[1, 2] + 1e-9
        big, small = sorted((ex, ey), reverse=True)
        assert big >= 0.5 and small >= 0.4  # a surface object fits
        xy = np.array([[0, 0], [0.45 * ex, 0.45 * ey], [-0.45 * ex, 0.45 * ey], [0.45 * ex, -0.45 * ey],
                       [-0.45 * ex, -0.45 * ey]])
        origins = np.column_stack([xy, np.full(len(xy), h + 1.0)])
        dirs = np.tile([0.0, 0.0, -1.0], (len(xy), 1))
        locs, rays, _ = o.mesh.ray.intersects_location(origins, dirs)  # embree (rtree is not installed)
        for i in range(len(xy)):
            assert (rays == i).any(), (category, seed, xy[i])
            assert abs(locs[rays == i, 2].max() - h) < 1e-3, (category, seed, xy[i])


@pytest.mark.parametrize("category", ["chair", "bed", "toilet", "laptop"])
def test_back_faces_minus_x(category):
    for seed in SEEDS:
        m = obj(category, seed).mesh
        top = m.vertices[m.vertices[:, 2] > 0.85 * m.bounds[1, 2]]
        assert top[:, 0].mean() < 0, (category, seed)


def test_clock_dial_faces_plus_x():
    for seed in SEEDS:
        m = obj("clock", seed).mesh
        hit = m.ray.intersects_first(np.array([[1.0, 0.0, 0.0]]), np.array([[-1.0, 0.0, 0.0]]))
        assert hit[0] >= 0
        assert m.triangles_center[hit[0], 0] > 0


def test_tv_screen_is_dark_and_faces_plus_x():
    for seed in SEEDS:
        m = obj("tv", seed).mesh
        z = m.bounds[1, 2] * 0.6
        hit = m.ray.intersects_first(np.array([[1.0, 0.0, z]]), np.array([[-1.0, 0.0, 0.0]]))[0]
        assert hit >= 0 and np.asarray(m.visual.face_colors)[hit, :3].max() < 40


def test_unknown_category_suggests_a_close_match():
    with pytest.raises(ConfigError, match="chair"):
        make_object("chiar", np.random.default_rng(0))
    with pytest.raises(ConfigError, match="refrigerator"):
        make_object("refridgerator", np.random.default_rng(0))


def test_result_is_a_trimesh_in_metres():
    o = obj("mug", 0)
    assert isinstance(o.mesh, trimesh.Trimesh)
    assert o.mesh.extents.max() < 0.25
