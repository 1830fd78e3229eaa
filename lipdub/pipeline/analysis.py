"""First pass over the source video: shots, then the tracked face of every frame."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from lipdub.components import FaceTracker
from lipdub.faces.boxes import wav2lip_box
from lipdub.faces.selection import select_faces
from lipdub.faces.smoothing import smooth_track
from lipdub.pipeline.progress import ProgressCallback, StageTimer, no_progress
from lipdub.scenes import ShotDetector
from lipdub.types import Face


@dataclass
class Analysis:
    """Per source frame: its shot number and the face to redraw (None: no face)."""

    shots: list[int]
    faces: list[Face | None]
    width: int
    height: int

    @property
    def n_frames(self) -> int:
        return len(self.shots)

    @property
    def n_shots(self) -> int:
        return (self.shots[-1] + 1) if self.shots else 0

    def shot_faces(self, shot: int) -> list[Face | None]:
        """The faces of every frame of ``shot`` (shots are numbered in frame order)."""
        start = bisect.bisect_left(self.shots, shot)
        end = bisect.bisect_right(self.shots, shot)
        return self.faces[start:end]


def analyse(
    frames: Iterable[np.ndarray],
    tracker: FaceTracker,
    fps: float,
    *,
    face_mode: str = "largest",
    pads: tuple[int, int, int, int] = (0, 10, 0, 0),
    scene_threshold: float = 27.0,
    total: int | None = None,
    progress: ProgressCallback = no_progress,
    timer: StageTimer | None = None,
) -> Analysis:
    """Detect shots and faces in ``frames``; faces are selected, smoothed within shots and
    given their generator box (``pads`` as ``(top, bottom, left, right)`` pixels)."""
    timer = timer or StageTimer()
    detector = ShotDetector(fps=fps, threshold=scene_threshold)
    shots: list[int] = []
    detections: list[list[Face]] = []
    shot = -1
    width = height = 0
    iterator = iter(frames)
    while True:
        with timer("decode"):
            frame = next(iterator, None)
        if frame is None:
            break
        height, width = frame.shape[:2]
        with timer("detect"):
            if detector.push(frame) or shot < 0:
                shot += 1
                tracker.reset()
            detections.append(tracker.detect(frame))
        shots.append(shot)
        progress("analyse", len(shots), total)
    with timer("detect"):
        chosen = select_faces(detections, shots, face_mode, (width, height))
        smoothed = smooth_track(chosen, shots, fps=fps)
        faces = [
            None
            if face is None
            else Face(
                box=wav2lip_box(face, pads, (width, height)),
                landmarks=face.landmarks,
                score=face.score,
                regions=face.regions,
            )
            for face in smoothed
        ]
    return Analysis(shots=shots, faces=faces, width=width, height=height)
