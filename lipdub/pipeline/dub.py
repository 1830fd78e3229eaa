"""The dub pipeline: media in → shots and faces → audio features → generator → blender → out.

Frames stream through in bounded batches: the first pass keeps only per-frame metadata (shot,
face box, landmarks), the second decodes again and writes as it goes.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lipdub import defaults
from lipdub.audio.cache import FeatureCache
from lipdub.audio.windows import window_starts
from lipdub.errors import InputError
from lipdub.faces.selection import parse_face_mode
from lipdub.media.audio import load_audio
from lipdub.media.probe import MediaInfo, probe
from lipdub.media.reader import VideoReader, read_image
from lipdub.media.writer import VideoWriter, check_output_path
from lipdub.pipeline import drive_audio as drives
from lipdub.pipeline.analysis import Analysis, analyse
from lipdub.pipeline.components import (
    Components,
    GeneratorChoice,
    build_components,
    choose_generator,
)
from lipdub.pipeline.compose import compose
from lipdub.pipeline.face_choice import (
    check_choice,
    check_redrawn,
    reference_appearance,
    source_audio_for,
)
from lipdub.pipeline.fit import FramePlan, plan_frames
from lipdub.pipeline.pads import check_padded_boxes, pads_note
from lipdub.pipeline.progress import ProgressCallback, StageTimer, no_progress
from lipdub.pipeline.request import DubRequest, DubSummary
from lipdub.pipeline.source import ReadFrames, output_frames
from lipdub.pipeline.speaker_sync import syncnet_scoring_for
from lipdub.plugins import get_component
from lipdub.types import GeneratorInput, Patch

log = logging.getLogger(__name__)


def default_output(video: Path) -> Path:
    """``<video>_dubbed.mp4`` beside the input."""
    return video.with_name(f"{video.stem}_dubbed.mp4")


def check_inputs(request: DubRequest) -> tuple[MediaInfo, MediaInfo]:
    video_info = probe(request.video)
    if not video_info.has_video:
        raise InputError(f"{request.video}: has no video stream")
    audio_info = probe(request.audio)
    if not audio_info.has_audio:
        raise InputError(f"{request.audio}: has no audio stream")
    drives.check_stems(drives.driving_files(request.speakers, request.drive_audio))
    return video_info, audio_info


def components_for(request: DubRequest, generator: str) -> Components:
    """Build the components ``request`` asks for, with ``generator`` (``auto`` resolved)."""
    return build_components(
        generator,
        checkpoint=request.checkpoint,
        device=request.device,
        precision=request.precision,
        blender=request.blender,
        tracker=request.tracker,
        options=request.options,
    )


def dub(
    request: DubRequest,
    progress: ProgressCallback = no_progress,
    components: Components | None = None,
    notify: Any = None,
) -> DubSummary:
    """Run the whole pipeline for ``request`` and return its summary.

    ``components`` may be passed in to reuse loaded models across several dubs; ``notify``
    (a ``callable(str)``) receives one-line notes such as the generator ``auto`` picked.
    """
    started = time.perf_counter()
    timer = StageTimer()
    parse_face_mode(request.face)
    video_info, _ = check_inputs(request)
    output = request.output or default_output(request.video)
    stems = drives.driving_files(request.speakers, request.drive_audio)
    check_output_path(output, [request.video, request.audio, *stems.values()], request.overwrite)

    with timer("audio"):
        wav = load_audio(request.audio, defaults.ANALYSIS_SAMPLE_RATE)
    duration = len(wav) / float(defaults.ANALYSIS_SAMPLE_RATE)

    choice = choose_generator(request.generator, request.checkpoint)
    if choice.note and notify is not None:
        notify(choice.note)
    note = pads_note(get_component("generators", choice.name), request.pads)
    if note and notify is not None:
        notify(note)
    own_components = components is None
    if components is None:
        with timer("load"):
            components = components_for(request, choice.name)
    try:
        return _run(
            request, output, video_info, wav, duration, choice, components, progress, timer, started
        )
    finally:
        if own_components:
            components.close()


def _run(
    request: DubRequest,
    output: Path,
    info: MediaInfo,
    wav: np.ndarray,
    duration: float,
    choice: GeneratorChoice,
    parts: Components,
    progress: ProgressCallback,
    timer: StageTimer,
    started: float,
) -> DubSummary:
    fps = float(request.fps or info.fps or defaults.STILL_FPS)
    read = _frame_reader(request.video, info, fps)
    stems = drives.driving_files(request.speakers, request.drive_audio)
    with timer("features"):
        cache = FeatureCache() if request.feature_cache else None
        drive = drives.drive_features(stems, wav, parts.extractor, cache)

    n_audio_frames = max(1, int(round(duration * fps)))
    limit = 1 if info.is_still else (n_audio_frames if request.fit.short == "trim" else None)
    total = min(filter(None, (limit, info.n_frames)), default=None)
    face_mode = parse_face_mode(request.face)
    analysis = analyse(
        read(0, limit),
        parts.tracker,
        fps,
        face_mode="largest" if request.speakers else face_mode,
        pads=request.pads,
        scene_threshold=request.scene_threshold,
        total=total,
        progress=progress,
        timer=timer,
        source_audio=source_audio_for(info),
        reference=reference_appearance(face_mode, parts.tracker),
        speaker_scoring=syncnet_scoring_for(info, fps, request.device),
    )
    if analysis.n_frames == 0:
        raise InputError(f"{request.video}: no video frames could be decoded")
    check_padded_boxes(analysis.faces, request.pads)
    if request.speakers:
        drives.check_tracks(analysis, request.speakers)
    else:
        check_choice(analysis, face_mode, request.allow_no_face)
    lanes = drives.make_lanes(analysis, drive, fps, request.pads)
    plan = plan_frames(analysis.n_frames, n_audio_frames, request.fit)

    extractor = parts.extractor
    window = max(1, round(parts.generator.audio_window_seconds * extractor.frames_per_second))
    starts = window_starts(
        plan.n_dubbed,
        video_fps=fps,
        feature_fps=extractor.frames_per_second,
        window=window,
        n_features=min(len(lane.features) for lane in lanes),
    )

    out_duration = plan.n_output / fps
    counts = _write(
        request,
        output,
        read,
        analysis,
        plan,
        lanes,
        starts,
        window,
        parts,
        fps,
        out_duration,
        progress,
        timer,
    )
    skip_reasons = dict(counts.skipped.most_common())
    check_redrawn(counts.dubbed, skip_reasons, output, request.allow_no_face)
    timer.seconds["total"] = time.perf_counter() - started
    return DubSummary(
        output=output,
        generator=choice.name,
        generator_note=choice.note,
        frames=plan.n_output,
        dubbed_frames=counts.dubbed,
        faces_found=counts.dubbed + counts.skipped_frames,
        no_face_frames=counts.no_face,
        shots=analysis.n_shots,
        width=analysis.width,
        height=analysis.height,
        fps=fps,
        duration=out_duration,
        seconds=dict(timer.seconds),
        skipped_frames=counts.skipped_frames,
        skip_reasons=skip_reasons,
        face_mode="speaker map" if request.speakers else str(request.face),
        shot_choices=drives.lane_choices(analysis, lanes, stems)
        if request.speakers
        else list(analysis.choices),
    )


@dataclass
class FrameCounts:
    """What the second pass did with the frames it was to dub."""

    dubbed: int = 0
    no_face: int = 0
    #: Frames whose patch came back ``redrawn=False``, by the generator's reason.
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def skipped_frames(self) -> int:
        return sum(self.skipped.values())


def _write(
    request: DubRequest,
    output: Path,
    read: ReadFrames,
    analysis: Analysis,
    plan: FramePlan,
    lanes: list[drives.Lane],
    starts: np.ndarray,
    window: int,
    parts: Components,
    fps: float,
    out_duration: float,
    progress: ProgressCallback,
    timer: StageTimer,
) -> FrameCounts:
    """Second pass: generate, blend and encode every output frame; returns what it did.

    Each lane's face in a frame is one generator item, its patch blended with that face. A
    frame none of whose patches the generator redrew is written unchanged and counted as
    skipped, with the first patch's note as the reason."""
    generator = parts.generator
    batch_size = max(1, getattr(generator.options, "batch_size", None) or generator.batch_size)
    counts = FrameCounts()
    pending: list[tuple[np.ndarray, list[GeneratorInput]]] = []
    current_shot = -1

    def flush(writer: VideoWriter) -> None:
        items = [item for _, group in pending for item in group]
        if items:
            with timer("generate"):
                patches = iter(generator.generate(items))
        for frame, group in pending:
            done: list[Patch] = [next(patches) for _ in group]
            for item, patch in zip(group, done, strict=True):
                if patch.redrawn:
                    with timer("blend"):
                        frame = compose(parts, frame, patch, item.face)
            if any(patch.redrawn for patch in done):
                counts.dubbed += 1
            elif done:
                counts.skipped[done[0].note or "not redrawn"] += 1
            with timer("encode"):
                writer.write(frame)
        progress("dub", out_index + 1, plan.n_output)
        pending.clear()

    frames = output_frames(plan, read)
    with VideoWriter(
        output,
        width=analysis.width,
        height=analysis.height,
        fps=fps,
        audio_path=request.audio,
        duration=out_duration,
    ) as writer:
        out_index = 0
        while True:
            with timer("decode"):
                got = next(frames, None)
            if got is None:
                break
            out_index, source_index, frame = got
            shot = analysis.shots[source_index]
            group: list[GeneratorInput] = []
            if out_index < plan.n_dubbed:
                group = drives.frame_items(
                    lanes, frame, source_index, out_index, shot, starts, window
                )
                if not group:
                    counts.no_face += 1
            if group and shot != current_shot:
                current_shot = shot
                lane = next(lane for lane in lanes if lane.faces[source_index] is not None)
                generator.begin_shot(shot, lane.shot_faces(analysis.shots, shot))
            pending.append((frame.copy() if group else frame, group))
            if sum(len(items) or 1 for _, items in pending) >= batch_size:  # items or frames
                flush(writer)
        if pending:
            flush(writer)
    return counts


def _frame_reader(video: Path, info: MediaInfo, fps: float) -> ReadFrames:
    """``read(start, count)`` over the source; ``count=None`` reads to the end."""
    if info.is_still:
        still = read_image(video)
        still.setflags(write=False)

        def read_still(start: int, count: int | None) -> Iterator[np.ndarray]:
            for _ in range(1 if count is None else count):
                yield still

        return read_still
    reader = VideoReader(info, fps=fps)
    return lambda start, count: reader.frames(start=start, count=count)
