"""The dub pipeline: media in → shots and faces → audio features → generator → blender → out.

:func:`dub` checks the request, probes the inputs once, loads the components and hands them
to a :class:`~lipdub.pipeline.run.DubRun`. Its first pass (shots, faces;
:meth:`DubRun.analyse`) keeps compact per-frame metadata and is cached per video; the second
(:class:`~lipdub.pipeline.stages.FrameLoop`) decodes, generates, blends and encodes in
overlapping stages. Per-frame steps on the finished frame go in ``FrameLoop.finish_frame``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from lipdub import defaults
from lipdub.errors import InputError
from lipdub.faces.selection import parse_face_mode
from lipdub.media.audio import stream_audio
from lipdub.media.containers import container_for
from lipdub.media.encoder import EncoderSettings, check_settings
from lipdub.media.media_info import scaled
from lipdub.media.probe import MediaInfo, probe
from lipdub.media.writer import check_output_path
from lipdub.pipeline import drive_audio as drives
from lipdub.pipeline.components import Components, build_components, choose_generator
from lipdub.pipeline.pads import pads_note
from lipdub.pipeline.progress import ProgressCallback, StageTimer, no_progress
from lipdub.pipeline.request import DubRequest, DubSummary
from lipdub.pipeline.run import DubRun
from lipdub.plugins import get_component

#: Largest picture a dub accepts (8K UHD): memory per frame in flight stays bounded.
MAX_FRAME_PIXELS = 7680 * 4320

__all__ = ["DubRequest", "DubSummary", "check_inputs", "components_for", "default_output", "dub"]


def default_output(video: Path) -> Path:
    """``<video>_dubbed.mp4`` beside the input."""
    return video.with_name(f"{video.stem}_dubbed.mp4")


def check_frame_size(video: Path, info: MediaInfo) -> None:
    """InputError for pictures larger than :data:`MAX_FRAME_PIXELS` (memory stays bounded)."""
    width, height = info.width or 0, info.height or 0
    if width * height > MAX_FRAME_PIXELS:
        raise InputError(
            f"{video}: {width}x{height} is {width * height / 1e6:.0f} megapixels, more than "
            f"lipdub handles ({MAX_FRAME_PIXELS / 1e6:.0f}, 8K UHD); scale it down first, "
            "e.g. ffmpeg -i IN -vf scale=-2:2160 OUT"
        )


def check_inputs(request: DubRequest) -> tuple[MediaInfo, MediaInfo]:
    """Probe the inputs once (InputError for unusable ones); their media info for the run."""
    video_info = probe(request.video)
    if not video_info.has_video:
        raise InputError(f"{request.video}: has no video stream")
    check_frame_size(request.video, video_info)
    video_info = scaled(video_info, request.resize_factor, request.output_height)
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
        finishing=request.finishing,
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
    video_info, audio_info = check_inputs(request)
    check_settings(EncoderSettings(request.codec, request.preset, request.crf))
    output = request.output or default_output(request.video)
    stems = drives.driving_files(request.speakers, request.drive_audio)
    check_output_path(output, [request.video, request.audio, *stems.values()], request.overwrite)
    container_for(output)  # an extension lipdub cannot write fails before any work

    with timer("audio"):
        wav = stream_audio(audio_info, defaults.ANALYSIS_SAMPLE_RATE)  # on disk when long

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
        run = DubRun(request, output, video_info, wav, choice, components, progress, timer, started)
        del wav  # the run lets its samples go once their features are measured
        return run.execute()
    finally:
        if own_components:
            components.close()
