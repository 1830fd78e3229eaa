"""Cutting a feature sequence into one fixed-length window per video frame.

Wav2Lip gives each video frame the 16 mel columns (0.2 s) starting at ``int(i * 80 / fps)``;
the same rule serves any extractor (HuBERT: 50 frames/s, window 10).
"""

from __future__ import annotations

import numpy as np


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
    starts = np.array([int(i * step) for i in range(int(n_frames))], dtype=np.int64)
    return np.clip(starts, 0, max(int(n_features) - int(window), 0))


def frame_windows(features: np.ndarray, starts: np.ndarray, window: int) -> np.ndarray:
    """The ``window`` feature frames from each start: ``(T, D)`` -> ``(len(starts), window, D)``.

    Windows running past the end (only when ``T < window`` after :func:`window_starts`) repeat
    the last feature frame.
    """
    features = np.asarray(features)
    if features.ndim != 2 or features.shape[0] == 0:
        raise ValueError(f"features must be a non-empty (T, D) array, got shape {features.shape}")
    index = np.asarray(starts, dtype=np.int64)[:, None] + np.arange(int(window))[None, :]
    return features[np.clip(index, 0, features.shape[0] - 1)]
