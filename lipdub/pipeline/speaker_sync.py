"""SyncNet confidence per face track for ``--face speaker`` (when ``syncnet_v2`` is local).

With the original SyncNet's weights in the model cache, the speaker of a shot with several
faces is the track with the highest SyncNet confidence (LSE-C, as ``syncnet_python`` rates
active speakers) against the source video's own audio, instead of the weight-free
opening/loudness agreement. Each candidate track is cropped and embedded as the LSE metric
does (25 fps, the reference crop), over its frames of the shot only; the model loads once, the
first time a shot has several faces. A long shot is rated over its middle
:data:`MAX_RATED_FRAMES` frames (10 s).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from lipdub.faces.speaker import SpeakerScoring
from lipdub.faces.tracks import FaceTrack
from lipdub.media.probe import MediaInfo

log = logging.getLogger(__name__)

#: A track speaks (SyncNet) when its confidence reaches this; still faces score near 0.
MIN_SYNC_CONFIDENCE = 1.0
#: The name a shot's score is reported under.
SCORE_NAME = "SyncNet confidence"
#: A track is rated over at most this many 25 fps frames from the middle of its shot.
MAX_RATED_FRAMES = 250


def syncnet_file() -> Path | None:
    """``syncnet_v2.model`` in the model cache, or None."""
    from lipdub.eval.syncnet_files import SYNCNET_V2_FILENAME
    from lipdub.weights.registry import models_dir

    path = models_dir() / SYNCNET_V2_FILENAME
    return path if path.is_file() else None


class SyncNetTrackScorer:
    """SyncNet confidence of face tracks against the source's audio (a
    :data:`~lipdub.faces.speaker.TrackScorer`).

    ``audio`` is the source's 16 kHz mono audio, ``fps`` the frame rate the tracks' frame
    indices count in; frames are decoded again from ``info`` at 25 fps, per track.
    """

    def __init__(
        self, info: MediaInfo, fps: float, audio: np.ndarray, weights: Path, device: str = "cpu"
    ) -> None:
        self.info, self.fps, self.audio, self.weights = info, float(fps), audio, weights
        self.device = device
        self._model = None

    def _syncnet(self):  # noqa: ANN202 - SyncNetV2, imported lazily with torch
        if self._model is None:
            from lipdub.eval.syncnet_v2 import load_syncnet_v2

            self._model = load_syncnet_v2(self.weights, self.device)
        return self._model

    def __call__(self, tracks: Sequence[FaceTrack], frames: Sequence[int]) -> dict[int, float]:
        from lipdub.eval.sync_eval import SYNCNET_FPS

        first = math.ceil(frames[0] * SYNCNET_FPS / self.fps)
        stop = math.floor((frames[-1] + 1) * SYNCNET_FPS / self.fps)
        if stop - first > MAX_RATED_FRAMES:
            first = (first + stop - MAX_RATED_FRAMES) // 2
            stop = first + MAX_RATED_FRAMES
        return {t.id: self.confidence(t, first, stop) for t in tracks}

    def confidence(self, track: FaceTrack, first: int, stop: int) -> float:
        """LSE-C of ``track`` over 25 fps frames ``first .. stop-1`` (NaN: no window)."""
        from lipdub.eval.lse import DEFAULT_VSHIFT, scores_from_distances, shift_distances
        from lipdub.eval.measure import syncnet_box
        from lipdub.eval.sync_eval import SAMPLES_PER_FRAME, SYNCNET_FPS, embed_runs, face_runs
        from lipdub.eval.syncnet_mfcc import float_to_int16
        from lipdub.media.reader import VideoReader

        boxes = []
        for k in range(first, stop):
            face = track.faces.get(round(k * self.fps / SYNCNET_FPS))
            if face is None:
                boxes.append(None)
            elif face.regions is not None:
                boxes.append(syncnet_box(face.regions))
            else:
                boxes.append(tuple(float(v) for v in face.box))
        runs = face_runs(boxes)
        if not runs:
            return float("nan")
        audio = self.audio[first * SAMPLES_PER_FRAME : stop * SAMPLES_PER_FRAME]
        reader = VideoReader(self.info, fps=SYNCNET_FPS)
        last = max(run.stop for run in runs)
        embedded = embed_runs(
            self._syncnet(), reader.frames(start=first, count=last), runs, float_to_int16(audio)
        )
        if not embedded:
            return float("nan")
        dists = np.concatenate(
            [shift_distances(e.video, e.audio, DEFAULT_VSHIFT) for e in embedded]
        )
        return scores_from_distances(dists, DEFAULT_VSHIFT).confidence


def syncnet_scoring_for(
    info: MediaInfo, fps: float, device: str = "auto"
) -> Callable[[np.ndarray], SpeakerScoring] | None:
    """Given the source's 16 kHz audio, the SyncNet :class:`SpeakerScoring` of ``info``'s
    tracks; None when ``syncnet_v2.model`` is not in the model cache or the source is a still."""
    weights = syncnet_file()
    if weights is None or info.is_still:
        return None

    def make(audio: np.ndarray) -> SpeakerScoring:
        from lipdub.devices import resolve_device

        log.info("--face speaker: SyncNet confidence per track (%s)", weights)
        scorer = SyncNetTrackScorer(info, fps, audio, weights, str(resolve_device(device)))
        return SpeakerScoring(scorer, MIN_SYNC_CONFIDENCE, SCORE_NAME)

    return make
