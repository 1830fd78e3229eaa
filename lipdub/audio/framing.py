"""Short-time frames of a signal, a block of rows at a time (memory flat in its length)."""

from __future__ import annotations

import numpy as np

from lipdub.audio.samples import Samples


def centred_frames(samples: Samples, first: int, last: int, hop: int, size: int) -> np.ndarray:
    """Rows ``first:last`` of the ``size``-sample frames centred on samples ``j * hop``
    (zeros beyond either end of ``samples``), ``(last - first, size)`` float32: a strided view
    of one copy of the samples the block covers."""
    start = first * hop - size // 2
    segment = np.zeros((last - first - 1) * hop + size, np.float32)
    lo, hi = max(start, 0), min(start + len(segment), len(samples))
    if hi > lo:
        segment[lo - start : hi - start] = samples[lo:hi]
    return np.lib.stride_tricks.sliding_window_view(segment, size)[::hop]


def row_power_db(samples: Samples, hop: int, rows: int, block: int = 4096) -> np.ndarray:
    """Mean power (dB, + 1e-12) of each of ``rows`` consecutive ``hop``-sample rows of
    ``samples`` (zeros past its end), ``block`` rows at a time."""
    out = np.empty(rows, np.float64)
    for first in range(0, rows, block):
        last = min(rows, first + block)
        chunk = np.zeros((last - first) * hop, np.float64)
        part = samples[first * hop : last * hop]
        chunk[: len(part)] = part
        out[first:last] = (chunk.reshape(-1, hop) ** 2).mean(axis=1)
    return 10.0 * np.log10(out + 1e-12)
