"""The MFCC front end of the reference SyncNet evaluation.

The reference calls ``python_speech_features.mfcc(audio, sample_rate)`` with its defaults on
16-bit PCM samples (not rescaled to [-1, 1]); this is the same computation, vectorised:
pre-emphasis 0.97, 25 ms frames every 10 ms (rectangular window, zero-padded at the end), a
512-point power spectrum, 26 triangular mel filters from 0 Hz to Nyquist, log, orthonormal
DCT-II, 13 coefficients, sinusoidal liftering (L = 22), and coefficient 0 replaced by the log
frame energy. At 16 kHz and 25 fps, one video frame is 4 MFCC steps and a 5-frame SyncNet
window 20 steps.
"""

from __future__ import annotations

import decimal

import numpy as np
from scipy.fft import dct

NUM_CEPSTRA = 13
NUM_FILTERS = 26
FFT_SIZE = 512
WINDOW_SECONDS = 0.025
STEP_SECONDS = 0.01
PREEMPHASIS = 0.97
CEPSTRAL_LIFTER = 22


def _round_half_up(value: float) -> int:
    return int(
        decimal.Decimal(value).quantize(decimal.Decimal("1"), rounding=decimal.ROUND_HALF_UP)
    )


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filterbank(
    sample_rate: int, n_filters: int = NUM_FILTERS, n_fft: int = FFT_SIZE
) -> np.ndarray:
    """``(n_filters, n_fft // 2 + 1)`` triangular filters on FFT bins, 0 Hz to Nyquist."""
    mel_points = np.linspace(_hz_to_mel(0.0), _hz_to_mel(sample_rate / 2), n_filters + 2)
    bins = np.floor((n_fft + 1) * _mel_to_hz(mel_points) / sample_rate).astype(int)
    bank = np.zeros((n_filters, n_fft // 2 + 1))
    for j in range(n_filters):
        left, centre, right = bins[j], bins[j + 1], bins[j + 2]
        rising = np.arange(left, centre)
        bank[j, rising] = (rising - left) / (centre - left)
        falling = np.arange(centre, right)
        bank[j, falling] = (right - falling) / (right - centre)
    return bank


def _frames(signal: np.ndarray, length: int, step: int) -> np.ndarray:
    n = signal.size
    count = 1 if n <= length else 1 + int(np.ceil((n - length) / step))
    padded = np.zeros((count - 1) * step + length)
    padded[:n] = signal
    starts = np.arange(count)[:, None] * step
    return padded[starts + np.arange(length)[None, :]]


def mfcc(wav_int16: np.ndarray, sr: int = 16000) -> np.ndarray:
    """The reference MFCC of 16-bit samples (values in the int16 range), shape ``(13, T)``.

    ``T`` is ``1 + ceil((len - 0.025 sr) / (0.01 sr))`` (at least 1): 100 steps per second.
    """
    signal = np.asarray(wav_int16, dtype=np.float64).reshape(-1)
    if signal.size == 0:
        raise ValueError("mfcc needs at least one audio sample")
    if sr <= 0:
        raise ValueError(f"sample rate must be positive, got {sr}")
    emphasised = np.concatenate([signal[:1], signal[1:] - PREEMPHASIS * signal[:-1]])
    frames = _frames(
        emphasised, _round_half_up(WINDOW_SECONDS * sr), _round_half_up(STEP_SECONDS * sr)
    )
    frames = frames[:, :FFT_SIZE]  # longer frames are truncated to the FFT size
    power = np.abs(np.fft.rfft(frames, FFT_SIZE)) ** 2 / FFT_SIZE
    eps = np.finfo(float).eps
    energy = power.sum(axis=1)
    energy[energy == 0] = eps
    filtered = power @ mel_filterbank(sr).T
    filtered[filtered == 0] = eps
    cepstra = dct(np.log(filtered), type=2, axis=1, norm="ortho")[:, :NUM_CEPSTRA]
    lift = 1 + (CEPSTRAL_LIFTER / 2.0) * np.sin(np.pi * np.arange(NUM_CEPSTRA) / CEPSTRAL_LIFTER)
    cepstra = cepstra * lift
    cepstra[:, 0] = np.log(energy)
    return cepstra.T.copy()


def float_to_int16(wav: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] as 16-bit PCM values (what ``pcm_s16le`` decoding gives)."""
    return np.clip(np.round(np.asarray(wav, dtype=np.float64) * 32768.0), -32768, 32767).astype(
        np.int16
    )
