"""Mouth–audio agreement: a weight-free sanity metric of lip sync.

Per video frame, the mouth opening (inner-lip gap over face height, from the face regions) is
correlated with the audio loudness in the speech band; the best Pearson r within a few frames
of lag, and that lag, say whether the lips move with the sound.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from lipdub import defaults
from lipdub.faces.regions import FaceRegions

SPEECH_BAND_HZ = (300.0, 3400.0)
LOUDNESS_FLOOR_DB = -50.0
DEFAULT_TRACKER = defaults.TRACKER


def eval_tracker(name: str = DEFAULT_TRACKER) -> Any:
    """A new instance of the registered face tracker ``name``, following one face if the
    tracker has a ``max_faces`` option."""
    from lipdub.plugins import get_component

    cls = get_component("face_trackers", name)
    fields = getattr(getattr(cls, "Options", None), "model_fields", {})
    return cls(max_faces=1) if "max_faces" in fields else cls()


def largest_regions(tracker: Any, frame: np.ndarray) -> FaceRegions | None:
    """The regions of the largest face ``tracker`` finds in ``frame`` with regions, or None."""
    faces = [face for face in tracker.detect(frame) if face.regions is not None]
    if not faces:
        return None
    return max(faces, key=lambda face: face.area).regions


def mouth_openings(frames: Iterable[np.ndarray], tracker: str = DEFAULT_TRACKER) -> np.ndarray:
    """Inner-lip gap / face height per frame (NaN where no face is found) with the registered
    face tracker ``tracker``."""
    finder = eval_tracker(tracker)
    openings = []
    try:
        for frame in frames:
            regions = largest_regions(finder, frame)
            openings.append(np.nan if regions is None else opening_of(regions))
    finally:
        finder.close()
    return np.asarray(openings, dtype=np.float64)


def face_height(regions: FaceRegions) -> float:
    """Forehead-to-chin distance of a face (what the size metrics are divided by)."""
    return regions.face_height


def opening_of(regions: FaceRegions) -> float:
    """Inner-lip gap at the middle of the mouth / face height of one face."""
    return regions.mouth_opening


def loudness_per_frame(wav: np.ndarray, fps: float, n_frames: int, rate: int = 16000) -> np.ndarray:
    """Speech-band RMS level in dB (relative to the loudest frame, floored) per video frame."""
    from scipy.signal import butter, sosfiltfilt  # slow to import: only when measuring

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
