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
    #: Plain HTTPS addresses of ``filename``, tried after ``repos``. With no ``sha256``
    #: published, a pull checks the size (within :data:`SIZE_TOLERANCE` of ``size``) only.
    urls: tuple[str, ...] = ()
    #: The option that takes a local copy instead (``--avhubert`` for the AV-HuBERT metrics).
    option: str = "--checkpoint"

    def sources(self) -> list[str]:
        """Where the file comes from, for messages (``Hugging Face owner/repo``, addresses)."""
        return [f"Hugging Face {repo}" for repo in self.repos] + list(self.urls)


#: How far a download without a published digest may be from the registered size.
SIZE_TOLERANCE = 0.1


def normalise_name(name: str) -> str:
    """Registry names are case-insensitive and treat ``_`` like ``-``."""
    return name.strip().lower().replace("_", "-")
