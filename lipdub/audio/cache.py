"""An on-disk cache of audio features keyed by audio content and extractor identity."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from lipdub.audio import samples
from lipdub.audio.samples import Samples
from lipdub.errors import OutputError
from lipdub.media.filemode import apply_umask


def default_cache_dir() -> Path:
    """``$LIPDUB_HOME/features``, else the user cache directory's ``lipdub/features``."""
    from lipdub.weights.registry import lipdub_home

    return lipdub_home() / "features"


def save_npy_atomic(path: Path, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` via a temporary file and a rename (no half-written files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        apply_umask(handle)
        with os.fdopen(handle, "wb") as stream:
            np.save(stream, array, allow_pickle=False)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


class FeatureCache:
    """Features stored as ``ROOT/<k[:2]>/<key>.npy``; ``key`` from :meth:`key`.

    With ``best_effort`` (a dub), a cache that cannot be written gives one warning and the
    run carries on without it; otherwise :meth:`put` raises OutputError.
    """

    def __init__(self, root: Path | str | None = None, best_effort: bool = False) -> None:
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()
        self.best_effort = best_effort
        #: Set once a best-effort cache failed to write (later writes are not tried).
        self.disabled = False

    @staticmethod
    def key(wav: Samples, extractor_identity: str, sample_rate: int = 16000) -> str:
        """The cache key of ``wav`` processed by the extractor whose identity is given."""
        digest = hashlib.sha256(samples.digest(wav, sample_rate).encode())
        digest.update(b"\0" + extractor_identity.encode())
        return digest.hexdigest()

    def path(self, key: str) -> Path:
        """Where the features for ``key`` live."""
        return self.root / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        """The cached features, or ``None`` (a damaged entry is removed and counts as a miss)."""
        path = self.path(key)
        try:
            if not path.is_file():
                return None
        except OSError:  # an unreadable cache folder: a miss
            return None
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
            return None

    def put(self, key: str, features: np.ndarray) -> Path | None:
        """Store ``features`` under ``key`` atomically; the file (None: best effort failed)."""
        path = self.path(key)
        if self.disabled:
            return None
        try:
            save_npy_atomic(path, np.ascontiguousarray(features))
        except OSError as exc:
            if self.best_effort:
                self.disabled = True
                warnings.warn(
                    f"cannot write the feature cache in {str(self.root)!r} "
                    f"({exc.strerror or exc}); carrying on without it (--no-cache skips it)",
                    UserWarning,
                    stacklevel=2,
                )
                return None
            raise OutputError(
                f"cannot write the feature cache in {str(self.root)!r} ({exc.strerror or exc}); "
                "pass --cache-dir or --no-cache"
            ) from None
        return path
