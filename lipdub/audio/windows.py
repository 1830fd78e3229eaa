"""Cutting a feature sequence into one fixed-length window per video frame.

Wav2Lip gives each video frame the 16 mel columns (0.2 s) starting at ``int(i * 80 / fps)``;
the same rule serves any extractor (HuBERT: 50 frames/s, window 10).
"""

from __future__ import annotations

import numpy as np

from lipdub.spill import RowBlocks


def window_starts(
    n_frames: int, video_fps: float, feature_fps: float, window: int, n_features: int
) -> np.ndarray:
    """Start index of each video frame's feature window, ``(n_frames,)`` int64.

    Frame ``i`` starts at ``int(i * feature_fps / video_fps)``, clamped to
    ``n_features - window`` so every window lies inside the ``n_features`` feature frames
    (0 when there are fewer than ``window`` of them).
    """
    if video_fps <= 0 or feature_fps <= 0:
        raise ValueError("frame rates must be positive")
    step = feature_fps / video_fps
    starts = (np.arange(int(n_frames), dtype=np.float64) * step).astype(np.int64)
    return np.clip(starts, 0, max(int(n_features) - int(window), 0))


def frame_windows(features: np.ndarray | RowBlocks, starts: np.ndarray, window: int) -> np.ndarray:
    """The ``window`` feature frames from each start: ``(T, D)`` -> ``(len(starts), window, D)``.

    Windows running past the end (only when ``T < window`` after :func:`window_starts`) repeat
    the last feature frame. ``features`` may be rows spilled to disk (:func:`spill_features`).
    """
    if isinstance(features, RowBlocks):
        rows, shape = len(features), (len(features), *features.shape)
    else:
        features = np.asarray(features)
        rows, shape = features.shape[0] if features.ndim else 0, features.shape
    if len(shape) != 2 or rows == 0:
        raise ValueError(f"features must be a non-empty (T, D) array, got shape {shape}")
    index = np.clip(
        np.asarray(starts, dtype=np.int64)[:, None] + np.arange(int(window))[None, :], 0, rows - 1
    )
    if isinstance(features, RowBlocks):
        return features.take(index.reshape(-1)).reshape(*index.shape, shape[1])
    return features[index]


#: Feature rows a dub keeps in memory; longer features move to a temporary file.
KEEP_FEATURE_ROWS = 1 << 15


def spill_features(features: np.ndarray) -> np.ndarray | RowBlocks:
    """``(T, D)`` features as they are when short, else as :class:`~lipdub.spill.RowBlocks`
    on disk (an hour of mel frames is 92 MB) for :func:`frame_windows` to read."""
    if len(features) <= KEEP_FEATURE_ROWS:
        return features
    store = RowBlocks(features.shape[1:], features.dtype, spill=True, keep_rows=0, what="features")
    store.extend(features)
    return store
