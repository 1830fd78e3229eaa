"""LMD: mouth landmark distance between a result and its reference (ground-truth) video.

Per frame where both videos have a face, the 40 mediapipe lip points (outer and inner
contours) of each are centred on their own mean (so head translation does not count), and
the mean Euclidean distance between corresponding points is divided by the reference face's
forehead-to-chin height. LMD is the mean over those frames; lower is better. Published LMD
values are in pixels of a fixed crop size and are not directly comparable with this
size-normalised one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lipdub.eval.agreement import face_height
from lipdub.faces.landmarks import LIPS_INNER, LIPS_OUTER

LIP_POINTS: tuple[int, ...] = tuple(LIPS_OUTER) + tuple(LIPS_INNER)


def lip_distance(points: np.ndarray, reference_points: np.ndarray) -> float:
    """Normalised lip landmark distance of one frame (468-point meshes of both faces)."""
    lips = points[list(LIP_POINTS)].astype(np.float64)
    ref = reference_points[list(LIP_POINTS)].astype(np.float64)
    lips -= lips.mean(axis=0)
    ref -= ref.mean(axis=0)
    distance = np.linalg.norm(lips - ref, axis=1).mean()
    return float(distance / max(face_height(reference_points), 1e-6))


def lmd(
    meshes: Sequence[np.ndarray | None], reference_meshes: Sequence[np.ndarray | None]
) -> tuple[float, int]:
    """``(LMD, frames used)`` over the frames where both meshes exist (NaN, 0 if none)."""
    distances = [
        lip_distance(a, b)
        for a, b in zip(meshes, reference_meshes, strict=False)
        if a is not None and b is not None
    ]
    if not distances:
        return float("nan"), 0
    return float(np.mean(distances)), len(distances)
