"""What a dub does to a redrawn face after the generator: the restorer (``--enhancer``), the
maskers (``--masker``) and the ``--quality`` presets that choose them.

``--quality``: ``fast`` = no restoration; ``balanced`` = today's default (the mask blender
alone); ``hq`` = a restorer plus the parsing and occlusion maskers whose models are in the
local cache (the weight-free occluder mask when no occlusion model is), with one line saying
what it used and what was missing. Nothing is ever downloaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lipdub.errors import InputError

QUALITIES = ("fast", "balanced", "hq")
#: Restorers ``hq`` tries, best first: (enhancer, weights name, its options).
HQ_ENHANCERS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("gfpgan", "gfpgan-1.4", {}),
    ("codeformer", "codeformer", {}),
    ("gfpgan", "gfpgan-1.3", {"version": "1.3"}),
    ("gpen", "gpen-bfr-512", {}),
    ("restoreformer", "restoreformer-plus-plus", {}),
    ("gfpgan", "gfpgan-1.2", {"version": "1.2"}),
    ("gpen", "gpen-bfr-256", {"size": 256}),
)
#: Maskers ``hq`` adds when one of their models is local: (masker, weights names, best first).
HQ_MASKERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("parsing", ("bisenet-resnet-34", "bisenet-resnet-18")),
    ("occlusion", ("xseg-1", "xseg-2", "xseg-3")),
)


@dataclass(frozen=True)
class Finishing:
    """The restorer and maskers of a dub, and the option defaults its preset chose."""

    enhancer: str | None = None
    #: The restorer's model file (``--checkpoint-enhancer``; wins over the cache).
    enhancer_checkpoint: Path | None = None
    maskers: tuple[str, ...] = ()
    quality: str = "balanced"
    #: Option defaults of the preset, per kind word (the user's ``--option`` wins).
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The one line ``--quality hq`` prints.
    note: str | None = None


def _local(name: str) -> bool:
    from lipdub.weights.registry import get_spec, local_path

    try:
        return local_path(get_spec(name)) is not None
    except InputError:
        return False


def choose_finishing(
    quality: str = "balanced",
    enhancer: str | None = None,
    enhancer_checkpoint: Path | None = None,
    maskers: Sequence[str] = (),
    blender: str = "mask",
) -> Finishing:
    """The :class:`Finishing` for the flags; :class:`InputError` on a bad combination."""
    quality = (quality or "balanced").strip().lower()
    if quality not in QUALITIES:
        raise InputError(f"--quality {quality!r}: use one of {', '.join(QUALITIES)}")
    chosen = list(dict.fromkeys(m.strip() for m in maskers if m.strip()))
    if enhancer_checkpoint is not None and enhancer is None and quality != "fast":
        enhancer = "gfpgan"
    if quality == "fast":
        if enhancer or enhancer_checkpoint:
            raise InputError("--quality fast runs no restorer: drop --enhancer or use hq")
        return Finishing(maskers=tuple(chosen), quality=quality)
    if quality == "balanced":
        return Finishing(enhancer, enhancer_checkpoint, tuple(chosen), quality)
    return _hq(enhancer, enhancer_checkpoint, chosen, blender)


def _hq(
    enhancer: str | None, checkpoint: Path | None, chosen: list[str], blender: str
) -> Finishing:
    used: list[str] = []
    missing: list[str] = []
    settings: dict[str, dict[str, Any]] = {}
    if enhancer is not None:
        used.append(f"{enhancer} ({checkpoint.name if checkpoint else 'as chosen'})")
    else:
        for name, weights, options in HQ_ENHANCERS:
            if _local(weights):
                enhancer = name
                settings["enhancer"] = dict(options)
                used.append(f"{name} ({weights})")
                break
        else:
            missing.append("a restorer (gfpgan-1.4, codeformer, gpen-bfr-512, ...)")
    for masker, names in HQ_MASKERS:
        if masker in chosen:
            used.append(masker)
            continue
        weights = next((n for n in names if _local(n)), None)
        if weights is None:
            missing.append(f"{names[0]} ({masker})")
            if masker == "occlusion" and blender == "mask":
                settings.setdefault("blender", {})["occluders"] = True
                used.append("weight-free occluder mask")
            continue
        chosen.append(masker)
        if weights != names[0]:
            settings.setdefault("masker", {})[f"{masker}.model"] = weights
        used.append(f"{masker} ({weights})")
    line = "quality hq: used " + (", ".join(used) or "nothing")
    if missing:
        line += "; missing " + ", ".join(missing) + " (`lipdub models pull NAME` adds them)"
    return Finishing(enhancer, checkpoint, tuple(chosen), "hq", settings, line)
