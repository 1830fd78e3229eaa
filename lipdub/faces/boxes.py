"""Box arithmetic and the face box that Wav2Lip-style generators crop.

Boxes are float ``(x1, y1, x2, y2)`` in frame pixels; frame sizes are ``(width, height)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lipdub import defaults
from lipdub.types import Face

FloatBox = tuple[float, float, float, float]

#: Share of the face-oval height cut from its top: S3FD boxes (what Wav2Lip was trained on)
#: start on the forehead, below where the mesh oval ends.
FOREHEAD_TRIM = 0.1


def landmarks_box(landmarks: np.ndarray) -> FloatBox:
    """The bounding box of ``(N, 2)`` landmark points."""
    x1, y1 = landmarks.min(axis=0)
    x2, y2 = landmarks.max(axis=0)
    return float(x1), float(y1), float(x2), float(y2)


def box_center(box: Sequence[float]) -> tuple[float, float]:
    """The centre ``(x, y)`` of a box."""
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def box_iou(box_a: Sequence[float], box_b: Sequence[float]) -> float:
    """Intersection over union of two boxes (0 when either is empty)."""
    ix = min(box_a[2], box_b[2]) - max(box_a[0], box_b[0])
    iy = min(box_a[3], box_b[3]) - max(box_a[1], box_b[1])
    if ix <= 0 or iy <= 0:
        return 0.0
    inter = ix * iy
    area_a = (box_a[2] - box_a[0]) * (box_a[3] - box_a[1])
    area_b = (box_b[2] - box_b[0]) * (box_b[3] - box_b[1])
    return float(inter / (area_a + area_b - inter))


def clip_box(box: Sequence[float], frame_size: tuple[int, int]) -> FloatBox:
    """``box`` clipped to a ``(width, height)`` frame."""
    width, height = frame_size
    x1 = min(max(box[0], 0.0), width)
    y1 = min(max(box[1], 0.0), height)
    x2 = min(max(box[2], x1), width)
    y2 = min(max(box[3], y1), height)
    return float(x1), float(y1), float(x2), float(y2)


def wav2lip_box(
    face: Face,
    pads: tuple[int, int, int, int] = defaults.PADS,
    frame_size: tuple[int, int] | None = None,
) -> FloatBox:
    """The box a Wav2Lip generator crops for ``face``, like the S3FD boxes it was trained on.

    A face with a ``detector_box`` (the ``face-alignment`` tracker's S3FD box) uses it as it
    is: the reference Wav2Lip crop. Otherwise, from the face regions: the face oval's box,
    cheek to cheek and from the upper forehead (the top tenth of the oval cut off) down to the
    chin, which puts the nose tip near the middle of the crop and the mouth in its lower half.
    A face without either uses its box. Then Wav2Lip's ``pads`` ``(top, bottom, left,
    right)`` in pixels grow the box (default: 10 px more at the bottom, to keep the chin), and
    it is clipped to ``frame_size`` ``(width, height)`` when given.
    """
    if face.detector_box is not None:
        x1, y1, x2, y2 = face.detector_box
    elif face.regions is not None:
        x1, y1, x2, y2 = face.regions.oval_box()
        y1 += FOREHEAD_TRIM * (y2 - y1)
    else:
        x1, y1, x2, y2 = face.box
    top, bottom, left, right = pads
    box = (x1 - left, y1 - top, x2 + right, y2 + bottom)
    if frame_size is not None:
        box = clip_box(box, frame_size)
    return float(box[0]), float(box[1]), float(box[2]), float(box[3])
