"""Face regions from the 68-point iBUG (300-W / dlib) landmark layout.

The 68 points (0-based): jaw 0-16 (image-left ear to image-right ear round the chin at 8),
brows 17-21 and 22-26, nose bridge 27-30 (tip at 30), nose base 31-35 (alae 31 and 35,
subnasale 33), eyes 36-41 (image-left) and 42-47 (image-right), each from its outer corner
(36) or inner corner (42) along the upper lid, outer lips 48-59 (corners 48 and 54, upper lip
49-53, lower lip 55-59) and inner lips 60-67 (corners 60 and 64).

The layout has no forehead: the top of the face oval is estimated from the eyes and the chin,
and the upper oval is drawn from it down to the jaw ends (see :func:`regions_from_ibug68`).
"""

from __future__ import annotations

import numpy as np

from lipdub.faces.regions import FaceRegions

NUM_POINTS = 68
JAW = tuple(range(0, 17))
CHIN = 8
NOSE_TIP = 30
SUBNASALE = 33
ALA_IMAGE_LEFT, ALA_IMAGE_RIGHT = 31, 35
EYE_IMAGE_LEFT = tuple(range(36, 42))
EYE_IMAGE_RIGHT = tuple(range(42, 48))
#: Outer lip loop in canonical order: image-left corner, lower lip, image-right corner, upper.
LIPS_OUTER = (48, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49)
#: Inner lip loop in the same order.
LIPS_INNER = (60, 67, 66, 65, 64, 63, 62, 61)

#: The forehead top lies beyond the midpoint of the eyes, on the line from the chin, by this
#: share of the chin-to-eyes distance (calibrated on mediapipe's meshes of the astronaut
#: portrait, whose oval top is its landmark 10: 0.41 for a still image, 0.44 tracked).
FOREHEAD_RATIO = 0.43
#: Exponent of the superellipse drawn from the forehead top down to each jaw end (2: an
#: ellipse; larger: squarer temples), fitted to the same mesh's upper oval.
UPPER_OVAL_EXPONENT = 3.0
_ARC_POINTS = 16

#: The mediapipe face-mesh index nearest to each iBUG-68 point (jaw and lips chosen along the
#: mesh contours by arc length, eyes at thirds of the lids, symmetric left/right).
MEDIAPIPE_TO_IBUG68: tuple[int, ...] = (
    127, 234, 132, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 361, 454, 356,  # jaw
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300,  # brows
    168, 197, 5, 1, 98, 97, 2, 326, 327,  # nose
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,  # eyes
    61, 39, 37, 0, 267, 269, 291, 321, 314, 17, 84, 91,  # outer lips
    78, 81, 13, 311, 308, 402, 14, 178,  # inner lips
)  # fmt: skip


def _upper_arc(top: np.ndarray, end: np.ndarray, across: np.ndarray, down: np.ndarray):
    """Points from ``top`` (tangent across the face) to ``end`` (tangent down the face) on a
    superellipse quadrant in the face's own axes; ``top`` first, ``end`` last."""
    du = float((end - top) @ across)
    dv = float((end - top) @ down)
    theta = np.linspace(0.0, np.pi / 2, _ARC_POINTS)
    power = 2.0 / UPPER_OVAL_EXPONENT
    u = du * np.sin(theta) ** power
    v = dv * (1.0 - np.cos(theta) ** power)
    return top + u[:, None] * across + v[:, None] * down


def forehead_of(points: np.ndarray) -> np.ndarray:
    """The estimated top of the face oval of 68 iBUG points."""
    eyes = np.stack([points[list(EYE_IMAGE_LEFT)].mean(0), points[list(EYE_IMAGE_RIGHT)].mean(0)])
    middle = eyes.mean(axis=0)
    return middle + FOREHEAD_RATIO * (middle - points[CHIN])


def regions_from_ibug68(points: np.ndarray) -> FaceRegions:
    """The named regions of a face from its ``(68, 2)`` iBUG landmarks (frame pixels)."""
    points = np.asarray(points, np.float64)
    if points.shape != (NUM_POINTS, 2):
        raise ValueError(f"iBUG-68 landmarks must be (68, 2), got {points.shape}")
    eyes = np.stack([points[list(EYE_IMAGE_LEFT)].mean(0), points[list(EYE_IMAGE_RIGHT)].mean(0)])
    across = eyes[1] - eyes[0]
    across = across / max(float(np.linalg.norm(across)), 1e-6)
    down = np.array([-across[1], across[0]])
    top = forehead_of(points)
    jaw = points[list(JAW)]
    right = _upper_arc(top, jaw[-1], across, down)  # forehead -> image-right jaw end
    left = _upper_arc(top, jaw[0], across, down)  # forehead -> image-left jaw end
    oval = np.concatenate([right[:-1], jaw[::-1], left[-2:0:-1]])
    return FaceRegions.build(
        oval=oval,
        oval_chin=len(right) - 1 + (len(jaw) - 1 - CHIN),
        jaw=jaw,
        jaw_chin=CHIN,
        lips_outer=points[list(LIPS_OUTER)],
        lips_inner=points[list(LIPS_INNER)],
        nose_tip=points[NOSE_TIP],
        nose_base=points[SUBNASALE],
        nose_alae=points[[ALA_IMAGE_LEFT, ALA_IMAGE_RIGHT]],
        eyes=eyes,
    )


def ibug68_from_mediapipe(mesh: np.ndarray) -> np.ndarray:
    """The 68 iBUG points (float32) nearest to a mediapipe face mesh."""
    return np.asarray(mesh, np.float32)[list(MEDIAPIPE_TO_IBUG68)]
