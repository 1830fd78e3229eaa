"""Everything a first pass found, frame by frame, stored by column (see
:mod:`lipdub.faces.face_table`): per frame its shot and faces, per face its appearance."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lipdub.faces.face_table import FaceTable
from lipdub.faces.tracks import APPEARANCE, FaceTrack, build_tracks
from lipdub.spill import RowBlocks
from lipdub.types import Face


class Detections:
    """Shots and faces of ``n_frames`` frames: the faces of frame ``i`` are the rows
    :meth:`rows_of` ``(i)`` of ``table``, with their appearance descriptors in
    ``appearances`` (row by row)."""

    def __init__(self, width: int = 0, height: int = 0) -> None:
        self.shots: list[int] = []
        self.table = FaceTable()
        self.appearances = RowBlocks((APPEARANCE,), np.float32, spill=True)
        self.width, self.height = width, height
        self._ends = RowBlocks((), np.int64, spill=True)  # per frame: the row after its last face
        self._frames: int | None = None  # a prefix's frame count

    @classmethod
    def from_lists(
        cls,
        shots: Sequence[int],
        faces: Sequence[Sequence[Face]],
        appearances: Sequence[Sequence[np.ndarray]],
        width: int,
        height: int,
    ) -> Detections:
        """Detections given as lists: per frame its shot, faces and their appearances."""
        found = cls(width, height)
        for shot, frame_faces, frame_appearances in zip(shots, faces, appearances, strict=True):
            found.add_frame(shot, frame_faces, frame_appearances)
        return found

    def add_frame(
        self, shot: int, faces: Sequence[Face], appearances: Sequence[np.ndarray]
    ) -> None:
        """Append one frame of ``shot`` with its ``faces`` and their ``appearances``."""
        if len(faces) != len(appearances):
            raise ValueError("one appearance per face")
        for face, appearance in zip(faces, appearances, strict=True):
            self.table.append(face)
            self.appearances.append(appearance)
        self.shots.append(shot)
        self._ends.append(len(self.table))

    def set_ends(self, ends: np.ndarray) -> None:
        """Per frame, the row after its last face (for detections stored by column; the
        table and ``shots`` are filled already)."""
        self._ends = RowBlocks((), np.int64, spill=True)
        self._ends.extend(ends)

    @property
    def n_frames(self) -> int:
        return len(self.shots) if self._frames is None else self._frames

    def ends(self) -> np.ndarray:
        """Per frame, the row after its last face."""
        return self._ends.take(np.arange(self.n_frames))

    def rows_of(self, frame: int) -> range:
        """The table rows of ``frame``'s faces."""
        if not 0 <= frame < self.n_frames:
            raise IndexError(frame)
        start = 0 if frame == 0 else int(self._ends.row(frame - 1))
        return range(start, int(self._ends.row(frame)))

    def faces_in(self, frame: int) -> list[Face]:
        """The faces found in ``frame``."""
        return self.table.faces(np.asarray(self.rows_of(frame)))

    def appearances_in(self, frame: int) -> np.ndarray:
        """``(faces, APPEARANCE)``: the appearances of ``frame``'s faces."""
        return self.appearances.take(np.asarray(self.rows_of(frame)))

    def tracks(self) -> list[FaceTrack]:
        return build_tracks(self)

    def prefix(self, count: int | None) -> Detections:
        """The detections of the first ``count`` frames (all when None); the tracker and the
        shot detector only look back, so they equal what a run over those frames finds."""
        if count is None or count >= self.n_frames:
            return self
        part = Detections.__new__(Detections)
        part.__dict__.update(self.__dict__)
        part.shots, part._frames = self.shots[:count], count
        return part
