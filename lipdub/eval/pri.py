"""PRI (SyncTalklip): how well each video window picks out its own audio among N candidates.

For ``N`` aligned (audio, video) embedding pairs the ``N x N`` matrix of L1 distances between
video window ``i`` and audio window ``j`` is built; the rank of the matching pair in row ``i``
is 1 + the number of audio windows strictly closer than the matching one (rank 1 = the smallest
distance). ``PRI = sum(ranks) / N**2``: ``1/N`` when every window is closest to its own audio
(perfect sync), about ``0.5`` when audio and video are unrelated. Lower is better.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lipdub.eval.lse import _as_array

#: Windows per block when building the distance matrix (bounds memory to block x N x D).
_BLOCK = 64


def diagonal_ranks(video_emb: Any, audio_emb: Any) -> np.ndarray:
    """Per video window ``i``: the rank (1 = closest) of audio window ``i`` by L1 distance."""
    video = _as_array(video_emb).astype(np.float64)
    audio = _as_array(audio_emb).astype(np.float64)
    if video.shape != audio.shape:
        raise ValueError(f"PRI needs N aligned pairs; got {video.shape} and {audio.shape}")
    if video.shape[0] == 0:
        raise ValueError("PRI needs at least one pair")
    ranks = np.empty(video.shape[0], dtype=np.int64)
    for start in range(0, video.shape[0], _BLOCK):
        rows = video[start : start + _BLOCK]
        dists = np.abs(rows[:, None, :] - audio[None, :, :]).sum(axis=2)  # (block, N)
        own = dists[np.arange(rows.shape[0]), np.arange(start, start + rows.shape[0])]
        ranks[start : start + rows.shape[0]] = 1 + (dists < own[:, None]).sum(axis=1)
    return ranks


def pri(video_emb: Any, audio_emb: Any) -> float:
    """``sum(ranks) / N**2`` over ``N`` aligned embedding pairs (lower is better)."""
    ranks = diagonal_ranks(video_emb, audio_emb)
    return float(ranks.sum() / ranks.size**2)
