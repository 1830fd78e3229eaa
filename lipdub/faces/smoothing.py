"""Temporal smoothing of a selected face track, without lag and never across a cut.

Boxes, face regions and landmarks are smoothed with a centred (zero-phase) Gaussian-weighted
average. Near the ends of a run of frames the window shrinks symmetrically, so the first and
last frames of a shot (and of every run without gaps) keep their raw positions: nothing is
blended in from before a cut, and a step is not delayed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np

from lipdub.faces.face_table import FaceSeries, FaceTable
from lipdub.faces.regions import POINTS
from lipdub.types import Face

#: Two consecutive boxes whose centres are further apart than this share of the face size
#: are treated as a jump (e.g. an undetected cut) and not smoothed together.
MAX_STEP = 0.5
#: Frames of points smoothed at once (with a margin of the window on each side).
SMOOTH_CHUNK = 512


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


def _stretches(keys: np.ndarray) -> list[tuple[int, int]]:
    """``(start, end)`` of every maximal stretch of equal keys that are not negative."""
    keys = np.asarray(keys)
    if not keys.size:
        return []
    edges = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [len(keys)]])
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True) if keys[a] >= 0]


def _smooth_stretches(
    keys: np.ndarray,
    read: Callable[[int, int], np.ndarray],
    pose_half: int,
    shape_half: int,
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Point sets smoothed over each stretch of frames with equal non-negative ``keys`` (e.g.
    their point count): ``(first, last, points)`` for frames ``first:last`` in order, a chunk
    of :data:`SMOOTH_CHUNK` at a time, each read (``read(lo, hi)``: ``(hi - lo, N, 2)``)
    with a margin of the window (a row depends only on rows within it), so a long run gives
    the same result in bounded memory."""
    margin = max(pose_half, shape_half)
    for start, end in _stretches(keys):
        for first in range(start, end, SMOOTH_CHUNK):
            last = min(end, first + SMOOTH_CHUNK)
            lo, hi = max(start, first - margin), min(end, last + margin)
            smoothed = _smooth_points(read(lo, hi), pose_half, shape_half)
            yield first, last, smoothed[first - lo : last - lo]


def _smooth_boxes(boxes: np.ndarray, half_width: int) -> np.ndarray:
    """``(T, 4)`` boxes (NaN rows: none) smoothed like the face boxes over each stretch of
    frames that have one."""
    out = np.full_like(boxes, np.nan)
    for start, end in _stretches(np.where(np.isnan(boxes).any(axis=1), -1, 0)):
        out[start:end] = centred_average(boxes[start:end], half_width)
    return out


def _windowed(
    read: Callable[[int, int], np.ndarray],
    smooth: Callable[[np.ndarray], np.ndarray],
    count: int,
    margin: int,
) -> Callable[[int, int], np.ndarray]:
    """Rows ``a:b`` of ``smooth`` applied to all ``count`` rows (``read(lo, hi)`` gives rows
    ``lo:hi``), computed from rows ``a - margin : b + margin`` only: for smoothing windows of
    at most ``margin`` rows to each side that shrink at the ends (a row depends on no more)."""

    def rows(a: int, b: int) -> np.ndarray:
        lo, hi = max(0, a - margin), min(count, b + margin)
        return smooth(read(lo, hi))[a - lo : b - lo]

    return rows


def _runs(series: FaceSeries, shot_ids: Sequence[int]) -> list[tuple[int, int]]:
    """``(start, end)`` of the runs of consecutive frames of one shot that all have a face,
    split at jumps (boxes read a chunk at a time)."""
    count = len(series)
    shots = np.asarray(shot_ids, np.int32)
    cuts = [np.array([0, count], np.int64)]
    for a in range(1, count, SMOOTH_CHUNK):
        b = min(count, a + SMOOTH_CHUNK)
        boxes = series.boxes(a - 1, b)
        prev, cur = boxes[:-1], boxes[1:]
        present = ~np.isnan(boxes).any(axis=1)
        size = np.maximum(np.maximum(prev[:, 2] - prev[:, 0], prev[:, 3] - prev[:, 1]), 1.0)
        with np.errstate(invalid="ignore"):
            step = np.hypot(
                (cur[:, 0] + cur[:, 2] - prev[:, 0] - prev[:, 2]) / 2,
                (cur[:, 1] + cur[:, 3] - prev[:, 1] - prev[:, 3]) / 2,
            )
            joined = present[:-1] & present[1:] & ~(step > MAX_STEP * size)
        joined &= shots[a - 1 : b - 1] == shots[a:b]
        cuts.append(np.flatnonzero(~joined) + a)  # frame k does not continue frame k - 1
    edges = np.unique(np.concatenate(cuts))
    present = series.present()
    return [(int(s), int(e)) for s, e in zip(edges[:-1], edges[1:], strict=True) if present[s]]


def smooth_track(
    faces: Sequence[Face | None],
    shot_ids: Sequence[int],
    fps: float = 25.0,
    box_seconds: float = 0.16,
    landmark_seconds: float = 0.04,
) -> FaceSeries:
    """``faces`` with smoothed boxes (detector boxes too), regions and landmarks; ``None``
    frames stay ``None``.

    Each run of consecutive frames with a face inside one shot is smoothed on its own with a
    centred window reaching ``box_seconds`` to each side for boxes and for the regions' (and
    raw landmarks') overall position and scale, and only ``landmark_seconds`` for their shape
    (so the lips stay sharp). Frames without regions or landmarks keep ``None``.
    """
    if len(shot_ids) != len(faces):
        raise ValueError("smooth_track needs one shot id per frame")
    source = FaceSeries.of(faces)
    box_half = max(0, round(box_seconds * fps))
    landmark_half = max(0, round(landmark_seconds * fps))
    out, rows = FaceTable(), np.full(len(source), -1, np.int64)
    for start, end in _runs(source, shot_ids):
        run = _Run(source, start, end, out, rows)
        run.smoothed_boxes = _windowed(
            lambda lo, hi, at=start: source.boxes(at + lo, at + hi),
            lambda boxes: centred_average(boxes, box_half).astype(np.float64),
            end - start,
            box_half,
        )
        run.smoothed_detector_boxes = _windowed(
            lambda lo, hi, at=start: source.detector_boxes(at + lo, at + hi),
            lambda boxes: _smooth_boxes(boxes, box_half),
            end - start,
            box_half,
        )
        keys = run.has_regions.astype(np.int8) - 1
        cursor = 0
        for first, last, points in _smooth_stretches(keys, run.points, box_half, landmark_half):
            run.emit(cursor, first, None)
            run.emit(first, last, points)
            cursor = last
        run.emit(cursor, end - start, None)
        if source.table.landmarks:
            run.smooth_landmarks(box_half, landmark_half)
    return FaceSeries(out, rows)


def _no_rows(a: int, b: int) -> np.ndarray:
    return np.empty((0, 4))


class _Run:
    """One run of frames ``start:end`` of ``source`` being smoothed into ``out``."""

    def __init__(
        self, source: FaceSeries, start: int, end: int, out: FaceTable, rows: np.ndarray
    ) -> None:
        self.source, self.start, self.out, self.rows = source, start, out, rows
        self.source_rows = source.rows[start:end]
        self.scores = source.table.scores.take(self.source_rows)
        self.has_regions = source.table.has_regions.take(self.source_rows)
        #: Smoothed boxes and detector boxes of the run's frames ``a:b``.
        self.smoothed_boxes = self.smoothed_detector_boxes = _no_rows

    def points(self, lo: int, hi: int) -> np.ndarray:
        """The regions of the run's frames ``lo:hi``."""
        return self.source.table.points.take(self.source_rows[lo:hi])

    def emit(self, lo: int, hi: int, points: np.ndarray | None) -> None:
        """Store the run's frames ``lo:hi`` (``points``: their smoothed regions; None: they
        have none) in ``out``, a chunk at a time."""
        for a in range(lo, hi, SMOOTH_CHUNK):
            b = min(hi, a + SMOOTH_CHUNK)
            first = len(self.out)
            self.rows[self.start + a : self.start + b] = np.arange(first, first + b - a)
            chunk = (
                points[a - lo : b - lo]
                if points is not None
                else np.zeros((b - a, POINTS, 2), np.float32)
            )
            self.out.extend(
                self.smoothed_boxes(a, b),
                self.scores[a:b],
                self.smoothed_detector_boxes(a, b),
                self.has_regions[a:b] if points is None else np.ones(b - a, bool),
                chunk,
            )

    def smooth_landmarks(self, pose_half: int, shape_half: int) -> None:
        """The raw landmarks of the run's frames that have them, smoothed into ``out``."""
        found = self.source.table.landmarks
        series = [found.get(int(row)) for row in self.source_rows]
        keys = np.array([-1 if p is None else len(p) for p in series], np.int64)

        def read(lo: int, hi: int) -> np.ndarray:
            return np.stack([np.asarray(series[k]) for k in range(lo, hi)])

        for first, last, points in _smooth_stretches(keys, read, pose_half, shape_half):
            for k in range(first, last):
                self.out.landmarks[int(self.rows[self.start + k])] = points[k - first]
