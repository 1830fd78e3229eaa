"""The Wav2Lip mel-spectrogram front end, in numpy/scipy (no librosa).

16 kHz audio, pre-emphasis 0.97, centred STFT (n_fft 800, hop 200, periodic Hann window of
800; zero padding by default, as librosa >= 0.10 does and as the reference data
``shared/reference/mel_reference.npz`` was made), magnitude, 80 Slaney-normalised mel bands
55-7600 Hz, amplitude to dB with a -100 dB floor, minus a 20 dB reference level, normalised
symmetrically to [-4, 4] with clipping. One column per 12.5 ms: 80 columns per second.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any, ClassVar, Literal

import numpy as np
import scipy.fft
from pydantic import Field

from lipdub.audio.samples import Samples, mono
from lipdub.components import AudioExtractor
from lipdub.hookspecs import hookimpl

SAMPLE_RATE = 16000
N_FFT = 800
HOP = 200
WIN = 800
N_MELS = 80
F_MIN = 55.0
F_MAX = 7600.0
PREEMPHASIS = 0.97
MIN_LEVEL_DB = -100.0
REF_LEVEL_DB = 20.0
MAX_ABS = 4.0
#: Mel columns per second of audio.
FRAMES_PER_SECOND = SAMPLE_RATE / HOP


def _hz_to_slaney_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear (3 per 200 Hz) below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3)
    log_step = np.log(6.4) / 27.0
    return np.where(hz >= 1000.0, 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / log_step, linear)


def _slaney_mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    log_step = np.log(6.4) / 27.0
    return np.where(mel >= 15.0, 1000.0 * np.exp(log_step * (mel - 15.0)), mel * (200.0 / 3))


@cache
def mel_filterbank() -> np.ndarray:
    """The ``(80, 401)`` float32 Slaney-normalised triangular mel filters."""
    fft_freqs = np.linspace(0.0, SAMPLE_RATE / 2, 1 + N_FFT // 2)
    edges_mel = np.linspace(_hz_to_slaney_mel(F_MIN), _hz_to_slaney_mel(F_MAX), N_MELS + 2)
    edges_hz = _slaney_mel_to_hz(edges_mel)
    widths = np.diff(edges_hz)
    offsets = edges_hz[:, None] - fft_freqs[None, :]
    rising = -offsets[:-2] / widths[:-1, None]
    falling = offsets[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]  # equal area per band
    weights = weights.astype(np.float32)
    weights.setflags(write=False)
    return weights


@cache
def _window(dtype: str) -> np.ndarray:
    # periodic Hann window (scipy's get_window("hann", WIN, fftbins=True))
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(WIN) / WIN)).astype(dtype)
    window.setflags(write=False)
    return window


#: STFT columns computed at once (about 51 s of audio): memory stays flat in the audio's length.
BLOCK_COLUMNS = 4096


def _emphasised(samples: Samples, start: int, stop: int, pad_mode: str) -> np.ndarray:
    """Samples ``start:stop`` (float64) of the pre-emphasised signal padded by ``N_FFT // 2``
    each side for centring: zeros (``"constant"``) or mirrored (``"reflect"``, when the signal
    is longer than the padding). Reads only the span of ``samples`` it needs."""
    count = len(samples)
    index = np.arange(start, stop) - N_FFT // 2
    if count == 0:
        return np.zeros(len(index))
    if pad_mode == "reflect" and count > N_FFT // 2:
        index = np.where(index < 0, -index, index)
        index = np.where(index >= count, 2 * (count - 1) - index, index)
    inside = (index >= 0) & (index < count)
    at = np.clip(index, 0, count - 1)
    low = max(int(at.min()) - 1, 0)
    span = np.asarray(samples[low : int(at.max()) + 1], np.float64)
    previous = np.where(at > 0, span[np.maximum(at - 1, 0) - low], 0.0)
    values = span[at - low] - PREEMPHASIS * previous
    values[~inside] = 0.0
    return values


def stft_magnitude_blocks(
    wav: Samples, dtype: str = "float64", pad_mode: str = "constant"
) -> Iterator[tuple[int, np.ndarray]]:
    """``|STFT|`` of pre-emphasised ``wav``, :data:`BLOCK_COLUMNS` columns at a time: pairs
    ``(first column, (columns, 401) array)``; ``1 + len(wav) // 200`` columns in all.

    ``pad_mode`` is how the signal is extended by 400 samples each side for centring:
    ``"constant"`` (zeros, librosa >= 0.10) or ``"reflect"`` (librosa < 0.10).
    """
    if pad_mode not in ("constant", "reflect"):
        raise ValueError(f"pad_mode must be 'constant' or 'reflect', not {pad_mode!r}")
    samples = mono(wav, dtype=None)
    columns = 1 + len(samples) // HOP
    for first in range(0, columns, BLOCK_COLUMNS):
        last = min(columns, first + BLOCK_COLUMNS)
        padded = _emphasised(samples, first * HOP, (last - 1) * HOP + N_FFT, pad_mode)
        frames = np.lib.stride_tricks.sliding_window_view(padded.astype(dtype), N_FFT)[::HOP]
        yield first, np.abs(scipy.fft.rfft(frames * _window(dtype), axis=1))


def melspectrogram(wav: Samples, fast: bool = False, pad_mode: str = "constant") -> np.ndarray:
    """The Wav2Lip mel spectrogram ``(80, T)`` float32 of 16 kHz float32 mono ``wav``.

    ``fast`` computes the STFT in float32 (about 5x faster; differs from the float64 result by
    ~1e-5 in normalised units). ``pad_mode`` only changes the first and last two columns.
    The STFT runs in blocks, so long audio needs little more memory than its mel frames.
    """
    dtype = "float32" if fast else "float64"
    wav = mono(wav, dtype=None)
    out = np.empty((N_MELS, 1 + len(wav) // HOP), np.float32)
    filters = mel_filterbank().astype(dtype, copy=False)
    min_level = 10.0 ** (MIN_LEVEL_DB / 20.0)
    for first, magnitude in stft_magnitude_blocks(wav, dtype, pad_mode):
        mel = filters @ magnitude.T
        decibels = 20.0 * np.log10(np.maximum(min_level, mel)) - REF_LEVEL_DB
        scaled = 2 * MAX_ABS * (decibels - MIN_LEVEL_DB) / -MIN_LEVEL_DB - MAX_ABS
        out[:, first : first + mel.shape[1]] = np.clip(scaled, -MAX_ABS, MAX_ABS)
    return out


class MelExtractor(AudioExtractor):
    """The 80-band Wav2Lip mel spectrogram, 80 frames per second."""

    name: ClassVar[str] = "mel"
    description: ClassVar[str] = "Wav2Lip 80-band mel spectrogram (80 frames/s)"
    frames_per_second: ClassVar[float] = FRAMES_PER_SECOND
    reads_blocks: ClassVar[bool] = True

    class Options(AudioExtractor.Options):
        fast: bool = Field(
            False, description="float32 STFT: about 5x faster, differs by ~1e-5 (normalised)."
        )
        pad_mode: Literal["constant", "reflect"] = Field(
            "constant", description="STFT edge padding (changes only the first and last columns)."
        )

    options: Options

    def extract(self, wav: np.ndarray) -> np.ndarray:
        """``(T, 80)`` float32 mel frames of ``wav`` (16 kHz mono)."""
        mel = melspectrogram(wav, fast=self.options.fast, pad_mode=self.options.pad_mode)
        return np.ascontiguousarray(mel.T)


@hookimpl
def register_audio_extractors(register: Any) -> None:
    register(MelExtractor)
