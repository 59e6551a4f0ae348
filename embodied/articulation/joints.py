"""Joints from rigid motions, and the joint metrics of Ditto and PARIS.

A part's motion from the canonical state is a rigid transform ``x -> R x + t``. A revolute joint
rotates about the line through ``pivot`` along ``axis``: ``R`` is a rotation about ``axis`` and
``t = (I - R) pivot``; a prismatic joint has ``R = I`` and ``t = q * axis``. With several motions of
the same part (several interactions) both are refined by least squares over all of them.

Metrics (checked against the references' code):

* axis angle error ignores the axis sign: ``min(angle(a, b), angle(-a, b))`` in degrees
  (UT-Austin-RPL/Ditto ``src/utils/joint_estimation.py`` ``eval_joint_r`` / ``eval_joint_p``;
  3dlg-hcvc/paris ``axis_metrics``: ``acos(|cos|)``);
* axis position error is the distance between the two axis lines (Ditto: through Pluecker moments,
  ``|a . m_b + b . m_a| / |a x b|``; for parallel lines the distance of one line's point from the other),
  reported here in centimetres (PARIS reports units of 0.1 m; Ditto metres). PARIS returns 0 for exactly
  parallel lines; we return their true distance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["JointEstimate", "rotation_angle_deg", "joint_from_motion", "fit_joint", "axis_angle_error_deg",
           "line_distance_m", "motion_residual_m"]


@dataclass
class JointEstimate:
    """A discovered joint, in world coordinates of the canonical state.

    Attributes:
        type: "revolute" or "prismatic"; axis: (3,) unit; pivot_m: (3,) a point on a revolute axis
            (for prismatic joints: the part's centroid, where the URDF places it).
        lower, upper: the range observed so far (rad or m) relative to the canonical state (0 in it).
        evidence: per-motion numbers behind the type decision (angle, translation).
    """

    type: str
    axis: np.ndarray
    pivot_m: np.ndarray
    lower: float = 0.0
    upper: float = 0.0
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "axis": [float(x) for x in self.axis], "pivot_m": [float(x) for x in self.pivot_m],
                "lower": float(self.lower), "upper": float(self.upper)}

    def transform(self, q: float) -> np.ndarray:
        """(4, 4) motion of the part at joint position ``q``."""
        from scipy.spatial.transform import Rotation

        T = np.eye(4)
        if self.type == "revolute":
            R = Rotation.from_rotvec(self.axis * q).as_matrix()
            T[:3, :3] = R
            T[:3, 3] = (np.eye(3) - R) @ self.pivot_m
        else:
            T[:3, 3] = self.axis * q
        return T


def rotation_angle_deg(R: np.ndarray) -> float:
    """The angle of rotation matrix ``R`` (3, 3) in degrees."""
    return float(np.degrees(np.arccos(np.clip((np.trace(R) - 1.0) / 2.0, -1.0, 1.0))))


def _rotvec(R: np.ndarray) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    return Rotation.from_matrix(R).as_rotvec()


def _pivot(Rs: list[np.ndarray], ts: list[np.ndarray], axis: np.ndarray) -> np.ndarray:
    """Least-squares point p with (I - R_k) p = t_k for all k, taken as the point of the axis line
    closest to the origin (the component along ``axis`` is unobservable and set by p . axis = 0)."""
    A = np.concatenate([np.eye(3) - R for R in Rs] + [axis[None, :]])
    b = np.concatenate(list(ts) + [np.zeros(1)])
    return np.linalg.lstsq(A, b, rcond=None)[0]


def motion_residual_m(points: np.ndarray, R: np.ndarray, t: np.ndarray, T_model: np.ndarray) -> float:
    """RMS distance (m) between ``points`` moved by (R, t) and by the (4, 4) ``T_model``."""
    a = points @ R.T + t
    b = points @ T_model[:3, :3].T + T_model[:3, 3]
    return float(np.sqrt(np.mean(np.sum((a - b) ** 2, axis=1)))) if len(points) else 0.0


def joint_from_motion(R: np.ndarray, t: np.ndarray, points: np.ndarray | None = None,
                      min_angle_deg: float = 3.0) -> JointEstimate:
    """The joint one rigid motion implies (see :func:`fit_joint`)."""
    return fit_joint([R], [t], points, min_angle_deg=min_angle_deg)


def fit_joint(Rs: list[np.ndarray], ts: list[np.ndarray], points: np.ndarray | None = None,
              min_angle_deg: float = 3.0) -> JointEstimate:
    """Fit one joint to the part's motions (R_k, t_k) from the canonical state.

    The type is decided by the evidence: both models are fitted and the one that moves the part's
    ``points`` (N, 3) closer to where the measured motions put them wins; a revolute joint also needs a
    rotation of at least ``min_angle_deg`` in some motion (a drawer's registration noise is a fraction of
    a degree). Without points, the part is represented by a unit cube around the origin.
    """
    Rs = [np.asarray(R, np.float64) for R in Rs]
    ts = [np.asarray(t, np.float64) for t in ts]
    pts = points if points is not None and len(points) else np.array([[x, y, z] for x in (-.5, .5)
                                                                        for y in (-.5, .5) for z in (-.5, .5)])
    centroid = pts.mean(0)
    angles = np.array([rotation_angle_deg(R) for R in Rs])
    # prismatic: translation of the centroid, axis = principal direction of those translations
    disp = np.array([R @ centroid + t - centroid for R, t in zip(Rs, ts)])
    ref = disp[np.argmax(np.linalg.norm(disp, axis=1))]
    p_axis = ref / max(np.linalg.norm(ref), 1e-12)
    signed = disp @ p_axis
    if len(disp) > 1:
        _, _, vt = np.linalg.svd(disp, full_matrices=False)
        p_axis = vt[0] * np.sign(vt[0] @ p_axis or 1.0)
        signed = disp @ p_axis
    prismatic = JointEstimate("prismatic", p_axis, centroid, float(min(0.0, signed.min())), float(max(0.0, signed.max())),
                              {"angles_deg": angles.tolist(), "translations_m": signed.tolist()})
    res_p = np.mean([motion_residual_m(pts, R, t, prismatic.transform(q)) for R, t, q in zip(Rs, ts, signed)])
    if angles.max() < min_angle_deg:
        prismatic.evidence["residual_m"] = {"prismatic": res_p}
        return prismatic
    # revolute: axis = weighted mean of the rotation vectors (signs aligned to the largest one)
    rv = np.array([_rotvec(R) for R in Rs])
    big = rv[np.argmax(angles)]
    u = big / np.linalg.norm(big)
    acc = sum(r * (1.0 if r @ u >= 0 else -1.0) for r in rv)
    u = acc / np.linalg.norm(acc)
    q = np.array([np.linalg.norm(r) * (1.0 if r @ u >= 0 else -1.0) for r in rv])
    pivot = _pivot(Rs, ts, u)
    pivot = pivot - (pivot - centroid) @ u * u  # the axis point level with the part's centroid
    revolute = JointEstimate("revolute", u, pivot, float(min(0.0, q.min())), float(max(0.0, q.max())),
                             {"angles_deg": angles.tolist(), "translations_m": signed.tolist()})
    res_r = np.mean([motion_residual_m(pts, R, t, revolute.transform(qk)) for R, t, qk in zip(Rs, ts, q)])
    best = revolute if res_r <= res_p else prismatic
    best.evidence["residual_m"] = {"prismatic": float(res_p), "revolute": float(res_r)}
    return best


def axis_angle_error_deg(a: np.ndarray, b: np.ndarray) -> float:
    """Angle between two axes ignoring their sign, degrees in [0, 90]."""
    a = np.asarray(a, np.float64) / np.linalg.norm(a)
    b = np.asarray(b, np.float64) / np.linalg.norm(b)
    return float(np.degrees(np.arccos(np.clip(abs(a @ b), 0.0, 1.0))))


def line_distance_m(p_a: np.ndarray, a: np.ndarray, p_b: np.ndarray, b: np.ndarray) -> float:
    """Distance (m) between the line through ``p_a`` along ``a`` and the one through ``p_b`` along ``b``."""
    a = np.asarray(a, np.float64) / np.linalg.norm(a)
    b = np.asarray(b, np.float64) / np.linalg.norm(b)
    w = np.asarray(p_b, np.float64) - np.asarray(p_a, np.float64)
    c = np.cross(a, b)
    n = np.linalg.norm(c)
    if n < 1e-6:
        return float(np.linalg.norm(np.cross(w, a)))
    return float(abs(w @ c) / n)
