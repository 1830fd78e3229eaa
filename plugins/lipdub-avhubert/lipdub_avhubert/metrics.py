"""The AV-HuBERT lip-sync metrics of Yaman et al. (2024) for ``lipdub eval``.

With TE the AV-HuBERT encoder's last-layer features and CS the per-frame cosine similarity,
averaged over the frames:

- ``avsu`` = CS(TE(V, 0), TE(0, A)): the video's lips against the audio (no ground truth);
- ``avsm`` = CS(TE(V, A), TE(V_gt, A)): audio-visual features, result against ground truth;
- ``avsv`` = CS(TE(V, 0), TE(V_gt, 0)): lips only, result against ground truth.

Videos are read at 25 fps, faces found by the evaluation's tracker, mouths cropped as
:mod:`lipdub_avhubert.mouth` describes. Options (``lipdub eval`` passes them): ``avhubert``
(checkpoint path), ``device``, ``tracker``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from lipdub.errors import InputError
from lipdub.eval.metric import EvalMetric, EvalSample

from lipdub_avhubert.expert import FPS, Expert, avhubert_weights, cosine_per_frame, shared_expert


def video_rois(video: Path, tracker_name: str) -> np.ndarray:
    """(T, 88, 88) mouth crops of ``video`` at 25 fps (two passes: faces, then crops)."""
    from lipdub.eval.agreement import eval_tracker, largest_regions
    from lipdub.media.reader import VideoReader

    from lipdub_avhubert.mouth import mouth_rois

    reader = VideoReader(video, fps=FPS)
    tracker = eval_tracker(tracker_name)
    try:
        tracker.reset()
        regions = [largest_regions(tracker, frame) for frame in reader.frames()]
    finally:
        tracker.close()
    if not regions:
        raise InputError(f"{video}: no frames could be decoded")
    return mouth_rois(reader.frames(), regions)


class AVHubertMetric(EvalMetric):
    """Shared plumbing: options, the model, cached crops and features per video."""

    column: ClassVar[str] = ""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        from lipdub.devices import resolve_device

        self.path = avhubert_weights(options.get("avhubert"))
        self.device = str(resolve_device(str(options.get("device") or "cpu")))
        self.tracker = str(options.get("tracker") or "mediapipe")
        self.expert: Expert = shared_expert(self.path, self.device)
        self.curve: np.ndarray | None = None

    def _rois(self, video: Path) -> np.ndarray:
        key = ("rois", str(Path(video).resolve()), self.tracker)
        if key not in self.expert.cache:
            self.expert.cache.clear()  # keep one video's worth (the next video starts afresh)
            self.expert.cache[key] = video_rois(video, self.tracker)
        return self.expert.cache[key]

    def _reference_rois(self, reference: Path) -> np.ndarray:
        key = ("reference", str(Path(reference).resolve()), self.tracker)
        if key not in self.expert.cache:
            self.expert.cache[key] = video_rois(reference, self.tracker)
        return self.expert.cache[key]

    def _audio(self, sample: EvalSample, frames: int) -> np.ndarray:
        from lipdub_avhubert.audio import audio_features

        if sample.wav is None:
            raise InputError(f"{self.name} needs the audio of {sample.video}")
        return audio_features(sample.wav, frames, self.expert.normalize, sample.sample_rate)

    def _score(self, sample: EvalSample) -> np.ndarray:
        raise NotImplementedError

    def compute(self, sample: EvalSample) -> dict[str, float]:
        self.curve = self._score(sample)
        return {self.column: float(np.mean(self.curve)) if len(self.curve) else float("nan")}

    def curves(self) -> dict[str, np.ndarray]:
        """The per-frame similarity of the last video (plotted by ``lipdub eval``)."""
        return {} if self.curve is None else {self.column: self.curve}


class AVSu(AVHubertMetric):
    name = "avsu"
    column = "avsu"
    description = "AV-HuBERT: cosine of the lips' and the audio's features (no reference)"

    def _score(self, sample: EvalSample) -> np.ndarray:
        rois = self._rois(sample.video)
        visual = self.expert.features(rois, None)
        return cosine_per_frame(visual, self.expert.features(None, self._audio(sample, len(rois))))


class AVSm(AVHubertMetric):
    name = "avsm"
    column = "avsm"
    description = "AV-HuBERT: audio-visual features of the video vs the reference's"
    needs_reference = True

    def _score(self, sample: EvalSample) -> np.ndarray:
        assert sample.reference is not None
        rois, reference = self._rois(sample.video), self._reference_rois(sample.reference)
        audio = self._audio(sample, max(len(rois), len(reference)))
        mine = self.expert.features(rois, audio[: len(rois)])
        return cosine_per_frame(mine, self.expert.features(reference, audio[: len(reference)]))


class AVSv(AVHubertMetric):
    name = "avsv"
    column = "avsv"
    description = "AV-HuBERT: lip-only features of the video vs the reference's"
    needs_reference = True

    def _score(self, sample: EvalSample) -> np.ndarray:
        assert sample.reference is not None
        rois, reference = self._rois(sample.video), self._reference_rois(sample.reference)
        return cosine_per_frame(
            self.expert.features(rois, None), self.expert.features(reference, None)
        )


METRICS = (AVSu, AVSm, AVSv)
