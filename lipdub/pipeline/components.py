"""Choosing and building the components of a dub (``--generator auto`` lives here)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lipdub import defaults
from lipdub.components import (
    KINDS,
    AudioExtractor,
    Blender,
    FaceTracker,
    Generator,
    kind_of_prefix,
)
from lipdub.errors import InputError
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


#: Options per component kind word (``{"blender": {"feather": "0.1"}}``).
ComponentSettings = dict[str, dict[str, Any]]


def option_kinds() -> list[str]:
    """The ``KIND`` words ``--option KIND.KEY=VALUE`` accepts."""
    return [base.kind for base in KINDS.values()]


def parse_option_flags(flags: Iterable[str]) -> ComponentSettings:
    """``["blender.feather=0.1", ...]`` as ``{"blender": {"feather": "0.1"}}`` (values stay
    strings: each component's ``Options`` parses them); :class:`InputError` on a bad flag."""
    settings: ComponentSettings = {}
    for flag in flags:
        key, equals, value = flag.partition("=")
        kind, dot, name = key.strip().partition(".")
        if not equals or not dot or not name.strip() or not kind:
            raise InputError(
                f"--option {flag!r}: expected KIND.KEY=VALUE, e.g. blender.feather=0.1"
            )
        if kind_of_prefix(kind) is None:
            raise InputError(
                f"--option {flag!r}: unknown kind {kind!r} (kinds: {', '.join(option_kinds())})"
            )
        settings.setdefault(kind, {})[name.strip()] = value.strip()
    return settings


def merge_settings(*layers: Mapping[str, Mapping[str, Any]] | None) -> ComponentSettings:
    """Later layers win, key by key."""
    merged: ComponentSettings = {}
    for layer in layers:
        for kind, values in (layer or {}).items():
            merged.setdefault(kind, {}).update(values)
    return {kind: values for kind, values in merged.items() if values}


@dataclass(frozen=True)
class ComponentClasses:
    """The classes a dub will construct, with their validated options."""

    generator: type[Generator]
    extractor: type[AudioExtractor]
    tracker: type[FaceTracker]
    blender: type[Blender]
    #: The user's options per kind word (validated).
    options: ComponentSettings


def resolve_classes(
    generator: str,
    *,
    blender: str = defaults.BLENDER,
    tracker: str = defaults.TRACKER,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> ComponentClasses:
    """The component classes of a dub and their options, validated without constructing
    anything (no weights load): an unknown name, kind, key or a bad value fails here."""
    generator_cls = get_component("generators", generator)
    classes = {
        "generator": generator_cls,
        "extractor": get_component("audio_extractors", generator_cls.audio_extractor),
        "tracker": get_component("face_trackers", tracker),
        "blender": get_component("blenders", blender),
    }
    parsed: ComponentSettings = {}
    for kind, values in (options or {}).items():
        cls = classes.get(kind)
        if cls is None:
            if values:
                raise InputError(
                    f"--option {kind}.{next(iter(values))}: this dub has no {kind} "
                    f"(kinds: {', '.join(classes)})"
                )
            continue
        cls.parse_options(values)  # fails now, before anything is built
        parsed[kind] = dict(values)
    return ComponentClasses(options=parsed, **classes)  # type: ignore[arg-type]


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
    blender: str = defaults.BLENDER,
    tracker: str = defaults.TRACKER,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> Components:
    """Construct the named components with their ``options`` (per kind word); the
    generator's audio extractor follows from it and takes the generator's
    :meth:`~lipdub.components.Generator.extractor_defaults` under the user's options."""
    classes = resolve_classes(generator, blender=blender, tracker=tracker, options=options)
    empty: dict[str, Any] = {}
    built_generator = classes.generator(
        checkpoint=checkpoint,
        device=device,
        precision=precision,
        options=classes.options.get("generator"),
    )
    extractor_values = {
        **built_generator.extractor_defaults(),
        **classes.options.get("extractor", empty),
    }
    built_extractor = classes.extractor(extractor_values)
    built_generator.check_extractor(built_extractor)
    built_generator.load()
    return Components(
        generator=built_generator,
        extractor=built_extractor,
        tracker=classes.tracker(classes.options.get("tracker")),
        blender=classes.blender(classes.options.get("blender")),
    )
