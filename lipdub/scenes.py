"""Streaming shot-cut detection with PySceneDetect's content detector.

Frames are pushed one at a time and not kept; each is downscaled before scoring, which keeps
the cost low and barely changes the content score (a mean over the picture).
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np
from scenedetect.detectors import ContentDetector
from scenedetect.scene_detector import FlashFilter

from lipdub import defaults
from lipdub.errors import InputError
from lipdub.media.shrink import shrink

#: Frames are scored at most this wide.
SCORE_WIDTH = 320
#: Default shortest shot: cuts closer than this to the previous one are ignored.
MIN_SHOT_SECONDS = 0.5


class ShotDetector:
    """Tells, frame by frame, where a new shot starts.

    ``threshold`` is PySceneDetect's content threshold (higher: fewer cuts); a cut is not
    reported within ``min_shot_frames`` frames (default: half a second) of the previous cut
    or of the first frame.
    """

    def __init__(
        self,
        fps: float,
        threshold: float = defaults.SCENE_THRESHOLD,
        min_shot_frames: int | None = None,
    ) -> None:
        if not fps > 0:
            raise InputError(f"shot detection needs a positive frame rate, got {fps}")
        if min_shot_frames is None:
            min_shot_frames = max(1, round(MIN_SHOT_SECONDS * fps))
        self.fps = fps
        self.threshold = threshold
        self.min_shot_frames = int(min_shot_frames)
        # SUPPRESS reports a cut on the frame it happens (MERGE may report it frames later).
        self._detector = ContentDetector(
            threshold=threshold,
            min_scene_len=self.min_shot_frames,
            filter_mode=FlashFilter.Mode.SUPPRESS,
        )
        self._frame_index = -1
        #: Index of the shot of the last pushed frame (0 for the first).
        self.shot_index = 0

    def push(self, frame: np.ndarray) -> bool:
        """Score the next RGB frame; ``True`` if a new shot starts at it (never the first)."""
        if not (isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[2] == 3):
            raise InputError("shot detection needs RGB frames of shape (height, width, 3)")
        self._frame_index += 1
        height, width = frame.shape[:2]
        if width > SCORE_WIDTH:
            size = (SCORE_WIDTH, max(1, round(height * SCORE_WIDTH / width)))
            frame = shrink(frame, size)
        bgr = cv2.cvtColor(np.ascontiguousarray(frame, dtype=np.uint8), cv2.COLOR_RGB2BGR)
        cuts = self._detector.process_frame(self._frame_index, bgr)
        is_cut = self._frame_index > 0 and self._frame_index in cuts
        if is_cut:
            self.shot_index += 1
        return is_cut


def shot_ids(
    frames: Iterable[np.ndarray],
    fps: float,
    threshold: float = defaults.SCENE_THRESHOLD,
    min_shot_frames: int | None = None,
) -> list[int]:
    """The shot index of every frame in ``frames`` (convenience for tests and small clips)."""
    detector = ShotDetector(fps, threshold, min_shot_frames)
    ids = []
    for frame in frames:
        detector.push(frame)
        ids.append(detector.shot_index)
    return ids
