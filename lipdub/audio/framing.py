"""Short-time frames of a signal, a block of rows at a time (memory flat in its length)."""

from __future__ import annotations

import numpy as np


def centred_frames(samples: np.ndarray, first: int, last: int, hop: int, size: int) -> np.ndarray:
    """Rows ``first:last`` of the ``size``-sample frames centred on samples ``j * hop``
    (zeros beyond either end of ``samples``), ``(last - first, size)`` float32: a strided view
    of one copy of the samples the block covers."""
    start = first * hop - size // 2
    segment = np.zeros((last - first - 1) * hop + size, np.float32)
    lo, hi = max(start, 0), min(start + len(segment), len(samples))
    if hi > lo:
        segment[lo - start : hi - start] = samples[lo:hi]
    return np.lib.stride_tricks.sliding_window_view(segment, size)[::hop]
