"""Mel-frequency cepstral coefficients, 100 frames per second, in plain numpy + scipy."""

from __future__ import annotations

from functools import lru_cache
from typing import ClassVar

import numpy as np
from lipdub.components import AudioExtractor
from pydantic import Field, model_validator
from scipy.fft import dct

SAMPLE_RATE = 16000
HOP = 160  # 10 ms
WINDOW = 400  # 25 ms
N_FFT = 512
PRE_EMPHASIS = 0.97


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """The HTK mel scale."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


@lru_cache(maxsize=8)
def mel_filterbank(n_mels: int, low_hz: float = 20.0, high_hz: float = 7600.0) -> np.ndarray:
    """``(n_mels, N_FFT // 2 + 1)`` triangular filters, equally spaced on the mel scale."""
    edges = mel_to_hz(np.linspace(hz_to_mel(low_hz), hz_to_mel(high_hz), n_mels + 2))
    bins = np.fft.rfftfreq(N_FFT, 1.0 / SAMPLE_RATE)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - lower) / (centre - lower)
    falling = (upper - bins) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)


def deltas(features: np.ndarray, width: int = 2) -> np.ndarray:
    """Regression deltas over ``±width`` frames (edges repeated)."""
    padded = np.pad(features, ((width, width), (0, 0)), mode="edge")
    n = len(features)
    total = np.zeros_like(features, dtype=np.float32)
    for w in range(1, width + 1):
        total += w * (padded[width + w : width + w + n] - padded[width - w : width - w + n])
    return total / (2.0 * sum(w * w for w in range(1, width + 1)))


def mfcc(wav: np.ndarray, n_mfcc: int = 13, n_mels: int = 40) -> np.ndarray:
    """``(1 + len(wav) // 160, n_mfcc)`` MFCCs of 16 kHz mono ``wav`` (centred 25 ms frames)."""
    wav = np.asarray(wav, dtype=np.float32)
    emphasised = np.append(wav[:1], wav[1:] - PRE_EMPHASIS * wav[:-1])
    padded = np.pad(emphasised, (WINDOW // 2, WINDOW // 2))
    n_frames = 1 + len(wav) // HOP
    padded = np.pad(padded, (0, max(0, (n_frames - 1) * HOP + WINDOW - len(padded))))
    starts = np.arange(n_frames) * HOP
    frames = padded[starts[:, None] + np.arange(WINDOW)] * np.hamming(WINDOW).astype(np.float32)
    power = np.abs(np.fft.rfft(frames, n=N_FFT)) ** 2 / N_FFT
    energies = power @ mel_filterbank(n_mels).T
    log_energies = np.log(np.maximum(energies, 1e-10))
    return dct(log_energies, type=2, norm="ortho", axis=1)[:, :n_mfcc].astype(np.float32)


class MfccExtractor(AudioExtractor):
    """13 MFCCs (optionally with deltas) every 10 ms."""

    name: ClassVar[str] = "mfcc"
    description: ClassVar[str] = "MFCCs, 100 frames/s (example plugin, numpy + scipy)"
    frames_per_second: ClassVar[float] = SAMPLE_RATE / HOP
    sample_rate: ClassVar[int] = SAMPLE_RATE

    class Options(AudioExtractor.Options):
        n_mfcc: int = Field(13, ge=1, le=128, description="Cepstral coefficients per frame.")
        n_mels: int = Field(40, ge=2, le=128, description="Mel bands before the DCT.")
        deltas: bool = Field(False, description="Append regression deltas (doubles the width).")

        @model_validator(mode="after")
        def _fewer_coefficients_than_bands(self) -> MfccExtractor.Options:
            if self.n_mfcc > self.n_mels:
                raise ValueError(f"n_mfcc must be at most n_mels ({self.n_mels})")
            return self

    options: Options

    def extract(self, wav: np.ndarray) -> np.ndarray:
        """``(frames, n_mfcc)`` float32, or ``(frames, 2 * n_mfcc)`` with deltas."""
        coefficients = mfcc(wav, self.options.n_mfcc, self.options.n_mels)
        if self.options.deltas:
            coefficients = np.concatenate([coefficients, deltas(coefficients)], axis=1)
        return np.ascontiguousarray(coefficients, dtype=np.float32)
