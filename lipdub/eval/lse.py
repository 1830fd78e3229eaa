"""LSE-D / LSE-C and the AV offset from SyncNet embeddings, as the reference evaluation does it.

For every video window ``i`` the Euclidean distance to the audio windows ``i - vshift ..
i + vshift`` is taken (audio outside the clip counts as a zero embedding); averaging over ``i``
gives one mean distance per shift. LSE-D is the smallest mean distance (lower is better),
LSE-C the median over shifts minus that minimum (higher is better), and the AV offset is
``vshift - argmin``: video window ``i`` matches audio window ``i - offset`` best (a positive
offset means the picture comes that many frames after the sound).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.signal import medfilt

DEFAULT_VSHIFT = 15
#: ``torch.nn.functional.pairwise_distance`` adds this to the difference before the norm.
PAIRWISE_EPS = 1e-6
FRAMEWISE_MEDIAN_KERNEL = 9


def _as_array(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    array = np.asarray(x, dtype=np.float32)
    if array.ndim != 2:
        raise ValueError(f"embeddings must be (N, D), got shape {array.shape}")
    return array


def shift_distances(video_emb: Any, audio_emb: Any, vshift: int = DEFAULT_VSHIFT) -> np.ndarray:
    """``(N, 2 * vshift + 1)`` distances: row ``i``, column ``k`` compares video window ``i``
    with audio window ``i - vshift + k`` (a zero vector where that is outside the clip)."""
    video = _as_array(video_emb)
    audio = _as_array(audio_emb)
    if video.shape[1] != audio.shape[1]:
        raise ValueError(f"embedding sizes differ: {video.shape[1]} and {audio.shape[1]}")
    if vshift < 0:
        raise ValueError(f"vshift must be >= 0, got {vshift}")
    n, dim = video.shape
    padded = np.zeros((audio.shape[0] + 2 * vshift, dim), dtype=np.float32)
    padded[vshift : vshift + audio.shape[0]] = audio
    # Video i is compared with rows i .. i + 2*vshift of the padded audio (the reference pads
    # the audio sequence and slides a window of 2*vshift+1 along it).
    needed = n + 2 * vshift
    if padded.shape[0] < needed:
        padded = np.concatenate([padded, np.zeros((needed - padded.shape[0], dim), np.float32)])
    dists = np.empty((n, 2 * vshift + 1), dtype=np.float32)
    for k in range(2 * vshift + 1):
        diff = video.astype(np.float64) - padded[k : k + n] + PAIRWISE_EPS
        dists[:, k] = np.sqrt(np.sum(diff**2, axis=1))
    return dists


@dataclass(frozen=True)
class SyncScores:
    """LSE results of one clip: ``offset`` (frames), ``confidence`` (LSE-C), ``min_dist``
    (LSE-D), the mean distance per shift and the per-window confidence at the best shift."""

    offset: int
    confidence: float
    min_dist: float
    mean_dists: np.ndarray
    framewise_confidence: np.ndarray
    windows: int


def scores_from_distances(dists: np.ndarray, vshift: int) -> SyncScores:
    """LSE scores from a :func:`shift_distances` matrix (rows may come from several clips)."""
    if dists.ndim != 2 or dists.shape[0] == 0 or dists.shape[1] != 2 * vshift + 1:
        raise ValueError(f"need a non-empty (N, {2 * vshift + 1}) distance matrix")
    mean_dists = dists.mean(axis=0)
    best = int(np.argmin(mean_dists))  # first minimum, as torch.min returns
    median = float(np.median(mean_dists))  # odd count: the middle value, as torch.median
    framewise = median - dists[:, best]
    if framewise.size >= FRAMEWISE_MEDIAN_KERNEL:
        framewise = medfilt(framewise, kernel_size=FRAMEWISE_MEDIAN_KERNEL)
    return SyncScores(
        offset=vshift - best,
        confidence=median - float(mean_dists[best]),
        min_dist=float(mean_dists[best]),
        mean_dists=mean_dists,
        framewise_confidence=np.asarray(framewise, dtype=np.float32),
        windows=int(dists.shape[0]),
    )


def lse_from_embeddings(
    video_emb: Any, audio_emb: Any, vshift: int = DEFAULT_VSHIFT
) -> tuple[int, float, float]:
    """``(offset, conf, min_dist)`` = (AV offset, LSE-C, LSE-D) of aligned window embeddings.

    ``video_emb`` and ``audio_emb`` are ``(N, D)`` (numpy arrays or tensors), row ``i`` of each
    being the window starting at video frame ``i``.
    """
    scores = scores_from_distances(shift_distances(video_emb, audio_emb, vshift), vshift)
    return scores.offset, scores.confidence, scores.min_dist
