"""The articulated-object simulator: MuJoCo physics, the toolkit's ray caster for RGB-D, a physical probe.

``ArticulatedSimulator(model, config)`` holds one object (procedural or a URDF). ``observe()``
renders 1-4 calibrated RGB-D views from MuJoCo's current link poses with
:class:`sims.raycast.render.Renderer` (the toolkit's one renderer: CPU, no GL, no display), with
per-pixel link ids for evaluation. ``interact(Interaction)`` moves a probe (a MuJoCo mocap sphere):

* push: the probe is placed just off the surface at the point (found by a MuJoCo ray along
  ``-normal``) and driven along the direction; contact forces move what it touches;
* pull: a ``connect`` equality ties the probe to the touched body at the point (a grasp), and the
  probe is driven along the direction; the constraint force drags the part.

Joints move only because forces act on them (never by writing joint positions); each part stays
where it is left (joint damping and dry friction, no gravity by default) and is bounded by its
joint limits. The probe moves on a smooth (cosine) profile so it ends at rest, then lets go and
parks away from the object, and the simulation settles before the next observation.

Another engine fits behind the same four calls (``reset``, ``observe``, ``interact``, ``truth``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from embodied.articulation.types import Interaction, InteractionResult, MultiView, RGBDView
from embodied.errors import ConfigError
from embodied.geometry import make_transform
from embodied.types import CameraIntrinsics
from sims.articulated.mjcf import PROBE, grasp_name, load_mujoco
from sims.articulated.model import ArticulatedModel, PartTruth

log = logging.getLogger(__name__)

__all__ = ["ArticulatedSimConfig", "ArticulatedSimulator", "look_at", "default_cameras", "front_yaw"]


@dataclass(frozen=True)
class ArticulatedSimConfig:
    """Cameras, physics and probe of :class:`ArticulatedSimulator`.

    Attributes:
        n_cameras: 1-4 views on an arc in front of the object (+X), ``camera_yaws_deg`` apart.
        width, height, hfov_deg: each camera's image.
        camera_elevation_deg: how far above the object's centre the cameras look down from.
        camera_distance_scale: camera distance in units of the distance that fits the object in view.
        depth_noise_m: std of Gaussian depth noise (0: exact; seeded by ``reset(seed=)``).
        max_depth_m: returns beyond this read 0.
        timestep_s, gravity: MuJoCo's; without gravity parts stay where they are left.
        probe_radius_m, probe_speed_m_s: the probe sphere and its mean speed.
        contact_tolerance_m, approach_m: the probe starts this far outside the point along its normal and
            advances at most ``approach_m`` beyond it looking for a surface (else it touches nothing).
        slip_m: a grasp slips once the held point lags the probe this far (a push stops at a third of it).
        settle_s: simulated time allowed for everything to come to rest after an interaction.
    """

    n_cameras: int = 4
    width: int = 320
    height: int = 240
    hfov_deg: float = 60.0
    camera_yaws_deg: tuple[float, ...] = (0.0, -40.0, 40.0, 0.0)
    camera_elevation_deg: float = 30.0
    camera_distance_scale: float = 0.85
    depth_noise_m: float = 0.0
    max_depth_m: float = 8.0
    timestep_s: float = 0.002
    gravity: bool = False
    probe_radius_m: float = 0.01
    probe_speed_m_s: float = 0.2
    contact_tolerance_m: float = 0.03
    approach_m: float = 0.08
    slip_m: float = 0.03
    settle_s: float = 1.0

    def __post_init__(self) -> None:
        if not 1 <= self.n_cameras <= 4:
            raise ConfigError(f"n_cameras must be 1-4, got {self.n_cameras}")
        if len(self.camera_yaws_deg) < self.n_cameras:
            raise ConfigError("camera_yaws_deg needs one yaw per camera")
        if self.width < 8 or self.height < 8 or not 10 < self.hfov_deg < 170:
            raise ConfigError("camera images must be >= 8 px and hfov_deg in (10, 170)")
        if self.depth_noise_m < 0 or self.probe_speed_m_s <= 0 or self.timestep_s <= 0:
            raise ConfigError("depth_noise_m >= 0, probe_speed_m_s > 0 and timestep_s > 0 are required")


def look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """T_world_cam (4, 4) of an OpenCV camera at ``eye`` looking at ``target``, image up towards world +Z."""
    z = np.asarray(target, np.float64) - np.asarray(eye, np.float64)
    z /= np.linalg.norm(z)
    x = np.cross(z, [0.0, 0.0, 1.0])
    if np.linalg.norm(x) < 1e-6:
        x = np.array([0.0, -1.0, 0.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return make_transform(np.stack([x, y, z], axis=1), eye)


def front_yaw(model: ArticulatedModel) -> float:
    """Heading (rad, about +Z from +X) of the object's front: the side its movable parts sit on.

    ``model.meta['front_yaw_rad']`` when the model states it (procedural objects: 0, they face +X).

    The cameras of a setup face the object's front, as a person places them; this is a property of
    the scene, not something the inference is told. The horizontal offset of the movable parts'
    geometry from the centre of the object's bounding box is summed (parts weighted by area); no part: +X.
    """
    if "front_yaw_rad" in model.meta:
        return float(model.meta["front_yaw_rad"])
    lo, hi = model.bounds_m()
    center = (lo + hi) / 2
    total = np.zeros(2)
    for part in model.parts_truth():
        if part.mesh is not None and len(part.mesh.faces):
            v = part.mesh.vertices.astype(np.float64)
            total += (v.mean(0) - center)[:2] * max(float(np.ptp(v, axis=0).max()), 1e-3)
    return float(np.arctan2(total[1], total[0])) if np.linalg.norm(total) > 1e-6 else 0.0


def default_cameras(lo: np.ndarray, hi: np.ndarray, config: ArticulatedSimConfig, yaw_rad: float = 0.0
                    ) -> list[tuple[np.ndarray, CameraIntrinsics]]:
    """Camera poses and intrinsics framing the box [lo, hi] from the side at heading ``yaw_rad``."""
    K = CameraIntrinsics.from_hfov(config.width, config.height, config.hfov_deg)
    center = (lo + hi) / 2
    radius = 0.5 * float(np.linalg.norm(hi - lo)) * 1.25  # room for parts swinging out
    half_fov = np.deg2rad(min(K.hfov_deg, K.vfov_deg)) / 2
    dist = radius / np.sin(half_fov) * config.camera_distance_scale
    out = []
    for i in range(config.n_cameras):
        yaw = yaw_rad + np.deg2rad(config.camera_yaws_deg[i])
        elev = np.deg2rad(config.camera_elevation_deg + (25.0 if i == 3 else 0.0))
        d = np.array([np.cos(elev) * np.cos(yaw), np.cos(elev) * np.sin(yaw), np.sin(elev)])
        out.append((look_at(center + dist * d, center), K))
    return out


class ArticulatedSimulator:
    """One articulated object in MuJoCo, observed by calibrated RGB-D cameras and probed physically.

    Args:
        model: the object (:func:`sims.articulated.generate_object` or :func:`sims.articulated.load_urdf`).
        config: cameras, physics, probe.
        cameras: optional explicit [(T_world_cam (4, 4), CameraIntrinsics)], overriding the config's arc.
    """

    def __init__(self, model: ArticulatedModel, config: ArticulatedSimConfig = ArticulatedSimConfig(),
                 cameras: list[tuple[np.ndarray, CameraIntrinsics]] | None = None) -> None:
        import mujoco

        self._mj = mujoco
        self.model = model
        self.config = config
        self.m = load_mujoco(model, timestep_s=config.timestep_s, gravity=config.gravity,
                             probe_radius_m=config.probe_radius_m)
        self.d = mujoco.MjData(self.m)
        self._probe_body = self.m.body(PROBE).id
        self._probe_geom = int(np.flatnonzero(self.m.geom_bodyid == self._probe_body)[0])
        self._probe_contype = int(self.m.geom_contype[self._probe_geom])
        self._mocap = int(self.m.body_mocapid[self._probe_body])
        self._link_names = [lk.name for lk in model.links]
        self._body_of = {n: self.m.body(n).id for n in self._link_names}
        self._link_of_body = {b: i for i, b in enumerate(self._body_of.values())}
        self._eq = {n: self.m.equality(grasp_name(n)).id for n in self._link_names[1:]}
        self._joints = {j.name: int(self.m.joint(j.name).qposadr[0]) for j in model.movable_joints}
        self._meshes = [lk.visual_mesh() for lk in model.links]
        lo, hi = model.bounds_m()
        self.cameras = cameras if cameras is not None else default_cameras(lo, hi, config, front_yaw(model))
        if not 1 <= len(self.cameras) <= 4:
            raise ConfigError(f"1-4 cameras are supported, got {len(self.cameras)}")
        self._rng = np.random.default_rng(0)
        self.interactions = 0
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self, seed: int | None = None) -> MultiView:
        """Every joint back to its rest position (the canonical state); returns the first observation."""
        self._mj.mj_resetData(self.m, self.d)
        for name, adr in self._joints.items():
            self.d.qpos[adr] = self.model.rest_positions()[name]
        self._park()
        self._mj.mj_forward(self.m, self.d)
        self._rng = np.random.default_rng(seed)
        self.interactions = 0
        return self.observe()

    def joint_positions(self) -> dict[str, float]:
        """Current position of every movable joint (rad or m); for evaluation and logs."""
        return {name: float(self.d.qpos[adr]) for name, adr in self._joints.items()}

    def link_poses(self) -> dict[str, np.ndarray]:
        """T_world_link (4, 4) of every link as MuJoCo has it now."""
        return {n: make_transform(self.d.xmat[b].reshape(3, 3), self.d.xpos[b]) for n, b in self._body_of.items()}

    def truth(self) -> list[PartTruth]:
        """Ground truth of the movable parts at the canonical (rest) state."""
        return self.model.parts_truth()

    @property
    def link_names(self) -> list[str]:
        """Link names in the order of the ``link_id`` values in observations."""
        return list(self._link_names)

    # ------------------------------------------------------------------ rendering
    def _scene(self, poses: dict[str, np.ndarray] | None = None):
        from sims.raycast.scene import RoomInfo, Scene

        poses = poses if poses is not None else self.link_poses()
        verts, faces, rgb, inst, off = [], [], [], [], 0
        for i, (name, mesh) in enumerate(zip(self._link_names, self._meshes)):
            if mesh is None:
                continue
            m = mesh.transformed(poses[name])
            verts.append(m.vertices)
            faces.append(m.faces + off)
            rgb.append(m.face_rgb)
            inst.append(np.full(len(m.faces), i, np.int32))
            off += len(m.vertices)
        v = np.concatenate(verts)
        lo, hi = v.min(0), v.max(0)
        room = RoomInfo(0, "lab", (float(lo[0]) - 3, float(lo[1]) - 3, float(hi[0]) + 3, float(hi[1]) + 3),
                        "plain", "plain", (1.0, 1.0, 1.0), 1.0)
        f = np.concatenate(faces).astype(np.int32)
        return Scene("articulated", v.astype(np.float32), f, np.concatenate(rgb), np.zeros(len(f), np.uint8),
                     np.concatenate(inst), [], [room], [], [], float(hi[2]) + 2.0)

    def observe(self) -> MultiView:
        """Render every camera at the current state: RGB, metric z-depth, link ids."""
        from sims.raycast.render import Renderer

        renderer = Renderer(self._scene(), max_depth_m=self.config.max_depth_m)
        try:
            views = []
            for T, K in self.cameras:
                fr = renderer.render(T, K)
                depth = fr.depth
                if self.config.depth_noise_m > 0:
                    noise = self._rng.normal(0.0, self.config.depth_noise_m, depth.shape).astype(np.float32)
                    depth = np.where(depth > 0, np.maximum(depth + noise, 1e-3), 0.0).astype(np.float32)
                views.append(RGBDView(fr.rgb, depth, K, T, fr.instance))
        finally:
            renderer.close()
        return MultiView(tuple(views))

    def observable_truth(self, fractions: tuple[float, ...] = (0.0, 0.5, 1.0), voxel_m: float = 0.005
                         ) -> dict[str, np.ndarray]:
        """Per movable joint: the points (N, 3) of its part that the cameras can see, in the canonical frame.

        The part is posed (by forward kinematics, not physics) at each fraction of its range with every
        other joint at rest, rendered from every camera, and the pixels showing its links carried back
        to the canonical state; one point per ``voxel_m``. This is the geometry an agent could observe at
        best, the reference of the visible-surface part IoU (evaluation only).
        """
        from sims.raycast.render import Renderer

        from embodied.geometry import depth_to_world_points, invert_transform

        rest = self.model.link_poses()
        owner = self.model.rigid_groups()
        out: dict[str, np.ndarray] = {}
        for j in self.model.movable_joints:
            lo, hi = (j.lower, j.upper) if np.isfinite(j.lower) and np.isfinite(j.upper) else (0.0, np.pi)
            ids = [i for i, n in enumerate(self._link_names) if owner[n] == j.name]
            pts = []
            for f in fractions:
                poses = self.model.link_poses({j.name: lo + f * (hi - lo)})
                renderer = Renderer(self._scene(poses), max_depth_m=self.config.max_depth_m)
                try:
                    for T, K in self.cameras:
                        fr = renderer.render(T, K)
                        for i in ids:
                            p, _ = depth_to_world_points(fr.depth, K.K, T, mask=fr.instance == i)
                            back = rest[self._link_names[i]] @ invert_transform(poses[self._link_names[i]])
                            pts.append(p @ back[:3, :3].T + back[:3, 3])
                finally:
                    renderer.close()
            allp = np.concatenate(pts) if pts else np.zeros((0, 3))
            if len(allp):
                _, first = np.unique(np.floor(allp / voxel_m).astype(np.int64), axis=0, return_index=True)
                allp = allp[np.sort(first)]
            out[j.name] = allp
        return out

    # ------------------------------------------------------------------ probing
    def _park(self) -> None:
        lo, hi = self.model.bounds_m()
        self.d.mocap_pos[self._mocap] = [hi[0] + 5.0, 0.0, hi[2] + 5.0]
        self.geom_contact(False)

    def geom_contact(self, on: bool) -> None:
        self.m.geom_contype[self._probe_geom] = self._probe_contype if on else 0

    def _surface(self, point: np.ndarray, normal: np.ndarray) -> tuple[np.ndarray, int] | None:
        """Where the probe, coming along ``-normal`` from ``contact_tolerance_m`` outside ``point``, first meets
        the object within ``approach_m`` beyond the point: (hit (3,), body id), or None."""
        tol = self.config.contact_tolerance_m
        start = point + normal * tol
        geomid = np.zeros(1, np.int32)
        dist = self._mj.mj_ray(self.m, self.d, start, -normal, None, 1, self._probe_body, geomid)
        if dist < 0 or dist > tol + self.config.approach_m:
            return None
        return start - normal * dist, int(self.m.geom_bodyid[geomid[0]])

    def _drive(self, start: np.ndarray, direction: np.ndarray, distance: float, grasp: tuple[int, np.ndarray] | None
               ) -> float:
        """Move the probe on a cosine profile; returns the distance it went before it stopped.

        The probe gives way like a compliant gripper: a grasp slips (is released) once the held point
        lags the probe by ``slip_m``, and a push stops once the probe sinks ``slip_m / 3`` into a surface
        that does not yield (a part at its joint limit), so nothing is driven through a limit.
        """
        cfg = self.config
        T = max(distance / cfg.probe_speed_m_s, 0.05)
        n = max(int(np.ceil(T / cfg.timestep_s)), 1)
        for i in range(1, n + 1):
            s = 0.5 * (1.0 - np.cos(np.pi * i / n))
            self.d.mocap_pos[self._mocap] = start + direction * (distance * s)
            self._mj.mj_step(self.m, self.d)
            if grasp is not None:
                body, anchor = grasp
                held = self.d.xpos[body] + self.d.xmat[body].reshape(3, 3) @ anchor
                if np.linalg.norm(held - self.d.mocap_pos[self._mocap]) > cfg.slip_m:
                    for _ in range(50):  # the grip relaxes onto the held point before it lets go
                        self.d.mocap_pos[self._mocap] = self.d.xpos[body] + self.d.xmat[body].reshape(3, 3) @ anchor
                        self._mj.mj_step(self.m, self.d)
                    return distance * s
            else:
                for c in self.d.contact[: self.d.ncon]:
                    if self._probe_geom in (c.geom1, c.geom2) and c.dist < -cfg.slip_m / 3:
                        return distance * s
        if grasp is not None:  # hold on until the part is at rest too, or it coasts on once let go
            for i in range(int(cfg.settle_s / cfg.timestep_s)):
                self._mj.mj_step(self.m, self.d)
                if i > 20 and float(np.abs(self.d.qvel).max(initial=0.0)) < 1e-4:
                    break
        return distance

    def _back_off(self, direction: np.ndarray) -> None:
        """Withdraw a pushing probe along ``direction`` at a tenth of its speed until it touches nothing.

        Parked at once, it would release a part pressed against its joint limit in one step, and the
        limit would fling the part back out by centimetres; unloaded slowly, the part stays at the limit.
        """
        cfg = self.config
        step = np.asarray(direction, np.float64) * (cfg.probe_speed_m_s / 10 * cfg.timestep_s)
        for _ in range(int(np.ceil(2 * cfg.slip_m / np.linalg.norm(step)))):
            if not any(self._probe_geom in (c.geom1, c.geom2) for c in self.d.contact[: self.d.ncon]):
                return
            self.d.mocap_pos[self._mocap] = self.d.mocap_pos[self._mocap] + step
            self._mj.mj_step(self.m, self.d)

    def _settle(self) -> None:
        n = int(self.config.settle_s / self.config.timestep_s)
        for i in range(n):
            self._mj.mj_step(self.m, self.d)
            if i > 20 and float(np.abs(self.d.qvel).max(initial=0.0)) < 1e-4:
                break

    def interact(self, interaction: Interaction) -> InteractionResult:
        """Execute one push or pull; returns whether the probe touched a surface (plus evaluation facts)."""
        before = self.joint_positions()
        self.interactions += 1
        self._mj.mj_forward(self.m, self.d)
        hit = self._surface(interaction.point_m, interaction.normal)
        if hit is None:
            return InteractionResult(False, 0.0, {"link": None, "joint_delta": {}})
        p, body = hit
        link = self._link_names[self._link_of_body[body]] if body in self._link_of_body else None
        r = self.config.probe_radius_m
        if interaction.kind == "push":
            start = p + interaction.normal * (r + 0.004)
            self.d.mocap_pos[self._mocap] = start
            self.geom_contact(True)
            self._mj.mj_forward(self.m, self.d)
            went = self._drive(start, interaction.direction, interaction.distance_m + r + 0.004, None)
            self._back_off(-interaction.direction)
        else:
            self.d.mocap_pos[self._mocap] = p
            self.geom_contact(False)
            eq = self._eq.get(link) if link is not None else None
            grasp = None
            if eq is not None:
                self._mj.mj_forward(self.m, self.d)
                R, x = self.d.xmat[body].reshape(3, 3), self.d.xpos[body]
                anchor = R.T @ (p - x)
                self.m.eq_data[eq, 0:3] = anchor
                self.m.eq_data[eq, 3:6] = 0.0
                self.d.eq_active[eq] = 1
                grasp = (body, anchor)
            went = self._drive(p, interaction.direction, interaction.distance_m, grasp)
            if eq is not None:
                self.d.eq_active[eq] = 0
        self._park()
        self._settle()
        after = self.joint_positions()
        delta = {k: after[k] - before[k] for k in after if abs(after[k] - before[k]) > 1e-4}
        return InteractionResult(True, float(went), {"link": link, "joint_delta": delta})

    def close(self) -> None:
        pass
