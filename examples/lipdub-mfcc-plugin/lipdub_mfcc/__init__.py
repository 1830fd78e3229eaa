"""lipdub plugin: registers the ``mfcc`` audio extractor."""

from __future__ import annotations

from collections.abc import Callable

from lipdub.hookspecs import hookimpl

__version__ = "0.1.0"


@hookimpl
def register_audio_extractors(register: Callable[[type], None]) -> None:
    """Called once by lipdub when it collects components."""
    from lipdub_mfcc.mfcc import MfccExtractor  # imported only when lipdub collects

    register(MfccExtractor)
