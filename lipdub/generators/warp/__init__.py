"""Weight-free lip sync: the ``warp`` generator and the ``articulation`` audio extractor."""

from __future__ import annotations

from typing import Any

from lipdub.generators.warp.articulation import ArticulationExtractor
from lipdub.generators.warp.generator import WarpGenerator, render_mouth
from lipdub.hookspecs import hookimpl

__all__ = ["ArticulationExtractor", "WarpGenerator", "render_mouth"]


@hookimpl
def register_generators(register: Any) -> None:
    """Register the warp generator."""
    register(WarpGenerator)


@hookimpl
def register_audio_extractors(register: Any) -> None:
    """Register the articulation audio extractor."""
    register(ArticulationExtractor)
