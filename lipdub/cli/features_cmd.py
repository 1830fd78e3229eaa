"""``lipdub features AUDIO -o OUT.npy``: an audio extractor's features as a (frames, dim) array."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lipdub.errors import InputError, OutputError


def extractor_options(
    model: str | None = None,
    layer: int | None = None,
    projected: bool | None = None,
    chunk_seconds: float | None = None,
    overlap_seconds: float | None = None,
) -> dict[str, Any]:
    """The extractor constructor kwargs for the options the user actually gave."""
    given = {
        "model": model,
        "layer": layer,
        "projected": projected,
        "chunk_seconds": chunk_seconds,
        "overlap_seconds": overlap_seconds,
    }
    return {name: value for name, value in given.items() if value is not None}


def features(
    audio: Annotated[Path, typer.Argument(help="Audio or video file to read the audio of.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the .npy array.")],
    extractor: Annotated[
        str, typer.Option("--extractor", "-e", help="Audio extractor name.")
    ] = "mel",
    model: Annotated[
        str | None,
        typer.Option(
            "--model", help="Model folder (save_pretrained) or hub id, for model extractors."
        ),
    ] = None,
    layer: Annotated[
        int | None, typer.Option("--layer", help="Hidden layer to use (default: the last).")
    ] = None,
    projected: Annotated[
        bool | None,
        typer.Option(
            "--projected/--hidden", help="ContentVec: projected (256-d) or hidden features."
        ),
    ] = None,
    chunk_seconds: Annotated[
        float | None,
        typer.Option(
            "--chunk-seconds", help="Chunk length for model extractors (default 5; 0 = none)."
        ),
    ] = None,
    overlap_seconds: Annotated[
        float | None,
        typer.Option("--overlap-seconds", help="Overlap between chunks (default 0.5)."),
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
    options = extractor_options(model, layer, projected, chunk_seconds, overlap_seconds)
    instance = extractor_class(**options)
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
