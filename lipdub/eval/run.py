"""``lipdub eval``'s engine: choose the metrics, measure each video, one result row per video."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lipdub import defaults
from lipdub.errors import InputError, LipdubError, WeightsMissingError
from lipdub.eval.inputs import EvalItem
from lipdub.eval.metric_plugins import AVHUBERT_METRICS, EvalMetric, EvalSample, plugin_metrics
from lipdub.pipeline.progress import ProgressCallback, no_progress

BUILTIN_METRICS: dict[str, str] = {
    "lse": "LSE-D / LSE-C and AV offset (original SyncNet, syncnet_v2.model)",
    "pri": "PRI (SyncTalklip) on the same SyncNet embeddings",
    "agreement": "mouth opening vs audio loudness correlation (no weights)",
    "lmd": "lip landmark distance to the reference",
    "psnr": "PSNR to the reference (whole frame and face region)",
    "ssim": "SSIM to the reference (whole frame and face region)",
    "fid": "FID to the reference frames (local Inception weights)",
}
NEEDS_SYNCNET = {"lse", "pri"}
NEEDS_AUDIO = {"lse", "pri", "agreement"}
NEEDS_FACE = {"lse", "pri", "agreement", "lmd"}
NEEDS_REFERENCE = {"lmd", "psnr", "ssim", "fid"}


@dataclass
class EvalSettings:
    """Options of an evaluation; ``metrics`` None = every built-in whose inputs are there."""

    metrics: Sequence[str] | None = None
    syncnet: Path | None = None
    fid_weights: Path | None = None
    device: str = "auto"
    vshift: int = 15
    batch_size: int = 20
    max_lag: int = 3
    #: The registered face tracker that finds the faces (``lipdub plugins`` lists them).
    tracker: str = defaults.TRACKER
    #: Options for plugin metrics (``{"avhubert": PATH}``); each metric also gets ``device``
    #: and ``tracker``, and only the keywords its constructor names unless it takes ``**``.
    metric_options: dict[str, Any] = field(default_factory=dict)


@dataclass
class VideoResult:
    """One report row plus the per-frame series the plots draw."""

    row: dict[str, Any]
    fps: float = 25.0
    framewise_confidence: np.ndarray | None = None
    window_frames: np.ndarray | None = None
    mean_dists: np.ndarray | None = None
    openings: np.ndarray | None = None
    loudness: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    #: Per-frame series of plugin metrics (``EvalMetric.curves()``), by column.
    curves: dict[str, np.ndarray] = field(default_factory=dict)


def syncnet_weights(path: Path | None) -> Path:
    """The SyncNet file to use: ``path``, else ``syncnet_v2.model`` in the model cache."""
    from lipdub.eval.syncnet_files import SYNCNET_V2_FILENAME, SYNCNET_V2_URL
    from lipdub.weights.registry import models_dir

    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise WeightsMissingError(f"SyncNet weights {path} do not exist or are not a file")
        return path
    cached = models_dir() / SYNCNET_V2_FILENAME
    if cached.is_file():
        return cached
    raise WeightsMissingError(
        f"LSE-C/LSE-D and PRI need the original SyncNet weights ({SYNCNET_V2_FILENAME}, "
        f"published by its authors at {SYNCNET_V2_URL}): pass --syncnet PATH or copy the "
        f"file to {cached}"
    )


def choose_metrics(settings: EvalSettings, items: Sequence[EvalItem]) -> list[str]:
    """The metrics to run; clear errors for unknown ones or ones whose inputs are missing."""
    plugins = plugin_metrics()
    with_reference = any(item.reference is not None for item in items)
    if settings.metrics is None:
        chosen = ["agreement"]
        try:
            syncnet_weights(settings.syncnet)
            chosen[:0] = ["lse", "pri"]
        except WeightsMissingError:
            if settings.syncnet is not None:
                raise
        if with_reference:
            chosen += ["lmd", "psnr", "ssim"] + (["fid"] if settings.fid_weights else [])
        return chosen
    chosen = []
    for name in (m.strip().lower() for m in settings.metrics):
        if not name or name in chosen:
            continue
        if name in AVHUBERT_METRICS and name not in plugins:
            raise InputError(
                f"{name} is an AV-HuBERT metric: it needs a plugin that provides it "
                "(see docs/eval.md); none is installed"
            )
        if name not in BUILTIN_METRICS and name not in plugins:
            known = ", ".join([*BUILTIN_METRICS, *sorted(plugins)])
            raise InputError(f"unknown metric {name!r} (available: {known})")
        needs_reference = name in NEEDS_REFERENCE or (
            name in plugins and plugins[name].needs_reference
        )
        if needs_reference and not all(item.reference is not None for item in items):
            raise InputError(f"{name} compares with the ground truth: pass --reference VIDEO")
        chosen.append(name)
    if not chosen:
        raise InputError("no metrics chosen")
    if NEEDS_SYNCNET & set(chosen):
        syncnet_weights(settings.syncnet)
    if "fid" in chosen and settings.fid_weights is None:
        from lipdub.eval.image_quality import FID_WEIGHTS_HINT

        raise WeightsMissingError(FID_WEIGHTS_HINT)
    return chosen


def skipped_metrics(settings: EvalSettings, items: Sequence[EvalItem]) -> list[str]:
    """One line per group of default metrics left out, saying why (empty with ``-m``)."""
    if settings.metrics is not None:
        return []
    notes = []
    try:
        syncnet_weights(settings.syncnet)
    except WeightsMissingError as exc:
        notes.append(f"skipped lse, pri: {exc}")
    if not any(item.reference is not None for item in items):
        notes.append("skipped lmd, psnr, ssim, fid: they compare with a ground truth (--reference)")
    elif settings.fid_weights is None:
        notes.append("skipped fid: it needs Inception weights (--fid-weights)")
    return notes


def _accepted(cls: type[EvalMetric], options: dict[str, Any]) -> dict[str, Any]:
    """The ``options`` a metric's constructor takes (all of them if it takes ``**options``)."""
    import inspect

    parameters = inspect.signature(cls.__init__).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return dict(options)
    names = {p.name for p in parameters}
    return {key: value for key, value in options.items() if key in names}


def _nan_mean(values: Sequence[float]) -> float:
    array = np.asarray(values, dtype=np.float64)
    array = array[np.isfinite(array)]
    return float(array.mean()) if array.size else float("nan")


class Evaluator:
    """Loads the models the chosen metrics need once, then evaluates videos one by one."""

    def __init__(self, metrics: Sequence[str], settings: EvalSettings) -> None:
        self.metrics = list(metrics)
        self.settings = settings
        self.syncnet: Any = None
        self.fid_model: Any = None
        self.plugins: dict[str, EvalMetric] = {}
        from lipdub.devices import resolve_device
        from lipdub.plugins import get_component

        get_component("face_trackers", settings.tracker)  # an unknown name fails here, once

        device = str(resolve_device(settings.device))
        if NEEDS_SYNCNET & set(self.metrics):
            from lipdub.eval.syncnet_v2 import load_syncnet_v2

            self.syncnet = load_syncnet_v2(syncnet_weights(settings.syncnet), device)
        if "fid" in self.metrics:
            from lipdub.eval.image_quality import load_inception

            self.fid_model = load_inception(settings.fid_weights, device)
        available = plugin_metrics()
        options = {"device": device, "tracker": settings.tracker, **settings.metric_options}
        for name in self.metrics:
            if name in available:
                self.plugins[name] = available[name](**_accepted(available[name], options))

    def close(self) -> None:
        for metric in self.plugins.values():
            metric.close()

    def evaluate(
        self, item: EvalItem, progress: ProgressCallback = no_progress, label: str = ""
    ) -> VideoResult:
        """Every chosen metric for one video (:class:`LipdubError` when it cannot be read)."""
        from lipdub.eval.agreement import best_lag_correlation, loudness_per_frame
        from lipdub.eval.measure import measure_frames
        from lipdub.media.audio import load_audio
        from lipdub.media.integrity import damaged_note
        from lipdub.media.probe import probe
        from lipdub.media.reader import VideoReader

        chosen = set(self.metrics)
        info = probe(item.video)
        if not info.has_video or info.is_still:
            raise InputError(f"{item.video} is not a video (eval needs moving pictures)")
        wav = None
        if chosen & NEEDS_AUDIO or self.plugins:
            source = item.audio or item.video
            if item.audio is None and not info.has_audio:
                raise InputError(f"{item.video} has no audio track: pass --audio AUDIO")
            wav = load_audio(source)
        fps = 25.0 if chosen & NEEDS_SYNCNET else float(info.fps or 25.0)
        reader = VideoReader(info, fps=fps)
        reference_reader = None
        if item.reference is not None and chosen & NEEDS_REFERENCE:
            reference_reader = VideoReader(item.reference, fps=fps)
        measures = measure_frames(
            reader.frames(),
            None if reference_reader is None else reference_reader.frames(),
            quality=chosen & {"psnr", "ssim"},
            fid_model=self.fid_model,
            total=reader.n_frames,
            progress=progress,
            stage=f"{label}Finding faces",
            tracker_name=self.settings.tracker,
        )
        if measures.n_frames == 0:
            raise InputError(f"{item.video}: no frames could be decoded")
        damage = damaged_note(info, measures.n_frames, fps)
        row: dict[str, Any] = {
            "video": str(item.video),
            "audio": str(item.audio or (item.video if wav is not None else "")),
            "reference": str(item.reference or ""),
            "fps": fps,
            "frames": measures.n_frames,
            "face_frames": measures.face_frames,
        }
        result = VideoResult(row=row, fps=fps)
        if damage is not None:
            result.notes.append(damage)
        if measures.face_frames == 0 and chosen & NEEDS_FACE:
            raise InputError(
                f"{item.video}: no face found in any of its {measures.n_frames} frames"
            )
        if chosen & NEEDS_SYNCNET:
            self._sync_metrics(item, reader, measures.boxes, wav, result, progress, label)
        if "agreement" in chosen:
            openings = np.asarray(measures.openings)
            loudness = loudness_per_frame(wav, fps, len(openings))
            agreement = best_lag_correlation(openings, loudness, self.settings.max_lag)
            row.update(agreement_r=agreement.r, agreement_lag=agreement.lag)
            result.openings, result.loudness = openings, loudness
        if measures.reference_meshes:
            self._reference_metrics(measures, chosen, row)
        for name, metric in self.plugins.items():
            sample = EvalSample(item.video, wav, 16000, fps, item.reference)
            for column, value in metric.compute(sample).items():
                if column in row:
                    raise LipdubError(f"eval metric {name!r} reports a column {column!r} twice")
                row[column] = value
            curves = getattr(metric, "curves", None)
            result.curves.update(curves() if callable(curves) else {})
        return result

    def _sync_metrics(
        self,
        item: EvalItem,
        reader: Any,
        boxes: list[Any],
        wav: np.ndarray | None,
        result: VideoResult,
        progress: ProgressCallback,
        label: str,
    ) -> None:
        from lipdub.eval.lse import scores_from_distances, shift_distances
        from lipdub.eval.pri import pri
        from lipdub.eval.sync_eval import embed_runs, face_runs
        from lipdub.eval.syncnet_mfcc import float_to_int16

        assert wav is not None
        runs = face_runs(boxes)
        embeddings = embed_runs(
            self.syncnet,
            reader.frames(),
            runs,
            float_to_int16(wav),
            batch_size=self.settings.batch_size,
            progress=progress,
            stage=f"{label}SyncNet windows",
        )
        windows = sum(len(e.video) for e in embeddings)
        result.row["sync_windows"] = windows
        if windows == 0:
            result.notes.append(
                f"{item.video}: no 6 consecutive frames with a face and audio: no SyncNet window"
            )
            result.row.update(lse_d=float("nan"), lse_c=float("nan"), av_offset=None)
            return
        vshift = self.settings.vshift
        dists = np.concatenate([shift_distances(e.video, e.audio, vshift) for e in embeddings])
        scores = scores_from_distances(dists, vshift)
        if "lse" in self.metrics:
            result.row.update(
                lse_d=scores.min_dist, lse_c=scores.confidence, av_offset=scores.offset
            )
            result.framewise_confidence = scores.framewise_confidence
            result.window_frames = np.concatenate(
                [e.start + np.arange(len(e.video)) for e in embeddings]
            )
            result.mean_dists = scores.mean_dists
        if "pri" in self.metrics:
            result.row["pri"] = pri(
                np.concatenate([e.video for e in embeddings]),
                np.concatenate([e.audio for e in embeddings]),
            )

    def _reference_metrics(self, measures: Any, chosen: set[str], row: dict[str, Any]) -> None:
        from lipdub.eval.lmd import lmd

        row["compared_frames"] = len(measures.reference_meshes)
        if "lmd" in chosen:
            value, used = lmd(measures.meshes, measures.reference_meshes)
            row.update(lmd=value, lmd_frames=used)
        if "psnr" in chosen:
            row.update(psnr=_nan_mean(measures.psnr), psnr_face=_nan_mean(measures.psnr_face))
        if "ssim" in chosen:
            row.update(ssim=_nan_mean(measures.ssim), ssim_face=_nan_mean(measures.ssim_face))
        if "fid" in chosen:
            from lipdub.eval.image_quality import frechet_distance

            row["fid"] = frechet_distance(
                np.asarray(measures.fid_features), np.asarray(measures.reference_fid_features)
            )


def evaluate_items(
    items: Sequence[EvalItem],
    settings: EvalSettings,
    progress: ProgressCallback = no_progress,
    keep_going: bool = False,
) -> tuple[list[str], list[VideoResult]]:
    """``(metrics, results)`` for every item; with ``keep_going`` a video that fails gets a
    row with its ``error`` instead of stopping the run."""
    metrics = choose_metrics(settings, items)
    evaluator = Evaluator(metrics, settings)
    results = []
    try:
        for number, item in enumerate(items, start=1):
            label = f"[{number}/{len(items)}] " if len(items) > 1 else ""
            try:
                results.append(evaluator.evaluate(item, progress, label))
            except LipdubError as exc:
                if not keep_going:
                    raise
                results.append(VideoResult(row={"video": str(item.video), "error": str(exc)}))
    finally:
        evaluator.close()
    return metrics, results
