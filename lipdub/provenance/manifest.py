"""The C2PA manifest (content credentials) of a dub: written after encoding, read by verify.

The manifest's actions assertion says the video was opened from the source (an ingredient
with relationship ``parentOf``; c2pa embeds the source's own manifest there when it has
one) and then edited by an algorithm: action ``c2pa.edited`` with the IPTC digital source
type *composite with trained algorithmic media*; lipdub and its version are the claim
generator and the software agent, and the generator and its model are parameters.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lipdub import __version__
from lipdub.errors import OutputError
from lipdub.media.writer import partial_path
from lipdub.provenance.keys import SigningKey

#: The C2PA action for an edit of the source's content.
EDITED = "c2pa.edited"
#: The C2PA action that names the source as the parent ingredient (must come first).
OPENED = "c2pa.opened"
#: IPTC digital source type: the source, with parts made by a trained algorithm.
DIGITAL_SOURCE_TYPE = (
    "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
)
#: Containers a manifest can be embedded in, by file suffix.
MIME_TYPES = {".mp4": "video/mp4", ".m4v": "video/x-m4v", ".mov": "video/quicktime"}
#: Source formats c2pa can read as an ingredient, by suffix (others are named, not read).
INGREDIENT_TYPES = {
    **MIME_TYPES,
    ".avi": "video/avi",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
}
_SOURCE_LABEL = "lipdub.source"


@dataclass(frozen=True)
class DubFacts:
    """What the manifest and the tags say about a dub."""

    generator: str
    #: The generator's weights or model (e.g. a checkpoint file name), when it has one.
    model: str | None = None
    source: Path | None = None

    def parameters(self) -> dict[str, str]:
        values = {"generator": self.generator}
        if self.model:
            values["model"] = self.model
        return values


def can_embed(path: Path) -> bool:
    """Whether a manifest can be embedded in a file with ``path``'s suffix."""
    return path.suffix.lower() in MIME_TYPES


def definition(facts: DubFacts, title: str, with_parent: bool) -> dict[str, Any]:
    """The manifest definition c2pa's Builder takes."""
    agent = {"name": "lipdub", "version": __version__}
    edited = {
        "action": EDITED,
        "digitalSourceType": DIGITAL_SOURCE_TYPE,
        "softwareAgent": agent,
        "description": "lips redrawn to match a new audio track",
        "parameters": facts.parameters(),
    }
    first: dict[str, Any]
    if with_parent:
        first = {"action": OPENED, "parameters": {"ingredientIds": [_SOURCE_LABEL]}}
    else:
        first = {"action": "c2pa.created", "digitalSourceType": DIGITAL_SOURCE_TYPE}
    return {
        "claim_generator_info": [agent],
        "title": title,
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [first, edited]}}],
    }


#: Signing holds about this many times the video in memory (c2pa-python 0.38 buffers it:
#: a 303 MB MP4 peaked at 628 MB).
SIGNING_MEMORY_FACTOR = 2.0


def available_memory() -> int | None:
    """Bytes of memory and swap free for use now (Linux ``/proc/meminfo``), None if unknown."""
    try:
        with open("/proc/meminfo") as stream:
            fields = dict(line.split(":", 1) for line in stream if ":" in line)
        return sum(int(fields[name].split()[0]) * 1024 for name in ("MemAvailable", "SwapFree"))
    except (OSError, KeyError, ValueError, IndexError):
        return None


def check_signing_memory(path: Path, title: str) -> None:
    """:class:`OutputError` when signing ``path`` would need more memory than is free (a
    clear line instead of the process being killed for memory)."""
    need = SIGNING_MEMORY_FACTOR * path.stat().st_size
    free = available_memory()
    if free is not None and need > free:
        raise OutputError(
            f"{title}: signing its C2PA manifest needs about {_size(need)} of memory and "
            f"{_size(free)} is free; free some memory or dub with --no-mark"
        )


def _size(count: float) -> str:
    return f"{count / 2**30:.1f} GB" if count >= 2**30 else f"{count / 2**20:.0f} MB"


def sign(path: Path, facts: DubFacts, key: SigningKey, title: str | None = None) -> None:
    """Embed a signed manifest in the finished video ``path`` (replaced atomically);
    ``title`` is the name the video will have (default: ``path``'s)."""
    import c2pa

    mime = MIME_TYPES.get(path.suffix.lower())
    if mime is None:
        raise OutputError(f"{path}: C2PA manifests need an MP4/MOV output")
    check_signing_memory(path, title or path.name)
    temp = partial_path(path)  # beside it, hidden, and always short enough for the folder
    try:
        signer = c2pa.Signer.from_info(
            c2pa.C2paSignerInfo(key.algorithm, key.certificate, key.private_key, None)
        )
        with signer:
            source_type = (
                INGREDIENT_TYPES.get(facts.source.suffix.lower()) if facts.source else None
            )
            builder = c2pa.Builder(definition(facts, title or path.name, source_type is not None))
            with builder:
                if source_type is not None and facts.source is not None:
                    ingredient = {
                        "title": facts.source.name,
                        "relationship": "parentOf",
                        "label": _SOURCE_LABEL,
                    }
                    with open(facts.source, "rb") as stream:
                        builder.add_ingredient(ingredient, source_type, stream)
                with open(path, "rb") as source, open(temp, "w+b") as dest:
                    builder.sign(signer, mime, source, dest)
        os.replace(temp, path)
    except c2pa.C2paError as exc:
        raise OutputError(
            f"could not sign the C2PA manifest of {path}: {_first_line(exc)}"
        ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200]


#: Said after an ingredient that carries its own manifest.
CREDENTIALS = " (with its own content credentials)"
#: Manifest states :func:`read` reports.
VALID, UNTRUSTED, INVALID, ABSENT = "valid", "untrusted signer", "invalid", "absent"


@dataclass
class ManifestReport:
    """What a file's C2PA manifest says, as verify shows it."""

    state: str
    claim_generator: str | None = None
    signer: str | None = None
    actions: list[str] = field(default_factory=list)
    digital_source_types: list[str] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    ingredients: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def synthetic(self) -> bool:
        """Whether the manifest declares algorithmic edits (and is not broken)."""
        return self.state in (VALID, UNTRUSTED) and DIGITAL_SOURCE_TYPE in self.digital_source_types

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def read(path: Path) -> ManifestReport:
    """The manifest embedded in ``path`` (state ``absent`` when there is none)."""
    import c2pa

    try:
        reader = c2pa.Reader.try_create(str(path))
    except c2pa.C2paError as exc:
        return ManifestReport(INVALID, failures=[_first_line(exc)])
    if reader is None:
        return ManifestReport(ABSENT)
    with reader:
        active = reader.get_active_manifest() or {}
        state = reader.get_validation_state() or ""
        results = reader.get_validation_results() or {}
    failures = [
        str(item.get("code")) for item in (results.get("activeManifest") or {}).get("failure", [])
    ]
    report = ManifestReport(_state(state, failures), failures=failures)
    generators = active.get("claim_generator_info") or []
    if generators:
        first = generators[0]
        report.claim_generator = " ".join(
            str(first[key]) for key in ("name", "version") if key in first
        )
    info = active.get("signature_info") or {}
    report.signer = info.get("common_name") or info.get("issuer")
    report.ingredients = [
        str(item.get("title")) + (CREDENTIALS if item.get("active_manifest") else "")
        for item in active.get("ingredients") or []
    ]
    for assertion in active.get("assertions") or []:
        if not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        for action in (assertion.get("data") or {}).get("actions", []):
            report.actions.append(str(action.get("action")))
            if action.get("digitalSourceType"):
                report.digital_source_types.append(str(action["digitalSourceType"]))
            if action.get("action") == EDITED:
                report.parameters.update(action.get("parameters") or {})
    return report


def _state(validation_state: str, failures: list[str]) -> str:
    if validation_state.lower() == "trusted":
        return VALID
    untrusted = {"signingCredential.untrusted"}
    if validation_state.lower() == "valid":
        return UNTRUSTED if set(failures) & untrusted else VALID
    if failures and set(failures) <= untrusted:
        return UNTRUSTED
    return INVALID
