"""Choosing and building the components of a dub (``--generator auto`` lives here)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lipdub import defaults
from lipdub.components import (
    KINDS,
    AudioExtractor,
    Blender,
    Enhancer,
    FaceTracker,
    Generator,
    Masker,
    kind_of_prefix,
)
from lipdub.errors import InputError
from lipdub.pipeline.finishing import Finishing
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
    enhancer: type[Enhancer] | None = None
    maskers: tuple[type[Masker], ...] = ()


def resolve_classes(
    generator: str,
    *,
    blender: str = defaults.BLENDER,
    tracker: str = defaults.TRACKER,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    enhancer: str | None = None,
    maskers: Iterable[str] = (),
) -> ComponentClasses:
    """The component classes of a dub and their options, validated without constructing
    anything (no weights load): an unknown name, kind, key or a bad value fails here."""
    generator_cls = get_component("generators", generator)
    classes: dict[str, Any] = {
        "generator": generator_cls,
        "extractor": get_component("audio_extractors", generator_cls.audio_extractor),
        "tracker": get_component("face_trackers", tracker),
        "blender": get_component("blenders", blender),
    }
    if enhancer:
        classes["enhancer"] = get_component("enhancers", enhancer)
    masker_classes = tuple(get_component("maskers", name) for name in maskers)
    parsed: ComponentSettings = {}
    for kind, values in (options or {}).items():
        if kind == "masker" and values:
            if not masker_classes:
                raise InputError(f"--option masker.{next(iter(values))}: this dub has no masker")
            chosen = [masker_cls.name for masker_cls in masker_classes]
            for key in values:
                prefix, dot, _ = key.partition(".")
                if dot and prefix not in chosen:
                    raise InputError(
                        f"--option masker.{key}: no masker {prefix!r} in this dub "
                        f"(maskers: {', '.join(chosen)})"
                    )
            for masker_cls in masker_classes:
                masker_cls.parse_options(masker_values(values, masker_cls.name))
            parsed[kind] = dict(values)
            continue
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
    return ComponentClasses(options=parsed, maskers=masker_classes, **classes)


def masker_values(values: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The options of masker ``name`` from the ``masker`` kind's: ``KEY`` applies to every
    masker, ``NAME.KEY`` (``--option masker.occlusion.model=x.onnx``) to that one only."""
    shared = {key: value for key, value in values.items() if "." not in key}
    own = {
        key.partition(".")[2]: value
        for key, value in values.items()
        if key.partition(".")[0] == name and "." in key
    }
    return {**shared, **own}


@dataclass
class Components:
    """The built components of one dub."""

    generator: Generator
    extractor: AudioExtractor
    tracker: FaceTracker
    blender: Blender
    #: The restorer run after blending (``--enhancer``), if any.
    enhancer: Enhancer | None = None
    #: The maskers whose masks cap the blend (``--masker``).
    maskers: list[Masker] = field(default_factory=list)

    def close(self) -> None:
        for part in (self.generator, self.extractor, self.tracker, self.blender):
            part.close()
        for extra in (self.enhancer, *self.maskers):
            if extra is not None:
                extra.close()


def build_components(
    generator: str,
    *,
    checkpoint: Path | None = None,
    device: str = "auto",
    precision: str = "auto",
    blender: str = defaults.BLENDER,
    tracker: str = defaults.TRACKER,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    finishing: Finishing | None = None,
) -> Components:
    """Construct the named components with their ``options`` (per kind word); the
    generator's audio extractor follows from it and takes the generator's
    :meth:`~lipdub.components.Generator.extractor_defaults` under the user's options."""
    finishing = finishing or Finishing()
    classes = resolve_classes(
        generator,
        blender=blender,
        tracker=tracker,
        options=options,
        enhancer=finishing.enhancer,
        maskers=finishing.maskers,
    )
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
    built_enhancer = None
    if classes.enhancer is not None:
        built_enhancer = classes.enhancer(
            checkpoint=finishing.enhancer_checkpoint,
            device=device,
            options=classes.options.get("enhancer"),
        )
        built_enhancer.load()
    masker_options = classes.options.get("masker", empty)
    built_maskers = [
        cls(device=device, options=masker_values(masker_options, cls.name))
        for cls in classes.maskers
    ]
    for masker in built_maskers:
        masker.load()
    return Components(
        generator=built_generator,
        extractor=built_extractor,
        tracker=classes.tracker(classes.options.get("tracker")),
        blender=classes.blender(classes.options.get("blender")),
        enhancer=built_enhancer,
        maskers=built_maskers,
    )
