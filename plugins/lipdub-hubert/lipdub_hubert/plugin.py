"""The ``lipdub`` entry point: registers the extractors and generators of this distribution."""

from __future__ import annotations

from collections.abc import Callable

from lipdub.hookspecs import hookimpl


@hookimpl
def register_audio_extractors(register: Callable[[type], None]) -> None:
    from lipdub_hubert.contentvec import ContentVecExtractor
    from lipdub_hubert.hubert import HubertExtractor

    register(HubertExtractor)
    register(ContentVecExtractor)


@hookimpl
def register_generators(register: Callable[[type], None]) -> None:
    from lipdub_hubert.generators import Wav2LipContentVecGenerator, Wav2LipHubertGenerator

    register(Wav2LipHubertGenerator)
    register(Wav2LipContentVecGenerator)
