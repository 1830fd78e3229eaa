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


def test_first_pass_errors_reach_the_caller_and_leave_no_thread() -> None:
    """Cuts are scored and faces stored on threads of their own: a bad frame (scored ahead of
    the tracker) and a failing store (behind it) each end the pass with their own error, and
    neither leaves a first-pass thread running."""
    import threading

    import pytest

    from lipdub.errors import InputError
    from lipdub.pipeline import analysis

    grey = [np.full((96, 128), 120, np.uint8)]
    with pytest.raises(InputError, match="shot detection needs RGB frames"):
        analysis.detect(frames()[:5] + grey, FixedTracker(), fps=25.0)

    def broken(frame: np.ndarray, face: Face) -> np.ndarray:
        raise RuntimeError("appearance failed")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(analysis, "appearance_of", broken)
        with pytest.raises(RuntimeError, match="appearance failed"):
            analysis.detect(frames(), FixedTracker(), fps=25.0)
    names = {thread.name for thread in threading.enumerate()}
    assert not names & {"lipdub-shots", "lipdub-faces"}


def test_first_pass_keeps_frame_order_across_its_threads() -> None:
    """Frames reach the store in order: face i sits on frame i, in its shot."""

    class Counting(FixedTracker):
        def __init__(self) -> None:
            super().__init__()
            self.seen = 0

        def detect(self, frame: np.ndarray) -> list[Face]:
            self.seen += 1
            x = float(self.seen)
            return [Face(box=(x, 20.0, x + 40.0, 70.0))] if frame.mean() > 60 else []

    from lipdub.pipeline.analysis import detect

    found = detect(frames() * 3, Counting(), fps=25.0)
    assert found.n_frames == 105
    boxes = found.table.boxes.take(np.arange(len(found.table)))
    ends = found.ends()
    with_face = [i for i in range(105) if ends[i] > (ends[i - 1] if i else 0)]
    assert np.array_equal(boxes[:, 0], np.array(with_face, np.float32) + 1)
    assert found.shots[:105] == sorted(found.shots[:105]) and found.shots[104] == 5
