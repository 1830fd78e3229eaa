"""Find a transformers model folder locally (a ``save_pretrained`` directory or the HF cache).

Nothing here loads weights: the folder is resolved and fingerprinted first, so that a feature
cache hit never has to load the model.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from lipdub.errors import InputError, WeightsMissingError

WEIGHT_SUFFIXES = (".safetensors", ".bin")
_SAMPLE_BYTES = 1 << 20


@dataclass(frozen=True)
class ResolvedModel:
    """A model folder on disk, what the user called it, and a fingerprint of its files."""

    label: str
    path: Path
    fingerprint: str


def looks_like_path(model: str) -> bool:
    """Whether ``model`` names a directory rather than a hub id like ``org/name``."""
    return (
        os.path.isabs(model)
        or model.startswith((".", "~"))
        or "\\" in model
        or model.count("/") > 1
        or os.path.exists(model)
    )


def weight_files(folder: Path) -> list[Path]:
    """The weight files of a ``save_pretrained`` folder, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in WEIGHT_SUFFIXES)


def fingerprint(folder: Path) -> str:
    """A digest of ``config.json`` and of each weight file's name, size, head and tail.

    Reading whole checkpoints on every run would cost seconds; head, tail and size change
    whenever the weights are replaced by different ones.
    """
    digest = hashlib.sha256()
    digest.update((folder / "config.json").read_bytes())
    for path in weight_files(folder):
        size = path.stat().st_size
        digest.update(f"{path.name}:{size}".encode())
        with path.open("rb") as handle:
            digest.update(handle.read(_SAMPLE_BYTES))
            if size > _SAMPLE_BYTES:
                handle.seek(max(_SAMPLE_BYTES, size - _SAMPLE_BYTES))
                digest.update(handle.read())
    return digest.hexdigest()[:16]


def _check_folder(folder: Path, what: str) -> None:
    if not (folder / "config.json").is_file():
        raise WeightsMissingError(
            f"{what} folder {str(folder)!r} has no config.json; pass --model a folder written "
            "by save_pretrained"
        )
    if not weight_files(folder):
        raise WeightsMissingError(
            f"{what} folder {str(folder)!r} has no weights (*.safetensors or *.bin)"
        )


def _missing(model: str, what: str, pull_name: str, reason: str = "") -> WeightsMissingError:
    why = f" ({reason})" if reason else ""
    return WeightsMissingError(
        f"{what} model {model!r} is not available locally{why}; pass --model DIR (a "
        f"save_pretrained folder) or run `lipdub models pull {pull_name}` when online"
    )


def _from_hub(model: str, what: str, pull_name: str) -> Path:
    """The local copy of hub id ``model`` in the Hugging Face cache; never downloads (a dub
    must not reach the network: ``lipdub models pull`` does that)."""
    from huggingface_hub import snapshot_download

    patterns = ["*.json", "*.safetensors", "*.bin", "*.txt"]
    try:
        return Path(snapshot_download(model, local_files_only=True, allow_patterns=patterns))
    except Exception:  # not in the cache, or not a valid id
        raise _missing(model, what, pull_name) from None


def resolve_model(model: str, what: str, pull_name: str) -> ResolvedModel:
    """Locate ``model`` (a folder or a hub id) without loading it.

    A folder must exist and hold ``config.json`` and weights. A hub id is looked up in the
    Hugging Face cache and downloaded only when HF offline mode is off; when it cannot be had a
    :class:`WeightsMissingError` says how to get it.
    """
    if looks_like_path(model):
        folder = Path(model).expanduser()
        if not folder.exists():
            raise InputError(f"{what} model folder {str(folder)!r} does not exist")
        if not folder.is_dir():
            raise InputError(
                f"{what} model {str(folder)!r} is a file; pass the folder written by "
                "save_pretrained"
            )
        label = folder.resolve().name
    else:
        folder = _from_hub(model, what, pull_name)
        label = model
    _check_folder(folder, what)
    return ResolvedModel(label=label, path=folder, fingerprint=fingerprint(folder))
