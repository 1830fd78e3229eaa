"""Mono audio samples that the analyses read a block at a time.

A :data:`Samples` is anything with a length whose slices give float32 arrays: a numpy array,
the :class:`~lipdub.spill.RowBlocks` an hour of decoded audio is spilled to
(:func:`lipdub.media.audio.stream_audio`), or a :class:`Shifted` view of either (a stem
fitted to the output's length, ``--audio-offset``). Code that reads samples through slices
and :func:`blocks` never holds more of them than a block.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np

from lipdub.spill import RowBlocks


class Samples(Protocol):
    """Mono samples: ``len()`` and ``[start:stop]`` (a float32 array) are all it takes."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: slice, /) -> np.ndarray: ...


#: Samples read at once by :func:`blocks` (64 s at 16 kHz, 4 MB).
BLOCK = 1 << 20


def is_stream(wav: object) -> bool:
    """Whether ``wav`` is spilled or shifted samples (read by slices), not array-like."""
    return isinstance(wav, RowBlocks | Shifted)


def mono(wav: Samples, dtype: Any = np.float32) -> Samples:
    """``wav`` as samples: an array flattened (and made ``dtype``; None keeps its own),
    spilled or shifted samples as they are."""
    if is_stream(wav):
        return wav
    return np.asarray(wav, dtype).reshape(-1)


def blocks(samples: Samples, size: int = BLOCK) -> Iterator[tuple[int, np.ndarray]]:
    """``(first sample, block)`` pairs covering ``samples``, ``size`` samples at a time."""
    for first in range(0, len(samples), size):
        yield first, samples[first : first + size]


def whole(samples: Samples) -> np.ndarray:
    """Every sample as one float32 array (no copy for an array)."""
    if isinstance(samples, np.ndarray):
        return np.asarray(samples, np.float32).reshape(-1)
    return np.asarray(samples[0 : len(samples)], np.float32)


def all_finite(samples: Samples) -> bool:
    """Whether ``samples`` hold no NaN or infinity (a float64 sum per block: no copy of the
    signal)."""
    return all(bool(np.isfinite(np.sum(block, dtype=np.float64))) for _, block in blocks(samples))


def digest(samples: Samples, sample_rate: int = 16000) -> str:
    """SHA-256 of the float32 samples and the sample rate (read a block at a time)."""
    hasher = hashlib.sha256(f"{sample_rate}:{(len(samples),)}:".encode())
    for _, block in blocks(samples):
        hasher.update(memoryview(np.ascontiguousarray(block, np.float32)).cast("B"))
    return hasher.hexdigest()


class Shifted:
    """``source`` delayed by ``shift`` samples (negative: advanced) and cut, or padded with
    silence, to ``length`` samples: sample ``n`` is ``source[n - shift]`` where that exists,
    else 0."""

    def __init__(self, source: Samples, length: int, shift: int = 0) -> None:
        self.source, self.length, self.shift = source, int(length), int(shift)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: slice) -> np.ndarray:
        start, stop, step = index.indices(self.length)
        if step != 1:
            raise ValueError("sample slices take no step")
        out = np.zeros(max(0, stop - start), np.float32)
        lo = max(start, self.shift)
        hi = min(stop, self.shift + len(self.source))
        if hi > lo:
            out[lo - start : hi - start] = self.source[lo - self.shift : hi - self.shift]
        return out


def shifted(source: Samples, length: int, shift: int = 0) -> Samples:
    """:class:`Shifted`, or ``source`` itself when it would change nothing."""
    if shift == 0 and length == len(source):
        return source
    return Shifted(source, length, shift)
