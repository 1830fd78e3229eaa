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
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from lipdub import spill
from lipdub.components import FaceTracker
from lipdub.faces.detections import Detections
from lipdub.faces.regions import POINTS
from lipdub.faces.tracks import APPEARANCE
from lipdub.media.filemode import apply_umask

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


def write_detections(stream: BinaryIO, found: Detections, complete: bool) -> None:
    """``found`` into ``stream`` as an ``.npz`` of flat arrays (one row per face), written a
    block of rows at a time (an hour of faces is never copied into one array)."""
    ends = found.ends()
    n = int(ends[-1]) if len(ends) else 0
    meta = np.array([found.width, found.height, int(complete), FORMAT], np.int64)
    columns = {
        "meta": (meta.shape, meta.dtype, lambda a, b: meta[a:b]),
        "shots": ((found.n_frames,), np.int32, lambda a, b: np.asarray(found.shots[a:b])),
        "frame": ((n,), np.int32, lambda a, b: np.searchsorted(ends, np.arange(a, b), "right")),
        "box": ((n, 4), np.float32, lambda a, b: found.table.boxes.take(np.arange(a, b))),
        "score": ((n,), np.float32, lambda a, b: found.table.scores.take(np.arange(a, b))),
        "detector_box": (
            (n, 4),
            np.float32,
            lambda a, b: found.table.detector_boxes.take(np.arange(a, b)),
        ),
        "has_regions": ((n,), bool, lambda a, b: found.table.has_regions.take(np.arange(a, b))),
        "regions": (
            (n, POINTS, 2),
            np.float32,
            lambda a, b: found.table.points.take(np.arange(a, b)),
        ),
        "appearance": (
            (n, APPEARANCE),
            np.float64,
            lambda a, b: found.appearances.take(np.arange(a, b)),
        ),
    }
    with zipfile.ZipFile(stream, "w", allowZip64=True) as archive:
        for name, (shape, dtype, rows) in columns.items():
            header = {
                "descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                "fortran_order": False,
                "shape": shape,
            }
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array_header_2_0(member, header)
                for a in range(0, shape[0], spill.BLOCK_ROWS):
                    block = rows(a, min(shape[0], a + spill.BLOCK_ROWS))
                    member.write(np.ascontiguousarray(block, dtype).tobytes())


def _blocks(archive: zipfile.ZipFile, name: str) -> Iterator[np.ndarray]:
    """The array ``name`` of ``archive``, a block of rows at a time."""
    with archive.open(f"{name}.npy") as member:
        version = np.lib.format.read_magic(member)
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = read_header(member)
        if fortran:
            raise ValueError(f"{name}: Fortran order")
        row = dtype.itemsize * int(np.prod(shape[1:], dtype=np.int64))
        left = shape[0]
        while left:
            count = min(left, spill.BLOCK_ROWS)
            data = member.read(count * row)
            if len(data) != count * row:
                raise ValueError(f"{name}: truncated")
            yield np.frombuffer(data, dtype).reshape(count, *shape[1:])
            left -= count


def read_detections(path: Path) -> tuple[Detections, bool]:
    """The detections :func:`write_detections` stored in ``path``, and whether they reach
    the video's end."""
    with zipfile.ZipFile(path) as archive:
        whole = {name: np.concatenate(list(_blocks(archive, name))) for name in ("meta", "shots")}
        width, height, complete, _ = (int(v) for v in whole["meta"])
        found = Detections(width, height)
        found.shots = whole["shots"].tolist()
        parts = ("box", "score", "detector_box", "has_regions", "regions")
        streams = [_blocks(archive, name) for name in parts]
        for block in zip(*streams, strict=True):
            found.table.extend(*block)
        for block in _blocks(archive, "appearance"):
            found.appearances.extend(block)
        frames = np.concatenate([np.zeros(0, np.int64), *_blocks(archive, "frame")])
        found.set_ends(np.searchsorted(frames, np.arange(len(found.shots)), "right"))
    return found, bool(complete)


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
            found, complete = read_detections(path)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
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
                write_detections(stream, found, complete)
            os.replace(temp, path)
        except OSError as error:
            log.warning("analysis not cached: %s", error)
            Path(temp).unlink(missing_ok=True)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
