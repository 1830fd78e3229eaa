"""AV-HuBERT's audio input: 26 log filterbanks at 100 frames/s, stacked 4 to 104 dims at 25 fps.

As the official pipeline makes it (``python_speech_features.logfbank`` defaults on the raw
16-bit sample values: 25 ms rectangular frames every 10 ms, pre-emphasis 0.97, 512-point FFT,
natural log), then zero-padded to a multiple of 4 frames, stacked, cut or zero-padded to the
video's frame count and, when the checkpoint's task says ``normalize``, layer-normalised per
frame over its 104 values.
"""

from __future__ import annotations

import numpy as np
from lipdub.eval.syncnet_mfcc import float_to_int16, mel_filterbank

SAMPLE_RATE = 16000
NUM_FILTERS = 26
STACK = 4
WINDOW, STEP, FFT = 400, 160, 512
PREEMPHASIS = 0.97


def logfbank(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """``(frames, 26)`` log mel energies of int16-range samples (``1 + ceil((N - 400) / 160)``)."""
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"AV-HuBERT audio must be {SAMPLE_RATE} Hz, got {sample_rate}")
    signal = np.asarray(samples, dtype=np.float64).reshape(-1)
    if signal.size == 0:
        raise ValueError("logfbank needs at least one sample")
    emphasised = np.concatenate([signal[:1], signal[1:] - PREEMPHASIS * signal[:-1]])
    count = 1 if emphasised.size <= WINDOW else 1 + int(np.ceil((emphasised.size - WINDOW) / STEP))
    padded = np.zeros((count - 1) * STEP + WINDOW)
    padded[: emphasised.size] = emphasised
    frames = padded[np.arange(count)[:, None] * STEP + np.arange(WINDOW)[None, :]]
    power = np.abs(np.fft.rfft(frames, FFT)) ** 2 / FFT
    energies = power @ mel_filterbank(sample_rate, NUM_FILTERS, FFT).T
    energies[energies == 0] = np.finfo(float).eps
    return np.log(energies)


def stack_frames(fbank: np.ndarray, stack: int = STACK) -> np.ndarray:
    """``(ceil(frames / stack), stack * dim)``: row ``i`` holds frames ``stack*i`` onwards."""
    frames, dim = fbank.shape
    rows = -(-frames // stack)
    padded = np.zeros((rows * stack, dim), dtype=np.float32)
    padded[:frames] = fbank
    return padded.reshape(rows, stack * dim)


def audio_features(
    wav: np.ndarray,
    n_frames: int | None = None,
    normalize: bool = True,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """``(T, 104)`` float32 model input for float mono ``wav`` in [-1, 1] (T = ``n_frames``
    when given: rows cut or zero rows appended, as the official loader matches the video)."""
    stacked = stack_frames(logfbank(float_to_int16(wav), sample_rate).astype(np.float32))
    if n_frames is not None:
        if len(stacked) >= n_frames:
            stacked = stacked[:n_frames]
        else:
            stacked = np.pad(stacked, ((0, n_frames - len(stacked)), (0, 0)))
    if normalize:
        mean = stacked.mean(axis=1, keepdims=True)
        var = stacked.var(axis=1, keepdims=True)
        stacked = (stacked - mean) / np.sqrt(var + 1e-5)
    return stacked.astype(np.float32)
