"""LMD: mouth landmark distance between a result and its reference (ground-truth) video.

Per frame where both videos have a face, the 40 lip points (outer and inner lip loops of
their face regions) of each are centred on their own mean (so head translation does not count), and
the mean Euclidean distance between corresponding points is divided by the reference face's
forehead-to-chin height. LMD is the mean over those frames; lower is better. Published LMD
values are in pixels of a fixed crop size and are not directly comparable with this
size-normalised one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lipdub.faces.regions import FaceRegions


def lip_distance(regions: FaceRegions, reference: FaceRegions) -> float:
    """Normalised lip landmark distance of one frame (the regions of both faces)."""
    lips = regions.lips.astype(np.float64)
    ref = reference.lips.astype(np.float64)
    lips -= lips.mean(axis=0)
    ref -= ref.mean(axis=0)
    distance = np.linalg.norm(lips - ref, axis=1).mean()
    return float(distance / max(reference.face_height, 1e-6))


def lmd(
    meshes: Sequence[FaceRegions | None], reference_meshes: Sequence[FaceRegions | None]
) -> tuple[float, int]:
    """``(LMD, frames used)`` over the frames where both faces exist (NaN, 0 if none)."""
    distances = [
        lip_distance(a, b)
        for a, b in zip(meshes, reference_meshes, strict=False)
        if a is not None and b is not None
    ]
    if not distances:
        return float("nan"), 0
    return float(np.mean(distances)), len(distances)
