"""Scanned scene meshes as :class:`~sims.raycast.scene.Scene` s of the built-in simulator.

A mesh file (glTF / GLB, PLY, OBJ; metres) is read with trimesh, its scene graph flattened (each
node's world transform applied), turned into the toolkit's frame (right-handed, Z up) and kept with
its appearance.

* **Up axis**: "y" is habitat's and glTF's convention (Y up, -Z forward) and is converted exactly as
  habitat-sim places HM3D / glTF scenes and as habitat episode files are converted
  (:func:`sims.habitat.frames.habitat_to_world`, ``(x, y, z) -> (-z, -x, y)``), so the episodes' poses
  land on the mesh; "z" keeps the coordinates. "auto": y for .glb / .gltf (glTF is Y-up by spec),
  z for .ply / .obj (ScanNet's and Replica's PLYs are Z-up).
* **Appearance**, per face (``Scene.face_*``):

  - textured geometry (UVs and a PBR ``baseColorTexture`` or an OBJ ``map_Kd`` image): ``face_uv``
    in trimesh's convention (origin at the image's bottom-left; trimesh already flips glTF's V) and
    ``face_texture`` into ``textures`` (each image once, RGB uint8, alpha dropped). A
    ``baseColorFactor`` is not applied to textured faces (scans use white). ``face_albedo`` of a
    textured face is the mean colour of its image.
  - vertex colours (PLY scans; glTF ``COLOR_0``, also beside a material): ``face_corner_rgb``.
  - otherwise a flat colour: the material's base colour (glTF ``baseColorFactor``, OBJ ``Kd``) or
    face colours, else grey (180, 180, 180).

  Shown colours are taken as stored (8-bit values: glTF's linear ``baseColorFactor`` and ``COLOR_0``
  are not converted to sRGB). A texture image that is
  missing or cannot be decoded (a KTX2 / Basis Universal texture of a ``.basis.glb``, say) renders
  its faces untextured, with one warning that names the mesh and the image.
* **Semantics** (instance id per face, category per instance) are looked up beside the mesh, or
  read from ``semantics=``:

  - HM3D: ``<name>.semantic.glb`` + ``<name>.semantic.txt`` beside ``<name>.basis.glb`` or
    ``<name>.glb``. The txt starts with the line ``HM3D Semantic Annotations``, then one object per
    line, ``id,HEXCOLOR,"category",region``, e.g. ``12,3E8B2A,"chair",3``
    (facebookresearch/habitat-sim ``src/esp/scene/HM3DSemanticScene.cpp``, ``loadHM3DHouse`` /
    ``buildHM3DHouse``). The semantic mesh paints each object in its colour, as **vertex colours**:
    habitat-sim requires them (``src/esp/assets/GenericSemanticMeshData.cpp``,
    ``buildSemanticMeshData``: "all semantic meshes must have vertex colors"; UVs are filtered out in
    ``src/esp/assets/ResourceManager.cpp``, ``loadAndFlattenImportedMeshData``) and, for a non-PLY
    file, converts the linear glTF colour to sRGB (``src/esp/assets/BaseMesh.cpp``,
    ``convertMeshColors`` with ``convertToSRGB``) before looking its hex code up in the txt. Here a
    face's colour is read that way (the majority of its corners), raw, or, for a mesh without vertex
    colours, from its (flat-coloured) texture at the face's UV centroid; per part, the reading that
    matches most faces to the txt wins. Colours not
    in the txt are no object. Instances move to the render mesh's faces by the nearest semantic face
    centroid, within 5 cm or half the render face's longest edge, whichever is larger (farther:
    structure). Passing the semantic mesh itself as the scene uses its own faces.
  - By hand, for your own meshes (exported from Blender and the like): ``<name>.semantic.json``
    or ``<name>.semantic.csv`` beside ``<name>.glb``. JSON: an object of node name -> category
    (or the same under an ``"instances"`` key)::

        {"Chair": "chair", "sofa_left": "sofa", "Plant.002": "potted plant"}

    CSV: rows ``name,category`` with an optional header row (``name,category``)::

        name,category
        Chair,chair
        sofa_left,sofa

    A name is a node of the file's scene graph (a Blender object keeps its name in glTF) or a
    geometry (mesh) name; it takes every geometry at or below that node (an object's children and the
    parts of a multi-material mesh), the nearest named ancestor winning. Each entry is one instance,
    ids 1, 2, ... in file order; faces of unnamed nodes are structure (-1). Names that match nothing
    give one warning.

  Raw category names are lower-cased, mapped by ``category_map`` (a dict, or a JSON / CSV file of
  raw -> ours in the format above) and then by habitat's table
  (:func:`sims.habitat.frames.habitat_category`). The names in :data:`STRUCTURE_CATEGORIES` (walls,
  floors, ceilings, unlabelled, ...) stay structure (-1, no SceneObject). Each other instance with
  faces is one :class:`~sims.raycast.scene.SceneObject` (its axis-aligned box; position = the box's
  bottom centre; ``attributes["raw_category"]``; for HM3D ``attributes["region"]``).

Errors (:class:`~embodied.errors.ConfigError`) name the file and the fix.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from embodied.errors import ConfigError
from sims.raycast.mesh_files import (SCAN_SUFFIXES, flatten_mesh, is_scan_path, read_mesh, resolve_up_axis, scene_name,
                                     to_world, warn_untextured)
from sims.raycast.scan_semantics import (STRUCTURE_CATEGORIES, category_table, face_colour_ints, find_semantics,
                                         ids_of_colours, map_category, mapping_instances, read_hm3d_txt, read_mapping,
                                         scene_objects, semantic_faces, transfer_instances)
from sims.raycast.scene import Scene

__all__ = ["SCAN_SUFFIXES", "STRUCTURE_CATEGORIES", "is_scan_path", "load_scan", "scene_name"]


def load_scan(path: str | os.PathLike, *, up_axis: str = "auto", semantics: str | os.PathLike | None = None,
              category_map: Mapping[str, str] | str | os.PathLike | None = None) -> Scene:
    """Read a scanned scene mesh (formats, frames, appearance and semantics: see the module docstring).

    Args:
        path: a .glb / .gltf / .ply / .obj file (metres).
        up_axis: the file's up axis: "auto" (y for glTF, z for PLY / OBJ), "y" or "z".
        semantics: an HM3D ``.semantic.txt`` (its ``.semantic.glb`` beside it) or ``.semantic.glb``, or a
            JSON / CSV node name -> category file; default: found beside the mesh, or none.
        category_map: raw category -> ours (a dict, or a JSON / CSV file), applied before habitat's table.
    Returns:
        A Scene with ``source_path`` set (``scanned``): unmerged vertices (V = 3 F, float32, Z up), no rooms,
        walls or doors, one SceneObject per labelled instance, and ``generator`` = {"source": "scan",
        "up_axis", "semantics" (the file or None), "triangles", "textures"}.
    Raises:
        ConfigError: a missing, unreadable, empty or non-finite mesh, an unknown suffix, a bad up axis, a bad
            semantics or category map file.
    """
    p = Path(path)
    up = resolve_up_axis(p, up_axis)
    flat = flatten_mesh(read_mesh(p), p)
    parts = flat["parts"]
    if not parts:
        raise ConfigError(f"{p}: the mesh is empty (no triangles); is it a point cloud or a scene without geometry?")
    n_bad = 0
    for q in parts:
        bad = ~np.isfinite(q["vertices"]).all(1)
        if bad.any():
            used = np.zeros(len(bad), bool)
            used[q["faces"].ravel()] = True
            n_bad += int(np.count_nonzero(bad & used))
    if n_bad:
        raise ConfigError(f"{p}: {n_bad} vertex positions are NaN or infinite; repair the mesh (e.g. in Blender, or "
                          "with trimesh's remove_infinite_values) and try again")
    warn_untextured(p, flat)

    # unmerged triangles (3 vertices per face), in our frame
    V = to_world(np.concatenate([q["vertices"][q["faces"]].reshape(-1, 3) for q in parts]), up).astype(np.float32)
    F = len(V) // 3
    tri = V.reshape(F, 3, 3).astype(np.float64)
    area2 = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    keep = np.flatnonzero(area2 > 2e-12)
    if not len(keep):
        raise ConfigError(f"{p}: all {F} triangles have zero area; the mesh has no surface to render")
    owner = np.concatenate([np.full(len(q["faces"]), i, np.int32) for i, q in enumerate(parts)])

    # semantics
    instance = np.full(F, -1, np.int32)
    raw: dict[int, str] = {}
    region: dict[int, str] = {}
    table = category_table(category_map)
    found = find_semantics(p, semantics)
    if found is not None:
        kind, src, txt = found
        if kind == "mapping":
            part_ids, raw = mapping_instances(read_mapping(src, "semantics"), parts, src, p)
            instance = part_ids[owner]
        else:
            annotations = read_hm3d_txt(txt)
            raw = {oid: name for oid, name, _ in annotations.values()}
            region = {oid: reg for oid, _, reg in annotations.values()}
            if kind == "self":
                keys = np.array(sorted(annotations), np.int64)
                colours = face_colour_ints(parts, flat["textures"], keys, p.suffix.lower() != ".ply")
                instance = ids_of_colours(colours, annotations)
            else:
                sem_c, sem_ids = semantic_faces(src, up, annotations)
                instance[keep] = transfer_instances(sem_c, sem_ids, tri[keep])
    labels = {i: map_category(name, table) for i, name in raw.items()}
    labelled = np.array(sorted(i for i, c in labels.items() if c), np.int64)
    instance = np.where(np.isin(instance, labelled), instance, -1).astype(np.int32)

    # appearance
    any_tex = any("uv" in q for q in parts)
    any_col = any("corners" in q for q in parts)
    albedo = np.concatenate([np.asarray(q["albedo"], np.uint8) for q in parts])
    face_uv = face_tex = corners = None
    if any_tex:
        face_uv = np.concatenate([q["uv"] if "uv" in q else np.zeros((len(q["faces"]), 3, 2), np.float32)
                                  for q in parts])[keep]
        face_tex = np.concatenate([np.full(len(q["faces"]), q.get("texture", -1), np.int32) for q in parts])[keep]
    if any_col:
        corners = np.concatenate([q["corners"] if "corners" in q else
                                  np.repeat(np.asarray(q["albedo"], np.uint8)[:, None], 3, 1) for q in parts])[keep]

    V = np.ascontiguousarray(V.reshape(F, 3, 3)[keep].reshape(-1, 3))
    instance = np.ascontiguousarray(instance[keep])
    semantics_file = None if found is None else str(found[2] or found[1])
    return Scene(
        scene_id=scene_name(p), vertices=V, faces=np.arange(len(V), dtype=np.int32).reshape(-1, 3),
        face_albedo=np.ascontiguousarray(albedo[keep]), face_pattern=np.zeros(len(keep), np.uint8),
        face_instance=instance, objects=scene_objects(V, instance, labels, raw, region), rooms=[], walls=[], doors=[],
        wall_height_m=float(np.ptp(V[:, 2])),
        generator={"source": "scan", "up_axis": up, "semantics": semantics_file, "triangles": int(len(keep)),
                   "textures": len(flat["textures"])},
        face_uv=face_uv, face_texture=face_tex, textures=flat["textures"], face_corner_rgb=corners,
        source_path=str(p))
