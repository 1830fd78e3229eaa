"""An on-disk cache of a video's first pass (shots and every face found), so that dubbing the
same video again, e.g. with a second language, skips decoding it for analysis.

Entries are keyed by the video's content, the tracker with its options, the frame rate and
the shot-cut threshold (:func:`analysis_key`), and stored compactly (regions, boxes and
appearances as arrays; no raw landmarks) as ``ROOT/<k[:2]>/<key>.npz``. An entry made for
the first ``n`` frames also serves any dub that needs no more of them; one that reached the
end of the video serves every dub. ``--no-cache`` neither reads nor writes entries.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from lipdub.components import FaceTracker
from lipdub.faces.regions import POINTS, FaceRegions
from lipdub.media.filemode import apply_umask
from lipdub.pipeline.analysis import Detections
from lipdub.types import Face

log = logging.getLogger(__name__)

#: Bumped whenever what the first pass finds, or how it is stored, changes.
FORMAT = 1
#: Files up to this size are hashed whole; larger ones by size and sampled blocks.
WHOLE_HASH_BYTES = 64 << 20
SAMPLE_BYTES = 1 << 20
SAMPLES = 16


def default_cache_dir() -> Path:
    """``$LIPDUB_HOME/analysis``, else the user cache directory's ``lipdub/analysis``."""
    from lipdub.weights.registry import lipdub_home

    return lipdub_home() / "analysis"


def content_digest(path: Path) -> str:
    """SHA-256 naming a file's content: all of it up to :data:`WHOLE_HASH_BYTES`, else its
    size and :data:`SAMPLES` evenly spaced blocks (an edit that keeps the size and misses
    every block is not noticed; such files do not come out of video editors)."""
    size = path.stat().st_size
    digest = hashlib.sha256(f"{size}:".encode())
    with open(path, "rb") as stream:
        if size <= WHOLE_HASH_BYTES:
            for block in iter(lambda: stream.read(SAMPLE_BYTES), b""):
                digest.update(block)
        else:
            for k in range(SAMPLES):
                stream.seek((size - SAMPLE_BYTES) * k // (SAMPLES - 1))
                digest.update(stream.read(SAMPLE_BYTES))
    return digest.hexdigest()


def tracker_identity(tracker: FaceTracker) -> str:
    """The tracker's :meth:`~lipdub.components.FaceTracker.identity` (class, name, options
    and, for trackers with weight files, those files)."""
    return tracker.identity()


def analysis_key(video: Path, tracker: FaceTracker, fps: float, scene_threshold: float) -> str:
    """The cache key of the first pass over ``video`` with these settings."""
    parts = [
        f"format={FORMAT}",
        content_digest(video),
        tracker_identity(tracker),
        f"fps={fps!r}",
        f"scene={scene_threshold!r}",
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def pack(found: Detections, complete: bool) -> dict[str, np.ndarray]:
    """``found`` as flat arrays (one row per face)."""
    faces = [(index, face) for index, frame in enumerate(found.faces) for face in frame]
    appearances = [a for frame in found.appearances for a in frame]
    width = len(appearances[0]) if appearances else 0
    nan4 = (np.nan,) * 4
    return {
        "meta": np.array([found.width, found.height, int(complete), FORMAT], np.int64),
        "shots": np.asarray(found.shots, np.int32),
        "frame": np.array([i for i, _ in faces], np.int32),
        "box": np.array([f.box for _, f in faces], np.float32).reshape(-1, 4),
        "score": np.array([f.score for _, f in faces], np.float32),
        "detector_box": np.array([f.detector_box or nan4 for _, f in faces], np.float32).reshape(
            -1, 4
        ),
        "has_regions": np.array([f.regions is not None for _, f in faces], bool),
        "regions": np.array(
            [np.zeros((POINTS, 2)) if f.regions is None else f.regions.points for _, f in faces],
            np.float32,
        ).reshape(-1, POINTS, 2),
        "appearance": np.array(appearances, np.float64).reshape(len(appearances), width),
    }


def _box(values: np.ndarray) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = (float(v) for v in values)
    return x1, y1, x2, y2


def unpack(arrays: dict[str, np.ndarray]) -> tuple[Detections, bool]:
    """The detections stored by :func:`pack`, and whether they reach the video's end."""
    width, height, complete, _ = (int(v) for v in arrays["meta"])
    shots = arrays["shots"].tolist()
    faces: list[list[Face]] = [[] for _ in shots]
    appearances: list[list[np.ndarray]] = [[] for _ in shots]
    for row, index in enumerate(arrays["frame"].tolist()):
        detector = arrays["detector_box"][row]
        regions = arrays["regions"][row]
        face = Face(
            box=_box(arrays["box"][row]),
            score=float(arrays["score"][row]),
            regions=FaceRegions(regions) if arrays["has_regions"][row] else None,
            detector_box=None if np.isnan(detector).all() else _box(detector),
        )
        faces[index].append(face)
        appearances[index].append(arrays["appearance"][row].copy())
    return Detections(shots, faces, appearances, width, height), bool(complete)


class AnalysisCache:
    """First-pass results stored under ``root`` (default :func:`default_cache_dir`)."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def load(self, key: str, frames: int | None) -> Detections | None:
        """The cached detections of the first ``frames`` frames (None: all), or None when
        there is no entry that covers them (or it cannot be read)."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as stored:
                found, complete = unpack({name: stored[name] for name in stored.files})
        except (OSError, ValueError, KeyError) as error:
            log.warning("ignoring unreadable analysis cache entry %s (%s)", path, error)
            return None
        if not complete and (frames is None or frames > found.n_frames):
            return None
        return found.prefix(frames)

    def save(self, key: str, found: Detections, complete: bool) -> None:
        """Store ``found`` (``complete``: it reaches the end of the video); a failure to
        write is logged, never fatal."""
        path = self.path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        except OSError as error:
            log.warning("analysis not cached: %s", error)
            return
        try:
            apply_umask(handle)
            with os.fdopen(handle, "wb") as stream:
                np.savez(stream, **pack(found, complete))
            os.replace(temp, path)
        except OSError as error:
            log.warning("analysis not cached: %s", error)
            Path(temp).unlink(missing_ok=True)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
