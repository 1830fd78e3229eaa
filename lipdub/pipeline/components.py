"""Choosing and building the components of a dub (``--generator auto`` lives here)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lipdub.components import AudioExtractor, Blender, FaceTracker, Generator
from lipdub.plugins import components, get_component
from lipdub.weights.registry import get_spec, is_available

#: Neural generators ``auto`` prefers, best first, when their weights are in the cache.
AUTO_PREFERENCE = ("wav2lip-gan", "wav2lip")
#: What ``auto`` falls back to when no weights are available.
WEIGHT_FREE = "warp"


@dataclass(frozen=True)
class GeneratorChoice:
    """The generator to use and a one-line note on why (for ``auto``)."""

    name: str
    note: str | None = None


def choose_generator(name: str, checkpoint: Path | None) -> GeneratorChoice:
    """Resolve ``auto``: a neural generator whose weights are local, else the weight-free one.

    Never downloads anything.
    """
    if name != "auto":
        return GeneratorChoice(name)
    available = components("generators")
    neural = [n for n in AUTO_PREFERENCE if n in available]
    if checkpoint is not None and neural:
        return GeneratorChoice(neural[0], f"generator: {neural[0]} (auto, --checkpoint given)")
    for candidate in neural:
        weights = available[candidate].cls.default_weights
        if weights is not None and is_available(weights):
            return GeneratorChoice(candidate, f"generator: {candidate} (auto, cached weights)")
    hint = ""
    if neural:
        spec = get_spec(available[neural[0]].cls.default_weights or neural[0])
        hint = (
            f"; for neural lip-sync run `lipdub models pull {spec.name}` or pass --checkpoint PATH"
        )
    return GeneratorChoice(WEIGHT_FREE, f"generator: {WEIGHT_FREE} (auto, no weights found){hint}")


@dataclass
class Components:
    """The built components of one dub."""

    generator: Generator
    extractor: AudioExtractor
    tracker: FaceTracker
    blender: Blender

    def close(self) -> None:
        for part in (self.generator, self.extractor, self.tracker, self.blender):
            part.close()


def build_components(
    generator: str,
    *,
    checkpoint: Path | None = None,
    device: str = "auto",
    precision: str = "auto",
    blender: str = "mask",
    tracker: str = "mediapipe",
    extractor_options: dict[str, Any] | None = None,
    generator_options: dict[str, Any] | None = None,
    tracker_options: dict[str, Any] | None = None,
) -> Components:
    """Construct the named components (the generator's audio extractor follows from it)."""
    generator_cls = get_component("generators", generator)
    extractor_cls = get_component("audio_extractors", generator_cls.audio_extractor)
    blender_cls = get_component("blenders", blender)
    tracker_cls = get_component("face_trackers", tracker)
    built_generator = generator_cls(
        checkpoint=checkpoint,
        device=device,
        precision=precision,
        **(generator_options or {}),
    )
    options = {**built_generator.extractor_defaults(), **(extractor_options or {})}
    built_extractor = extractor_cls(**options)
    built_generator.check_extractor(built_extractor)
    built_generator.load()
    return Components(
        generator=built_generator,
        extractor=built_extractor,
        tracker=tracker_cls(**(tracker_options or {})),
        blender=blender_cls(),
    )
