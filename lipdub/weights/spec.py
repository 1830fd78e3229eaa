"""The value type of the weights registry: :class:`WeightSpec` (a leaf module: it imports
nothing of the plugin machinery, so ``lipdub.hookspecs`` may refer to it)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class WeightSpec:
    """A public checkpoint: where it is hosted and how to check it."""

    name: str
    filename: str
    #: The published SHA-256 (hex), or its first digits where only those are published
    #: (torch hub file names such as ``name-1a2b3c4d5e.pth``); empty: none published.
    sha256: str
    #: Bytes (0: not published).
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
    #: published, a pull checks the size (within :data:`SIZE_TOLERANCE` of ``size``) only,
    #: or, with ``size`` 0 (not published either), that a file arrived.
    urls: tuple[str, ...] = ()
    #: The option that takes a local copy instead (``--avhubert`` for the AV-HuBERT metrics).
    option: str = "--checkpoint"

    @property
    def size_text(self) -> str:
        """``"1234 MB"``, or ``"size not published"`` when ``size`` is 0 (unknown)."""
        return f"{self.size / 1e6:.0f} MB" if self.size else "size not published"

    def sources(self) -> list[str]:
        """Where the file comes from, for messages (``Hugging Face owner/repo``, addresses)."""
        return [f"Hugging Face {repo}" for repo in self.repos] + list(self.urls)


#: How far a download without a published digest may be from the registered size.
SIZE_TOLERANCE = 0.1


def normalise_name(name: str) -> str:
    """Registry names are case-insensitive and treat ``_`` like ``-``."""
    return name.strip().lower().replace("_", "-")
