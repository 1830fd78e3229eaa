"""The value type of the weights registry: :class:`WeightSpec` (a leaf module: it imports
nothing of the plugin machinery, so ``lipdub.hookspecs`` may refer to it)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class WeightSpec:
    """A public checkpoint: where it is hosted and how to check it."""

    name: str
    filename: str
    sha256: str
    size: int
    #: Hugging Face repositories hosting ``filename``, tried in order.
    repos: tuple[str, ...]
    description: str = ""
    licence: str = ""
    #: Names of components that use it (shown by ``lipdub models list``).
    used_by: tuple[str, ...] = field(default_factory=tuple)
    #: A whole Hugging Face model repository (transformers format) rather than one file. It
    #: is stored in the Hugging Face cache; no digests are published for its files, so a pull
    #: checks that the files arrived, not their contents. ``filename`` and ``sha256`` are
    #: empty and ``size`` is approximate.
    snapshot: bool = False
    #: Which files of a snapshot repository to fetch.
    snapshot_patterns: tuple[str, ...] = ("*.json", "*.safetensors", "*.txt")


def normalise_name(name: str) -> str:
    """Registry names are case-insensitive and treat ``_`` like ``-``."""
    return name.strip().lower().replace("_", "-")
