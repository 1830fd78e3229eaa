"""Mouth–audio agreement: a weight-free sanity metric of lip sync.

Per video frame, the mouth opening (inner-lip gap over face height, from the face mesh) is
correlated with the audio loudness in the speech band; the best Pearson r within a few frames
of lag, and that lag, say whether the lips move with the sound.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, sosfiltfilt

from lipdub.faces.landmarks import CHIN, FOREHEAD, LOWER_LIP_INNER_MID, UPPER_LIP_INNER_MID

SPEECH_BAND_HZ = (300.0, 3400.0)
LOUDNESS_FLOOR_DB = -50.0


def mouth_openings(frames: Iterable[np.ndarray]) -> np.ndarray:
    """Inner-lip gap / face height per frame (NaN where no face is found)."""
    from lipdub.faces.mediapipe_tracker import MediapipeTracker

    tracker = MediapipeTracker(max_faces=1)
    openings = []
    try:
        for frame in frames:
            faces = [f for f in tracker.detect(frame) if f.landmarks is not None]
            if not faces:
                openings.append(np.nan)
                continue
            openings.append(opening_of(max(faces, key=lambda f: f.area).landmarks))
    finally:
        tracker.close()
    return np.asarray(openings, dtype=np.float64)


def face_height(points: np.ndarray) -> float:
    """Forehead-to-chin distance of 468 face-mesh points (the size metrics are divided by)."""
    return float(np.linalg.norm(points[FOREHEAD] - points[CHIN]))


def opening_of(points: np.ndarray) -> float:
    """Inner-lip gap / face height of one face's 468 face-mesh points."""
    gap = np.linalg.norm(points[UPPER_LIP_INNER_MID] - points[LOWER_LIP_INNER_MID])
    return float(gap / max(face_height(points), 1e-6))


def loudness_per_frame(wav: np.ndarray, fps: float, n_frames: int, rate: int = 16000) -> np.ndarray:
    """Speech-band RMS level in dB (relative to the loudest frame, floored) per video frame."""
    sos = butter(4, SPEECH_BAND_HZ, btype="bandpass", fs=rate, output="sos")
    band = sosfiltfilt(sos, np.asarray(wav, dtype=np.float64))
    edges = np.round(np.arange(n_frames + 1) * rate / fps).astype(int)
    levels = np.full(n_frames, LOUDNESS_FLOOR_DB)
    for i in range(n_frames):
        chunk = band[edges[i] : edges[i + 1]]
        if chunk.size:
            levels[i] = 10 * np.log10(np.mean(chunk**2) + 1e-12)
    return np.maximum(levels - levels.max(), LOUDNESS_FLOOR_DB)


@dataclass(frozen=True)
class Agreement:
    """Best Pearson correlation of opening with loudness, and the lag (frames) it was found at.

    A positive lag means the mouth moves after the sound.
    """

    r: float
    lag: int
    frames: int


def best_lag_correlation(opening: np.ndarray, loudness: np.ndarray, max_lag: int = 3) -> Agreement:
    """Pearson r of ``opening[t + lag]`` with ``loudness[t]``, best over ``|lag| <= max_lag``.

    Frames where the opening is NaN (no face) are left out.
    """
    n = min(len(opening), len(loudness))
    best = Agreement(r=float("nan"), lag=0, frames=0)
    for lag in range(-max_lag, max_lag + 1):
        a = opening[max(0, lag) : n + min(0, lag)]
        b = loudness[max(0, -lag) : n - max(0, lag)]
        keep = np.isfinite(a) & np.isfinite(b)
        if keep.sum() < 3 or np.std(a[keep]) == 0 or np.std(b[keep]) == 0:
            continue
        r = float(np.corrcoef(a[keep], b[keep])[0, 1])
        if not np.isfinite(best.r) or r > best.r:
            best = Agreement(r=r, lag=lag, frames=int(keep.sum()))
    return best
