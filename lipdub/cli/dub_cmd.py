"""``lipdub dub VIDEO --audio AUDIO`` (also reachable as plain ``lipdub VIDEO --audio AUDIO``).

The dub options are defined once (:func:`dub_options`) and shared with ``lipdub batch``
through :func:`with_dub_options`; :func:`request_from_options` turns their values into a
:class:`~lipdub.pipeline.dub.DubRequest`.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import typer

from lipdub import defaults
from lipdub.cli.checks import apply_box, check_before_progress, check_dub_values
from lipdub.cli.render import RichProgress, err_console, summary_json, summary_table
from lipdub.errors import InputError
from lipdub.media.encoder import EncoderSettings, check_settings
from lipdub.pipeline.components import (
    WEIGHT_FREE,
    GeneratorChoice,
    choose_generator,
    merge_settings,
    parse_option_flags,
    resolve_classes,
)
from lipdub.pipeline.drive_audio import check_offset, speaker_map
from lipdub.pipeline.dub import DubRequest, dub
from lipdub.pipeline.finishing import choose_finishing
from lipdub.pipeline.fit import FitPolicy
from lipdub.pipeline.preview import preview as preview_dub
from lipdub.pipeline.progress import no_progress
from lipdub.provenance.keys import signing_key
from lipdub.provenance.marking import NO_MARK_WARNING, summary_line

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def parse_pads(values: list[int] | None) -> tuple[int, int, int, int]:
    """``--pads TOP BOTTOM LEFT RIGHT`` (Wav2Lip's convention)."""
    if not values:
        return defaults.PADS
    if len(values) != 4:
        raise InputError(
            f"--pads takes four numbers: TOP BOTTOM LEFT RIGHT (pixels), got {len(values)}"
        )
    top, bottom, left, right = (int(v) for v in values)
    return top, bottom, left, right


def dub_options(
    generator: str = typer.Option(
        defaults.GENERATOR,
        "--generator",
        "-g",
        help="Generator: auto (wav2lip-gan when its weights are local, else warp), "
        "wav2lip, wav2lip-gan, warp, or one from a plugin.",
    ),
    checkpoint: Path | None = typer.Option(
        None, "--checkpoint", "-c", help="Generator weights file (always wins over the cache)."
    ),
    blender: str = typer.Option(
        defaults.BLENDER, "--blender", help="mask (feathered face mask), box, or a plugin's."
    ),
    tracker: str = typer.Option(defaults.TRACKER, "--tracker", help="Face tracker."),
    enhancer: str | None = typer.Option(
        None,
        "--enhancer",
        help="Restore the redrawn face: gfpgan, codeformer, gpen, restoreformer (ONNX; "
        "options via --option enhancer.KEY=VALUE, e.g. strength, region).",
    ),
    checkpoint_enhancer: Path | None = typer.Option(
        None,
        "--checkpoint-enhancer",
        help="The restorer's .onnx file (wins over the cache; implies --enhancer gfpgan).",
    ),
    masker: list[str] | None = typer.Option(
        None,
        "--masker",
        help="Keep pixels out of the blend: occlusion (XSeg), parsing (BiSeNet); repeatable. "
        "Options: --option masker.NAME.KEY=VALUE.",
    ),
    quality: str = typer.Option(
        "balanced",
        "--quality",
        help="fast (no restoration), balanced (default), hq (a restorer and maskers whose "
        "models are local; never downloads).",
    ),
    option: list[str] | None = typer.Option(
        None,
        "--option",
        "-O",
        help="A component option, KIND.KEY=VALUE (KIND: generator, blender, tracker, "
        "extractor, enhancer, masker); repeatable. `lipdub plugins --options` lists them.",
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        help="Audio feature model for generators that need one (path or id); "
        "short for --option extractor.model=M.",
    ),
    face: str = typer.Option(
        defaults.FACE,
        "--face",
        help="Which face to redraw: largest, center, speaker (the face that moves with the "
        "video's own audio), N (0 = leftmost; `lipdub faces` lists them) or an image of the "
        "person (ref.jpg).",
    ),
    allow_no_face: bool = typer.Option(
        False, "--allow-no-face", help="Write the video even when no frame could be redrawn."
    ),
    speakers: Path | None = typer.Option(
        None,
        "--speakers",
        help="Several speakers: a CSV with columns track,audio giving each face track "
        "(`lipdub faces` ids) its own driving stem; --audio is still the muxed mix.",
    ),
    audio_for: list[str] | None = typer.Option(
        None,
        "--audio-for",
        help="TRACK=FILE: drive face track TRACK with FILE (repeatable; wins over --speakers).",
    ),
    drive_audio: Path | None = typer.Option(
        None,
        "--drive-audio",
        help="A separate vocal stem that drives the lips; --audio is still what is muxed.",
    ),
    audio_offset: float = typer.Option(
        0.0,
        "--audio-offset",
        help="Shift the lips against the audio, in ms: positive moves them later, negative "
        "earlier (e.g. --audio-offset -40).",
    ),
    no_silence_closure: bool = typer.Option(
        False,
        "--no-silence-closure",
        help="Do not force the mouth closed in pauses of the driving audio (>= 200 ms; "
        "--option generator.min_pause_ms=MS).",
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
    batch_size: int | None = typer.Option(
        None,
        "--batch-size",
        min=1,
        help="Generator batch; short for --option generator.batch_size=N.",
    ),
    scene_threshold: float = typer.Option(
        defaults.SCENE_THRESHOLD,
        "--scene-threshold",
        help="Shot-cut sensitivity (PySceneDetect content threshold).",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
    strict: bool = typer.Option(
        False,
        "--strict",
        help="Fail instead of falling back (e.g. to the weight-free warp generator when "
        "--generator auto finds no weights).",
    ),
    no_cache: bool = typer.Option(
        False,
        "--no-cache",
        help="Recompute instead of using the caches: audio features and the video's analysis "
        "(shots, face tracks; reused when the same video is dubbed again).",
    ),
    codec: str = typer.Option(
        defaults.ENCODER_CODEC,
        "--codec",
        help="Video encoder: libx264, libx265, or h264_nvenc/hevc_nvenc (NVIDIA GPU).",
    ),
    preset: str = typer.Option(
        defaults.ENCODER_PRESET,
        "--preset",
        help="Encoder speed: ultrafast .. veryslow (x264 names; slower = smaller file).",
    ),
    crf: int = typer.Option(
        defaults.ENCODER_CRF, "--crf", help="Encoder quality, 0-51 (lower = better, bigger)."
    ),
    box: list[int] | None = typer.Option(
        None,
        "--box",
        help="A fixed face box, TOP BOTTOM LEFT RIGHT (pixels, -1: frame edge), when no face "
        "is detected (Wav2Lip's flag; no landmarks: use with wav2lip).",
    ),
    nosmooth: bool = typer.Option(
        False, "--nosmooth", help="Do not smooth the face track over time (Wav2Lip's flag)."
    ),
    resize_factor: int = typer.Option(
        1, "--resize-factor", help="Work and write at 1/N of the height (Wav2Lip's flag)."
    ),
    output_height: int | None = typer.Option(
        None, "--output-height", help="Work and write at this height (the width follows)."
    ),
    no_mark: bool = typer.Option(
        False,
        "--no-mark",
        help="Write no C2PA manifest, watermark or provenance tags (AI-edited video must "
        "be marked under the EU AI Act; see docs/provenance.md).",
    ),
    sign_cert: Path | None = typer.Option(
        None,
        "--sign-cert",
        help="PEM certificate chain that signs the C2PA manifest (with --sign-key; default: "
        "this installation's local, untrusted key).",
    ),
    sign_key: Path | None = typer.Option(
        None, "--sign-key", help="PEM private key of --sign-cert."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or summary."),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More logs (-v, -vv)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
) -> None:
    """The options of every dub (only the signature is used)."""


#: Option names that configure a dub, with their defaults (``lipdub batch`` manifests may set
#: these per row).
DUB_OPTION_DEFAULTS: dict[str, Any] = {
    name: param.default.default
    for name, param in inspect.signature(dub_options, eval_str=True).parameters.items()
}


def with_dub_options(command: Callable[..., None]) -> Callable[..., None]:
    """Give ``command`` (which takes ``**options``) every option of :func:`dub_options`.

    Typer reads the combined signature; the command receives the dub options in ``options``.
    """
    keyword = inspect.Parameter.KEYWORD_ONLY
    own = [
        param.replace(kind=keyword)
        for param in inspect.signature(command, eval_str=True).parameters.values()
        if param.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    shared = [
        param.replace(kind=keyword)
        for param in inspect.signature(dub_options, eval_str=True).parameters.values()
    ]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> None:
        command(**kwargs)

    params = own + shared
    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {param.name: param.annotation for param in params}
    return wrapper


def apply_log_level(options: Mapping[str, Any]) -> None:
    """``-v`` / ``-vv``: more logs."""
    verbose = options.get("verbose") or 0
    if verbose:
        logging.getLogger().setLevel(logging.INFO if verbose == 1 else logging.DEBUG)


def is_fallback(choice: GeneratorChoice, asked: str) -> bool:
    """Whether ``--generator auto`` fell back to the weight-free generator."""
    return asked == "auto" and choice.name == WEIGHT_FREE


def fallback_note(request: DubRequest) -> str | None:
    """The note saying ``auto`` found no weights (shown even with ``-q``), if it did not."""
    choice = choose_generator(request.generator, request.checkpoint)
    return choice.note if is_fallback(choice, request.generator) else None


def check_mark_options(values: Mapping[str, Any]) -> None:
    """``--sign-cert``/``--sign-key`` are readable and go together, and not with --no-mark."""
    cert, key = values.get("sign_cert"), values.get("sign_key")
    if values.get("no_mark") and (cert or key):
        raise InputError("--no-mark writes no manifest: drop --sign-cert/--sign-key")
    if cert or key:
        signing_key(cert, key)


def request_from_options(
    video: Path, audio: Path, output: Path | None, options: Mapping[str, Any]
) -> DubRequest:
    """The :class:`DubRequest` for the given dub options (missing ones take their defaults)."""
    values = {**DUB_OPTION_DEFAULTS, **options}
    precision, fps = values["precision"], values["fps"]
    if precision not in PRECISIONS:
        raise InputError(f"--precision must be one of {', '.join(PRECISIONS)}")
    check_dub_values(values)
    check_settings(EncoderSettings(values["codec"], values["preset"], values["crf"]))
    if values["batch_size"] is not None and values["batch_size"] < 1:
        raise InputError("--batch-size must be at least 1")
    shorthands: dict[str, dict[str, Any]] = {}
    values = apply_box(values, shorthands)  # --box: the fixed-box tracker
    if values["batch_size"] is not None:
        shorthands["generator"] = {"batch_size": values["batch_size"]}
    if values["model"]:
        shorthands["extractor"] = {"model": values["model"]}
    if values["no_silence_closure"]:
        shorthands.setdefault("generator", {})["silence_closure"] = False
    finishing = choose_finishing(
        values["quality"],
        values["enhancer"],
        values["checkpoint_enhancer"],
        values["masker"] or (),
        values["blender"],
    )
    settings = merge_settings(
        finishing.settings, shorthands, parse_option_flags(values["option"] or [])
    )
    check_mark_options(values)
    choice = choose_generator(values["generator"], values["checkpoint"])
    if values.get("strict") and is_fallback(choice, values["generator"]):
        raise InputError(f"--strict: {choice.note}")
    generator = choice.name
    resolve_classes(  # unknown components or options fail here, before any work
        generator,
        blender=values["blender"],
        tracker=values["tracker"],
        options=settings,
        enhancer=finishing.enhancer,
        maskers=finishing.maskers,
    )
    return DubRequest(
        video=video,
        audio=audio,
        output=output,
        generator=values["generator"],
        checkpoint=values["checkpoint"],
        blender=values["blender"],
        tracker=values["tracker"],
        face=values["face"],
        pads=parse_pads(values["pads"]),
        fps=fps,
        fit=FitPolicy.parse(values["fit"]),
        device=values["device"],
        precision="fp32" if values["fp32"] else precision,
        scene_threshold=values["scene_threshold"],
        overwrite=values["overwrite"],
        feature_cache=not values["no_cache"],
        # A resized dub's faces are at another scale than a cached analysis of the video.
        analysis_cache=not values["no_cache"]
        and values["resize_factor"] == 1
        and values["output_height"] is None,
        codec=values["codec"],
        preset=values["preset"],
        crf=values["crf"],
        allow_no_face=values["allow_no_face"],
        speakers=speaker_map(values["speakers"], values["audio_for"], values["drive_audio"]),
        drive_audio=values["drive_audio"],
        audio_offset_ms=check_offset(values["audio_offset"]),
        smooth=not values["nosmooth"],
        resize_factor=values["resize_factor"],
        output_height=values["output_height"],
        options=settings,
        finishing=finishing,
        mark=not values["no_mark"],
        sign_cert=values["sign_cert"],
        sign_key=values["sign_key"],
    )


@with_dub_options
def dub_command(
    video: Path = typer.Argument(..., help="Video (any format ffmpeg reads) or a still image."),
    audio: Path = typer.Option(
        ..., "--audio", "-a", help="The new audio: an audio file or a video with an audio stream."
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        help="Output file: .mp4 (default: <video>_dubbed.mp4), .mov, .mkv, .webm, .avi.",
    ),
    json_summary: bool = typer.Option(
        False, "--json", help="Print the summary as JSON on stdout (instead of the table)."
    ),
    preview: bool = typer.Option(
        False,
        "--preview",
        help="Dub only the first seconds, with the mask outline drawn, to NAME.preview.EXT.",
    ),
    **options: Any,
) -> None:
    """Redraw the mouth in VIDEO to match AUDIO and write a new video."""
    apply_log_level(options)
    request = request_from_options(video, audio, output, options)
    quiet = options["quiet"]
    always = fallback_note(request)  # scripts must learn that they got the weight-free one
    if not request.mark:  # shown even with -q: the output is unmarked synthetic media
        err_console.print(f"[yellow]warning:[/] {NO_MARK_WARNING}", highlight=False, soft_wrap=True)
    if request.finishing.note:  # --quality hq: which models it used and which were missing
        err_console.print(request.finishing.note, highlight=False, soft_wrap=True)

    def notify(line: str) -> None:
        if not quiet or line == always:
            err_console.print(line, highlight=False, soft_wrap=True)

    run = preview_dub if preview else dub
    if quiet:
        summary = run(request, no_progress, notify=notify)
    else:
        check_before_progress(request)  # input errors: one line, no progress display first
        with RichProgress() as progress:
            summary = run(request, progress, notify=notify)
    if json_summary:
        typer.echo(summary_json(summary, request))
    elif not quiet:
        err_console.print(summary_table(summary, request))
        line = summary_line(request, summary.output)
        err_console.print(f"provenance: {line}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the ``dub`` command."""
    app.command("dub")(dub_command)
