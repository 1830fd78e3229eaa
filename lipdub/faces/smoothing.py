"""Temporal smoothing of a selected face track, without lag and never across a cut.

Boxes, face regions and landmarks are smoothed with a centred (zero-phase) Gaussian-weighted
average. Near the ends of a run of frames the window shrinks symmetrically, so the first and
last frames of a shot (and of every run without gaps) keep their raw positions: nothing is
blended in from before a cut, and a step is not delayed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lipdub.faces.boxes import FloatBox, box_center
from lipdub.faces.regions import FaceRegions
from lipdub.types import Face

#: Two consecutive boxes whose centres are further apart than this share of the face size
#: are treated as a jump (e.g. an undetected cut) and not smoothed together.
MAX_STEP = 0.5
#: Frames of points smoothed at once (with a margin of the window on each side).
SMOOTH_CHUNK = 2048


def centred_average(values: np.ndarray, half_width: int) -> np.ndarray:
    """Zero-phase Gaussian-weighted average of ``values`` ``(T, ...)`` along axis 0.

    The window spans ``half_width`` frames on each side (sigma = half_width / 2) and shrinks
    symmetrically near the ends, so the first and last values are unchanged.
    """
    count = len(values)
    if half_width <= 0 or count < 3:
        return values.astype(np.float32, copy=True)
    sigma = max(half_width / 2, 0.5)
    weights = np.exp(-0.5 * (np.arange(-half_width, half_width + 1) / sigma) ** 2)
    data = values.astype(np.float64)
    out = np.empty_like(data)
    for i in range(count):
        half = min(half_width, i, count - 1 - i)
        w = weights[half_width - half : half_width + half + 1]
        out[i] = np.tensordot(w, data[i - half : i + half + 1], axes=1) / w.sum()
    return out.astype(np.float32)


def _smooth_points(landmarks: np.ndarray, pose_half: int, shape_half: int) -> np.ndarray:
    """Smooth ``(T, N, 2)`` points: position and scale strongly, the shape lightly."""
    centres = landmarks.mean(axis=1, keepdims=True)
    offsets = landmarks - centres
    scales = np.sqrt((offsets**2).sum(axis=2).mean(axis=1)).reshape(-1, 1, 1) + 1e-6
    shapes = centred_average(offsets / scales, shape_half)
    centres = centred_average(centres, pose_half)
    scales = centred_average(scales, pose_half)
    return (centres + scales * shapes).astype(np.float32)


def _smooth_series(
    series: list[np.ndarray | None], pose_half: int, shape_half: int
) -> list[np.ndarray | None]:
    """``series`` of ``(N, 2)`` point sets smoothed over each sub-run of consecutive frames
    that all have points of one shape; ``None`` entries stay ``None``."""
    out = list(series)
    start = 0
    while start < len(series):
        first = series[start]
        if first is None:
            start += 1
            continue
        end = start + 1
        while end < len(series) and _same_shape(series[end], first):
            end += 1
        # A long run is smoothed a chunk at a time, each read with a margin of the window
        # (a row depends only on rows within it): the same result in bounded memory.
        margin = max(pose_half, shape_half)
        for first in range(start, end, SMOOTH_CHUNK):
            last = min(end, first + SMOOTH_CHUNK)
            lo, hi = max(start, first - margin), min(end, last + margin)
            stacked = np.stack([np.asarray(series[k]) for k in range(lo, hi)])
            smoothed = _smooth_points(stacked, pose_half, shape_half)
            out[first:last] = list(smoothed[first - lo : last - lo])
        start = end
    return out


def _same_shape(points: np.ndarray | None, other: np.ndarray) -> bool:
    return points is not None and np.shape(points) == np.shape(other)


def _smooth_boxes(boxes: list[tuple[float, ...] | None], half_width: int) -> list[FloatBox | None]:
    """Detector boxes smoothed like the face boxes over each sub-run of frames that have one;
    ``None`` entries stay ``None``."""
    out: list[FloatBox | None] = [None] * len(boxes)
    start = 0
    while start < len(boxes):
        if boxes[start] is None:
            start += 1
            continue
        end = start + 1
        while end < len(boxes) and boxes[end] is not None:
            end += 1
        values = np.array(boxes[start:end], dtype=np.float64)
        for k, row in enumerate(centred_average(values, half_width)):
            out[start + k] = (float(row[0]), float(row[1]), float(row[2]), float(row[3]))
        start = end
    return out


def _runs(faces: Sequence[Face | None], shot_ids: Sequence[int]) -> list[list[int]]:
    """Runs of consecutive frames of one shot that all have a face, split at jumps."""
    runs: list[list[int]] = []
    current: list[int] = []
    for index, face in enumerate(faces):
        if face is None:
            current = []
            continue
        if current:
            prev = faces[current[-1]]
            assert prev is not None
            same_shot = shot_ids[current[-1]] == shot_ids[index]
            size = max(prev.box[2] - prev.box[0], prev.box[3] - prev.box[1], 1.0)
            (px, py), (fx, fy) = box_center(prev.box), box_center(face.box)
            if not same_shot or np.hypot(fx - px, fy - py) > MAX_STEP * size:
                current = []
        if not current:
            current = []
            runs.append(current)
        current.append(index)
    return runs


def smooth_track(
    faces: Sequence[Face | None],
    shot_ids: Sequence[int],
    fps: float = 25.0,
    box_seconds: float = 0.16,
    landmark_seconds: float = 0.04,
) -> list[Face | None]:
    """``faces`` with smoothed boxes (detector boxes too), regions and landmarks; ``None``
    frames stay ``None``.

    Each run of consecutive frames with a face inside one shot is smoothed on its own with a
    centred window reaching ``box_seconds`` to each side for boxes and for the regions' (and
    raw landmarks') overall position and scale, and only ``landmark_seconds`` for their shape
    (so the lips stay sharp). Frames without regions or landmarks keep ``None``.
    """
    if len(shot_ids) != len(faces):
        raise ValueError("smooth_track needs one shot id per frame")
    box_half = max(0, round(box_seconds * fps))
    landmark_half = max(0, round(landmark_seconds * fps))
    result: list[Face | None] = list(faces)
    for run in _runs(faces, shot_ids):
        run_faces = [faces[i] for i in run]
        boxes = centred_average(np.array([f.box for f in run_faces], dtype=np.float64), box_half)
        detector_boxes = _smooth_boxes([f.detector_box for f in run_faces], box_half)
        landmarks = _smooth_series([f.landmarks for f in run_faces], box_half, landmark_half)
        regions = _smooth_series(
            [None if f.regions is None else f.regions.points for f in run_faces],
            box_half,
            landmark_half,
        )
        for k, index in enumerate(run):
            points = regions[k]
            result[index] = Face(
                box=tuple(float(v) for v in boxes[k]),
                landmarks=landmarks[k],
                score=run_faces[k].score,
                regions=None if points is None else FaceRegions(points),
                detector_box=detector_boxes[k],
            )
    return result
