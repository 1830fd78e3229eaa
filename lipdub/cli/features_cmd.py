"""``lipdub features AUDIO -o OUT.npy``: an audio extractor's features as a (frames, dim) array."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lipdub.errors import InputError, OutputError

#: Help for the extractor-option flags that are kept as hidden shorthands.
_SHORTHAND = "Short for --option extractor.{}=VALUE."


def extractor_options(option: list[str] | None = None, **shorthands: Any) -> dict[str, Any]:
    """The extractor's options from ``--option extractor.KEY=VALUE`` flags and the shorthand
    flags the user gave (``None`` values are left out; ``--option`` wins)."""
    from lipdub.pipeline.components import parse_option_flags

    settings = parse_option_flags(option or [])
    other = sorted(kind for kind in settings if kind != "extractor")
    if other:
        raise InputError(f"--option {other[0]}.…: this command only takes extractor options")
    given = {name: value for name, value in shorthands.items() if value is not None}
    return {**given, **settings.get("extractor", {})}


def features(
    audio: Annotated[Path, typer.Argument(help="Audio or video file to read the audio of.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the .npy array.")],
    extractor: Annotated[
        str, typer.Option("--extractor", "-e", help="Audio extractor name.")
    ] = "mel",
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-O",
            help="An extractor option, extractor.KEY=VALUE (repeatable); "
            "`lipdub plugins --options` lists them.",
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Model folder (save_pretrained) or hub id; short for --option extractor.model=M.",
        ),
    ] = None,
    layer: Annotated[
        int | None, typer.Option("--layer", hidden=True, help=_SHORTHAND.format("layer"))
    ] = None,
    projected: Annotated[
        bool | None,
        typer.Option("--projected/--hidden", hidden=True, help=_SHORTHAND.format("projected")),
    ] = None,
    chunk_seconds: Annotated[
        float | None,
        typer.Option("--chunk-seconds", hidden=True, help=_SHORTHAND.format("chunk_seconds")),
    ] = None,
    overlap_seconds: Annotated[
        float | None,
        typer.Option("--overlap-seconds", hidden=True, help=_SHORTHAND.format("overlap_seconds")),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Neither read nor write the cache.")
    ] = False,
    cache_dir: Annotated[
        Path | None,
        typer.Option("--cache-dir", help="Feature cache folder (default: $LIPDUB_HOME/features)."),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing output.")
    ] = False,
) -> None:
    """Write the audio features of AUDIO as a (frames, dim) float32 .npy array."""
    from lipdub.audio.cache import FeatureCache, save_npy_atomic
    from lipdub.audio.features import compute_features_info
    from lipdub.plugins import get_component

    if output.suffix.lower() != ".npy":
        raise OutputError(f"output {str(output)!r} must end in .npy")
    if output.exists() and not overwrite:
        raise OutputError(f"output {str(output)!r} exists; pass --overwrite to replace it")
    if not audio.is_file():
        raise InputError(f"audio file {str(audio)!r} does not exist")
    if output.resolve() == audio.resolve():
        raise OutputError("the output would overwrite the input audio")
    extractor_class = get_component("audio_extractors", extractor)
    options = extractor_options(
        option,
        model=model,
        layer=layer,
        projected=projected,
        chunk_seconds=chunk_seconds,
        overlap_seconds=overlap_seconds,
    )
    instance = extractor_class(options)
    try:
        from lipdub.media.audio import load_audio

        wav = load_audio(audio, instance.sample_rate)
        cache = None if no_cache else FeatureCache(cache_dir)
        result = compute_features_info(wav, instance, cache)
    finally:
        instance.close()
    save_npy_atomic(output, result.features)
    source = "cache" if result.cache_hit else "computed"
    frames, dim = result.features.shape
    typer.echo(
        f"{output}: {frames} frames x {dim} ({instance.name}, {source}, {result.seconds:.2f} s)"
    )


def register(app: typer.Typer) -> None:
    """Add ``features`` to ``app``."""
    app.command("features")(features)
