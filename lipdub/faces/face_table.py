"""Faces stored by column, so that an hour of video costs a few bytes of memory per frame,
not the kilobytes of one :class:`~lipdub.types.Face` object each.

A :class:`FaceTable` holds every face's box, score, detector box and named regions (most of a
face's size) as rows of columns whose full blocks move to an unlinked temporary file once the
table is long (:class:`lipdub.spill.RowBlocks`). A :class:`FaceSeries` is the per-frame view
the pipeline passes around (a table row, or none, per frame): it is a
``Sequence[Face | None]`` that makes the :class:`Face` of a frame only when that frame is
looked at."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import overload

import numpy as np

from lipdub.faces.regions import POINTS, FaceRegions
from lipdub.spill import RowBlocks
from lipdub.types import Face

#: Faces whose regions (824 bytes each) one block of the regions column holds; a table
#: keeps up to two blocks in memory (about 80 s of one face at 25 frames/s).
REGION_BLOCK_ROWS = 1024


#: Faces made at once when a series or a track is iterated.
FACES_AT_ONCE = 256


def _points_column() -> RowBlocks:
    rows = REGION_BLOCK_ROWS
    return RowBlocks((POINTS, 2), np.float32, spill=True, block_rows=rows, keep_rows=rows)


class FaceTable:
    """Faces by column (see the module docstring); each face is a row number. Boxes and
    scores are kept as float32 (what the analysis cache stores, so a reused analysis gives
    the very same faces), boxes given by :meth:`with_boxes` as float64."""

    def __init__(self) -> None:
        self.boxes = RowBlocks((4,), np.float32, spill=True)
        self.scores = RowBlocks((), np.float32, spill=True)
        self.detector_boxes = RowBlocks((4,), np.float32, spill=True)  # NaN: none
        self.has_regions = RowBlocks((), bool, spill=True)
        self.points = _points_column()
        #: Raw tracker landmarks by row, for the few faces that keep them.
        self.landmarks: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.scores)

    def append(self, face: Face) -> int:
        """Store ``face``; its row number."""
        row = len(self)
        self.boxes.append(face.box)
        self.scores.append(face.score)
        self.detector_boxes.append(np.nan if face.detector_box is None else face.detector_box)
        self.has_regions.append(face.regions is not None)
        self.points.append(0.0 if face.regions is None else face.regions.points)
        if face.landmarks is not None:
            self.landmarks[row] = face.landmarks
        return row

    def extend(
        self,
        boxes: np.ndarray,
        scores: np.ndarray,
        detector_boxes: np.ndarray,
        has_regions: np.ndarray,
        points: np.ndarray,
    ) -> None:
        """Store many faces given by column (detector boxes NaN where none)."""
        for column, values in (
            (self.boxes, boxes),
            (self.scores, scores),
            (self.detector_boxes, detector_boxes),
            (self.has_regions, has_regions),
            (self.points, points),
        ):
            column.extend(values)

    def with_boxes(
        self, boxes: np.ndarray | None = None, rows: np.ndarray | None = None
    ) -> FaceTable:
        """A table sharing this one's columns but with ``boxes`` at ``rows`` (NaN elsewhere;
        all NaN without them, for ``table.boxes.put`` to fill a chunk at a time)."""
        table = FaceTable.__new__(FaceTable)
        table.__dict__.update(self.__dict__)
        table.boxes = RowBlocks((4,), np.float64, spill=True)
        for first in range(0, len(self), table.boxes.block_rows):
            count = min(table.boxes.block_rows, len(self) - first)
            table.boxes.extend(np.full((count, 4), np.nan))
        if boxes is not None and rows is not None:
            table.boxes.put(rows, boxes)
        return table

    def face(self, row: int) -> Face:
        """The face at ``row``."""
        points = self.points.row(row).copy() if self.has_regions.row(row) else None
        return self._face(
            row, self.boxes.row(row), self.scores.row(row), self.detector_boxes.row(row), points
        )

    def faces(self, rows: np.ndarray) -> list[Face]:
        """The faces at ``rows`` (each column read once for all of them)."""
        rows = np.asarray(rows, np.int64)
        boxes, scores = self.boxes.take(rows), self.scores.take(rows)
        detector_boxes, has_regions = self.detector_boxes.take(rows), self.has_regions.take(rows)
        points = iter(self.points.take(rows[has_regions]) if has_regions.any() else [])
        return [
            self._face(
                row,
                boxes[k],
                scores[k],
                detector_boxes[k],
                next(points) if has_regions[k] else None,
            )
            for k, row in enumerate(rows.tolist())
        ]

    def _face(
        self,
        row: int,
        box: np.ndarray,
        score: np.ndarray,
        detector: np.ndarray,
        points: np.ndarray | None,
    ) -> Face:
        return Face(
            box=tuple(box.tolist()),  # type: ignore[arg-type]
            landmarks=self.landmarks.get(row),
            score=float(score),
            regions=None if points is None else FaceRegions(points),
            detector_box=None if np.isnan(detector).all() else tuple(detector.tolist()),  # type: ignore[arg-type]
        )


class FaceSeries(Sequence):
    """Per frame, a face of ``table`` (``rows[i]``; -1: no face in frame ``i``)."""

    def __init__(self, table: FaceTable, rows: np.ndarray) -> None:
        self.table = table
        self.rows = np.asarray(rows, np.int64)

    @classmethod
    def of(cls, faces: Iterable[Face | None]) -> FaceSeries:
        """``faces`` as a series (a series is returned as it is)."""
        if isinstance(faces, FaceSeries):
            return faces
        table, rows = FaceTable(), []
        for face in faces:
            rows.append(-1 if face is None else table.append(face))
        return cls(table, np.array(rows, np.int64))

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> Face | None: ...
    @overload
    def __getitem__(self, index: slice) -> FaceSeries: ...
    def __getitem__(self, index: int | slice) -> Face | None | FaceSeries:
        if isinstance(index, slice):
            return FaceSeries(self.table, self.rows[index])
        row = int(self.rows[index])
        return None if row < 0 else self.table.face(row)

    def __iter__(self) -> Iterator[Face | None]:
        for start in range(0, len(self.rows), FACES_AT_ONCE):
            rows = self.rows[start : start + FACES_AT_ONCE]
            faces = iter(self.table.faces(rows[rows >= 0]))
            for row in rows.tolist():
                yield None if row < 0 else next(faces)

    def __repr__(self) -> str:
        return f"FaceSeries({len(self)} frames, {int((self.rows >= 0).sum())} faces)"

    def present(self) -> np.ndarray:
        """Whether each frame has a face."""
        return self.rows >= 0

    def boxes(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """``(frames, 4)`` boxes of frames ``start:stop``, NaN where there is no face."""
        return _column(self.table.boxes, self.rows[start:stop], 4)

    def detector_boxes(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Like :meth:`boxes`, the tracker's own boxes (NaN where it gave none)."""
        return _column(self.table.detector_boxes, self.rows[start:stop], 4)

    def region_points(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Frames ``start:stop``: whether each has regions, and their ``(n, POINTS, 2)``
        points (undefined where it has none)."""
        rows = self.rows[start:stop]
        face = rows >= 0
        has = np.zeros(len(rows), bool)
        has[face] = self.table.has_regions.take(rows[face])
        points = np.zeros((len(rows), POINTS, 2), np.float32)
        if has.any():
            points[has] = self.table.points.take(rows[has])
        return has, points


def _column(column: RowBlocks, rows: np.ndarray, width: int) -> np.ndarray:
    out = np.full((len(rows), width), np.nan)
    face = rows >= 0
    out[face] = column.take(rows[face])
    return out


class TrackFaces(Mapping):
    """One track's faces by frame index: rows ``rows`` of ``table`` on frames ``frames``
    (increasing); a ``Mapping[int, Face]`` that makes each :class:`Face` when asked."""

    def __init__(self, table: FaceTable, frames: np.ndarray, rows: np.ndarray) -> None:
        self.table = table
        self.frames = np.asarray(frames, np.int64)
        self.rows = np.asarray(rows, np.int64)

    def __getitem__(self, frame: int) -> Face:
        k = int(np.searchsorted(self.frames, frame))
        if k == len(self.frames) or self.frames[k] != frame:
            raise KeyError(frame)
        return self.table.face(int(self.rows[k]))

    def __iter__(self) -> Iterator[int]:
        return iter(self.frames.tolist())

    def __len__(self) -> int:
        return len(self.frames)

    def values(self) -> Iterator[Face]:  # type: ignore[override]
        """The faces in frame order, made a block at a time."""
        for start in range(0, len(self.rows), FACES_AT_ONCE):
            yield from self.table.faces(self.rows[start : start + FACES_AT_ONCE])

    def items(self) -> Iterator[tuple[int, Face]]:  # type: ignore[override]
        return zip(self.frames.tolist(), self.values())  # noqa: B905 - same length

    def boxes(self) -> np.ndarray:
        return self.table.boxes.take(self.rows)


def boxes_of(faces: Mapping[int, Face]) -> np.ndarray:
    """``(n, 4)``: the boxes of a track's faces in its frame order."""
    if isinstance(faces, TrackFaces):
        return faces.boxes()
    return np.array([face.box for face in faces.values()], np.float64).reshape(-1, 4)
