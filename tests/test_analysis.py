"""The first pass: shots from the frames, the tracker reset at each cut, faces per shot."""

from __future__ import annotations

import numpy as np

from lipdub.components import FaceTracker
from lipdub.pipeline.analysis import analyse
from lipdub.types import Face


class FixedTracker(FaceTracker):
    """Finds one face in the same place in frames brighter than 60; counts resets."""

    name = "fixed"

    def __init__(self) -> None:
        super().__init__()
        self.resets = 0

    def detect(self, frame: np.ndarray) -> list[Face]:
        return [Face(box=(20.0, 20.0, 60.0, 70.0))] if frame.mean() > 60 else []

    def reset(self) -> None:
        self.resets += 1


def frames() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    first = [np.full((96, 128, 3), 120, np.uint8) for _ in range(20)]
    pattern = rng.integers(0, 40, (96, 128, 3), dtype=np.uint8)
    second = [pattern.copy() for _ in range(15)]
    return first + second


def test_shots_faces_and_resets() -> None:
    tracker = FixedTracker()
    analysis = analyse(frames(), tracker, fps=25.0, pads=(0, 10, 0, 0))
    assert analysis.n_frames == 35 and analysis.n_shots == 2
    assert analysis.shots[19] == 0 and analysis.shots[20] == 1
    assert tracker.resets == 2  # at the first frame and at the cut
    assert all(face is not None for face in analysis.shot_faces(0))
    assert list(analysis.shot_faces(1)) == [None] * 15
    assert analysis.faces[0].box == (20.0, 20.0, 60.0, 80.0)  # 10 px of bottom padding
    assert (analysis.width, analysis.height) == (128, 96)
