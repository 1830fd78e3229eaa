"""``lipdub dub VIDEO --audio AUDIO`` (also reachable as plain ``lipdub VIDEO --audio AUDIO``)."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from lipdub.cli.render import RichProgress, err_console, summary_table
from lipdub.errors import InputError
from lipdub.pipeline.dub import DubRequest, dub
from lipdub.pipeline.fit import FitPolicy
from lipdub.pipeline.progress import no_progress

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def parse_pads(values: list[int] | None) -> tuple[int, int, int, int]:
    """``--pads TOP BOTTOM LEFT RIGHT`` (Wav2Lip's convention)."""
    if not values:
        return (0, 10, 0, 0)
    if len(values) != 4:
        raise InputError("--pads takes four numbers: TOP BOTTOM LEFT RIGHT (pixels)")
    top, bottom, left, right = (int(v) for v in values)
    return top, bottom, left, right


def dub_command(
    video: Path = typer.Argument(..., help="Video (any format ffmpeg reads) or a still image."),
    audio: Path = typer.Option(
        ..., "--audio", "-a", help="The new audio: an audio file or a video with an audio stream."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Output file (default: <video>_dubbed.mp4 beside the input)."
    ),
    generator: str = typer.Option(
        "auto",
        "--generator",
        "-g",
        help="Generator: auto (wav2lip-gan when its weights are local, else warp), "
        "wav2lip, wav2lip-gan, warp, or one from a plugin.",
    ),
    checkpoint: Path | None = typer.Option(
        None, "--checkpoint", "-c", help="Generator weights file (always wins over the cache)."
    ),
    blender: str = typer.Option("mask", "--blender", help="mask (feathered face mask) or box."),
    tracker: str = typer.Option("mediapipe", "--tracker", help="Face tracker."),
    model: str | None = typer.Option(
        None, "--model", help="Audio feature model for generators that need one (path or id)."
    ),
    face: str = typer.Option(
        "largest", "--face", help="Which face to redraw: largest, center or N (0 = leftmost)."
    ),
    pads: list[int] | None = typer.Option(
        None, "--pads", help="Grow the face box: --pads TOP BOTTOM LEFT RIGHT (default 0 10 0 0)."
    ),
    fps: float | None = typer.Option(
        None, "--fps", help="Output frame rate for a still image (default 25)."
    ),
    fit: list[str] | None = typer.Option(
        None,
        "--fit",
        help="Length policy. Audio longer than video: pingpong (default), loop, freeze. "
        "Audio shorter: trim (default: end with the audio) or keep (rest of the video "
        "untouched, dub padded with silence). Repeat or comma-separate: --fit loop,keep.",
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    precision: str = typer.Option("auto", "--precision", help="auto, fp32, bf16 or fp16."),
    fp32: bool = typer.Option(False, "--fp32", help="Force full fp32 precision."),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1, help="Generator batch."),
    scene_threshold: float = typer.Option(
        27.0, "--scene-threshold", help="Shot-cut sensitivity (PySceneDetect content threshold)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
    no_cache: bool = typer.Option(
        False, "--no-cache", help="Recompute audio features instead of using the feature cache."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or summary."),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More logs (-v, -vv)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
) -> None:
    """Redraw the mouth in VIDEO to match AUDIO and write a new video."""
    if verbose:
        logging.getLogger().setLevel(logging.INFO if verbose == 1 else logging.DEBUG)
    if precision not in PRECISIONS:
        raise InputError(f"--precision must be one of {', '.join(PRECISIONS)}")
    if fps is not None and fps <= 0:
        raise InputError("--fps must be positive")
    request = DubRequest(
        video=video,
        audio=audio,
        output=output,
        generator=generator,
        checkpoint=checkpoint,
        blender=blender,
        tracker=tracker,
        face=face,
        pads=parse_pads(pads),
        fps=fps,
        fit=FitPolicy.parse(fit),
        device=device,
        precision="fp32" if fp32 else precision,
        batch_size=batch_size,
        scene_threshold=scene_threshold,
        overwrite=overwrite,
        feature_cache=not no_cache,
        extractor_options={"model": model} if model else {},
    )

    def notify(line: str) -> None:
        if not quiet:
            err_console.print(line, highlight=False)

    if quiet:
        summary = dub(request, no_progress, notify=notify)
    else:
        with RichProgress() as progress:
            summary = dub(request, progress, notify=notify)
        err_console.print(summary_table(summary))


def register(app: typer.Typer) -> None:
    """Add the ``dub`` command."""
    app.command("dub")(dub_command)
