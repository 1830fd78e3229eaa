"""One dub in progress (:class:`DubRun`): what it was asked, what it has found so far, and its
two passes over the source.

The input is probed once (:func:`lipdub.pipeline.dub.check_inputs`) and that
:class:`~lipdub.media.probe.MediaInfo` is handed to everything that reads the source.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lipdub import defaults
from lipdub.audio.cache import FeatureCache
from lipdub.audio.samples import Samples
from lipdub.audio.windows import window_starts
from lipdub.errors import InputError
from lipdub.faces.selection import parse_face_mode
from lipdub.media.encoder import EncoderSettings
from lipdub.media.integrity import warn_if_damaged
from lipdub.media.probe import MediaInfo
from lipdub.media.reader import VideoReader, read_image
from lipdub.media.writer import VideoWriter
from lipdub.pipeline import drive_audio as drives
from lipdub.pipeline.analysis import Analysis, Detections, analyse, detect, queue_depth
from lipdub.pipeline.analysis_cache import AnalysisCache, analysis_key
from lipdub.pipeline.closure import vad_of
from lipdub.pipeline.components import Components, GeneratorChoice
from lipdub.pipeline.engine import Prefetch, ThreadPlan, plan_threads
from lipdub.pipeline.face_choice import (
    check_choice,
    check_redrawn,
    reference_appearance,
    source_audio_for,
)
from lipdub.pipeline.fit import FramePlan, plan_frames
from lipdub.pipeline.heap import release_freed_memory
from lipdub.pipeline.pads import check_padded_boxes
from lipdub.pipeline.progress import ProgressCallback, StageTimer
from lipdub.pipeline.request import DubRequest, DubSummary
from lipdub.pipeline.source import ReadFrames, output_frames
from lipdub.pipeline.speaker_sync import syncnet_scoring_for
from lipdub.pipeline.stages import FrameLoop
from lipdub.provenance.marking import frame_marker, writer_options

log = logging.getLogger(__name__)

#: Frames decoded ahead of the face tracker in the first pass.
ANALYSE_AHEAD = 4


@dataclass
class DubRun:
    """A dub of ``request`` into ``output`` with loaded ``parts``; :meth:`execute` runs it."""

    request: DubRequest
    output: Path
    info: MediaInfo
    wav: Samples
    choice: GeneratorChoice
    parts: Components
    progress: ProgressCallback
    timer: StageTimer
    started: float = field(default_factory=time.perf_counter)
    threads: ThreadPlan = field(default_factory=plan_threads)
    #: Whether the first pass came from the analysis cache.
    analysis_reused: bool = False
    #: Source frames the first pass looked at (0 when it was reused).
    analysed_frames: int = 0
    #: Samples of ``--audio`` (``wav`` itself is let go once its features are measured).
    n_samples: int = 0

    def __post_init__(self) -> None:
        self.n_samples = len(self.wav)

    @property
    def fps(self) -> float:
        return float(self.request.fps or self.info.fps or defaults.STILL_FPS)

    @property
    def duration(self) -> float:
        """Seconds of ``--audio``: the output's length (unless ``--fit ...,keep``)."""
        return self.n_samples / float(defaults.ANALYSIS_SAMPLE_RATE)

    def execute(self) -> DubSummary:
        """Both passes; the summary of what they did."""
        request, fps = self.request, self.fps
        read = frame_reader(self.request.video, self.info, fps)
        stems = drives.driving_files(request.speakers, request.drive_audio)
        with self.timer("features"):
            cache = FeatureCache(best_effort=True) if request.feature_cache else None
            vad = vad_of(self.parts.generator)
            offset = request.audio_offset_ms
            drive = drives.drive_features(stems, self.wav, self.parts.extractor, cache, offset, vad)
        # The samples are not needed again (the writer muxes the file): an hour of audio is
        # 230 MB at 16 kHz.
        self.wav = np.empty(0, np.float32)

        n_audio_frames = max(1, int(round(self.duration * fps)))
        analysis = self.analyse(read, n_audio_frames)
        lanes = drives.make_lanes(analysis, drive, fps, request.pads)
        # What the first pass freed goes back to the system: the second pass does not start
        # from the first's high mark, which grows with the video.
        release_freed_memory()
        plan = plan_frames(analysis.n_frames, n_audio_frames, request.fit)
        extractor = self.parts.extractor
        window = max(
            1, round(self.parts.generator.audio_window_seconds * extractor.frames_per_second)
        )
        starts = window_starts(
            plan.n_dubbed,
            video_fps=fps,
            feature_fps=extractor.frames_per_second,
            window=window,
            n_features=min(len(lane.features) for lane in lanes),
        )
        loop = FrameLoop(
            self.parts, analysis, plan, lanes, starts, window, self.progress, self.timer
        )
        loop.mark = frame_marker(request)  # the watermark in each redrawn face (--no-mark: off)
        cpu_before = time.process_time()
        with self.writer(analysis, plan) as writer:
            loop.run(output_frames(plan, read), writer)
        counts = loop.counts
        skip_reasons = dict(counts.skipped.most_common())
        check_redrawn(counts.dubbed, skip_reasons, self.output, request.allow_no_face)
        self.timer.seconds["total"] = time.perf_counter() - self.started
        cpu = dict(loop.cpu.seconds)
        cpu["generate"] = max(0.0, time.process_time() - cpu_before - sum(cpu.values()))
        return DubSummary(
            output=self.output,
            generator=self.choice.name,
            generator_note=self.choice.note,
            frames=plan.n_output,
            dubbed_frames=counts.dubbed,
            faces_found=counts.dubbed + counts.skipped_frames,
            no_face_frames=counts.no_face,
            shots=analysis.n_shots,
            width=analysis.width,
            height=analysis.height,
            fps=fps,
            duration=plan.n_output / fps,
            seconds=dict(self.timer.seconds),
            skipped_frames=counts.skipped_frames,
            skip_reasons=skip_reasons,
            face_mode="speaker map" if request.speakers else str(request.face),
            shot_choices=drives.lane_choices(analysis, lanes, stems)
            if request.speakers
            else list(analysis.choices),
            analysis_reused=self.analysis_reused,
            detect_ms_per_frame=self.detect_ms_per_frame(),
            cpu_seconds=cpu,
        )

    # -- first pass --------------------------------------------------------------------------

    def analyse(self, read: ReadFrames, n_audio_frames: int) -> Analysis:
        """Shots, face tracks and the face to redraw in every source frame (reused from the
        analysis cache when this video was analysed before with the same settings)."""
        request, info, parts = self.request, self.info, self.parts
        limit = 1 if info.is_still else (n_audio_frames if request.fit.short == "trim" else None)
        face_mode = parse_face_mode(request.face)
        analysis = analyse(
            self.detections(read, limit),
            parts.tracker,
            self.fps,
            face_mode="largest" if request.speakers else face_mode,
            pads=request.pads,
            scene_threshold=request.scene_threshold,
            timer=self.timer,
            source_audio=source_audio_for(info),
            reference=reference_appearance(face_mode, parts.tracker),
            speaker_scoring=syncnet_scoring_for(info, self.fps, request.device),
            smooth=request.smooth,
        )
        if analysis.n_frames == 0:
            raise InputError(f"{request.video}: no video frames could be decoded")
        warn_if_damaged(info, analysis.n_frames, self.fps, limit)
        check_padded_boxes(analysis.faces, request.pads)
        if request.speakers:
            drives.check_tracks(analysis, request.speakers)
        else:
            check_choice(analysis, face_mode, request.allow_no_face)
            # Only a speaker map needs the tracks later; without them every face the tracker
            # found (and its appearance) is freed, leaving one chosen face per frame.
            analysis.tracks = []
        return analysis

    def detections(self, read: ReadFrames, limit: int | None) -> Detections:
        """Every face in the first ``limit`` source frames (None: all), from the cache when
        it has them."""
        request, info = self.request, self.info
        total = min(filter(None, (limit, info.frames_at(self.fps))), default=None)
        use_cache = request.analysis_cache and not info.is_still
        cache = AnalysisCache() if use_cache else None
        key = ""
        if cache is not None:
            with self.timer("cache"):
                key = analysis_key(
                    request.video, self.parts.tracker, self.fps, request.scene_threshold
                )
                found = cache.load(key, limit)
            if found is not None and found.n_frames > 0:
                self.analysis_reused = True
                log.info("first pass reused from the analysis cache (%s)", cache.path(key))
                self.progress("analyse", found.n_frames, found.n_frames)
                return found
        # Decoding runs on its own thread, ahead of the tracker.
        depth = queue_depth(info.width * info.height * 3, ANALYSE_AHEAD)
        with Prefetch(read(0, limit), depth=depth, name="lipdub-analyse") as frames:
            found = detect(
                frames,
                self.parts.tracker,
                self.fps,
                request.scene_threshold,
                total,
                self.progress,
                self.timer,
            )
        self.analysed_frames = found.n_frames
        log.info("first pass: %.1f ms of face tracking per frame", self.detect_ms_per_frame() or 0)
        if cache is not None and found.n_frames > 0:
            with self.timer("cache"):
                cache.save(key, found, complete=limit is None or found.n_frames < limit)
        return found

    def detect_ms_per_frame(self) -> float | None:
        """Tracker time per analysed frame (milliseconds), None when the pass was reused."""
        if not self.analysed_frames:
            return None
        return 1000.0 * self.timer.seconds.get("detect", 0.0) / self.analysed_frames

    # -- second pass -------------------------------------------------------------------------

    def writer(self, analysis: Analysis, plan: FramePlan) -> VideoWriter:
        """The output's writer with the request's encoder settings."""
        request = self.request
        encoder = EncoderSettings(request.codec, request.preset, request.crf, self.threads.encoder)
        return VideoWriter(
            self.output,
            width=analysis.width,
            height=analysis.height,
            fps=self.fps,
            audio_path=request.audio,
            duration=plan.n_output / self.fps,
            crf=encoder.crf,
            preset=encoder.preset,
            codec=encoder.codec,
            threads=encoder.threads,
            sample_aspect_ratio=self.info.sample_aspect_ratio,
            **writer_options(request, self.choice.name, self.output, self.info.metadata),
        )


def frame_reader(video: Path, info: MediaInfo, fps: float) -> ReadFrames:
    """``read(start, count)`` over the source; ``count=None`` reads to the end."""
    if info.is_still:
        still = read_image(info)
        still.setflags(write=False)

        def read_still(start: int, count: int | None) -> Iterator[np.ndarray]:
            for _ in range(1 if count is None else count):
                yield still

        return read_still
    reader = VideoReader(info, fps=fps)
    return lambda start, count: reader.frames(start=start, count=count)
