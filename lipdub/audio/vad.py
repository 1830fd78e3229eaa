"""Voice activity: per 10 ms of audio, the probability that someone is speaking.

Two detectors, both offline and weight-download-free:

* ``silero``: the Silero VAD network that ships inside the ``silero-vad`` pip package (its
  bundled TorchScript file; needs torch, not torchaudio). Robust to music and noise.
* ``energy``: a signal-processing detector: the speech-band power above a running noise
  floor (per frequency, low percentile over a few seconds), weighted by periodicity and
  with a short hangover. Good on clean speech and stationary noise; it hears loud music as
  speech.

``both`` hears speech only where both do (it finds pauses under music, where ``energy`` hears
speech). ``auto`` is ``energy``: the network does not hear singing, shouting or synthetic
voices as speech, and a pause found by mistake would shut a mouth that should move, which is
worse than a pause missed (today's behaviour). Row ``j`` of every
result describes the time ``j / 100`` s; there are ``ceil(len(wav) / 160)`` rows (at least 1).
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from typing import Any

import numpy as np

from lipdub.audio.framing import centred_frames, row_power_db
from lipdub.audio.samples import Samples, all_finite, blocks, mono
from lipdub.errors import InputError

SAMPLE_RATE = 16000
FRAMES_PER_SECOND = 100.0
HOP = SAMPLE_RATE // int(FRAMES_PER_SECOND)
METHODS = ("auto", "silero", "energy", "both")
#: A row is speech when its probability reaches this.
THRESHOLD = 0.5
#: Rows this far (dB) below the loudest are silence for every detector.
SILENCE_DB = 40.0

# -- energy detector ----------------------------------------------------------------------
_WINDOW = 400
_FFT = 512
#: The noise floor is this percentile of each frequency's power over :data:`_FLOOR_S`.
_FLOOR_PERCENTILE = 10.0
_FLOOR_S = 3.0
#: Speech-band SNR (dB) at which the energy detector says 0.5, and the width of its ramp.
_SNR_MID_DB = -1.0
_SNR_SPAN_DB = 4.0
#: Anything this far below the loudest row (dB) is silence, whatever the floor says.
_RELATIVE_FLOOR_DB = 40.0
#: Hangover: a speech decision is held this long after the last speech row (seconds).
_HANGOVER_S = 0.05
#: Audio whose loud and quiet rows (95th and 5th percentile level) are closer than this (dB)
#: has no pause in it: a short or steady voice, all speech (the floor would be the voice),
#: when it is louder than :data:`_STEADY_VOICE_DBFS` (RMS; quieter steady audio is noise).
_MIN_DYNAMIC_DB = 15.0
_STEADY_VOICE_DBFS = -50.0

# -- silero -------------------------------------------------------------------------------
_SILERO_CHUNK = 512


def rows_for(n_samples: int) -> int:
    """Rows of a result for ``n_samples`` of 16 kHz audio."""
    return max(1, int(np.ceil(n_samples / HOP)))


def silero_available() -> bool:
    """Whether the ``silero-vad`` package (and torch) can be imported."""
    return all(importlib.util.find_spec(name) is not None for name in ("silero_vad", "torch"))


def _samples(wav: Samples) -> Samples:
    samples = mono(wav)
    if not all_finite(samples):
        raise InputError("the driving audio contains NaN or infinite samples")
    return samples


#: Rows of the energy detector measured at once (20 s of audio): memory stays flat in
#: the audio's length.
_BLOCK_ROWS = 2000
_FLOOR_STEP = int(0.5 * FRAMES_PER_SECOND)
_FLOOR_HALF = int(_FLOOR_S * FRAMES_PER_SECOND) // 2


def _band_power(samples: Samples, first: int, last: int) -> np.ndarray:
    """Speech-band (200-4000 Hz) power spectra of rows ``first:last`` (float64, + 1e-12):
    row ``j`` is the Hann-windowed :data:`_WINDOW` samples centred on sample ``j * HOP``."""
    frames = centred_frames(samples, first, last, HOP, _WINDOW)
    power = np.abs(np.fft.rfft(frames * np.hanning(_WINDOW).astype(np.float32), n=_FFT)) ** 2
    freqs = np.fft.rfftfreq(_FFT, 1.0 / SAMPLE_RATE)
    band = (freqs >= 200.0) & (freqs < 4000.0)
    return power[:, band].astype(np.float64) + 1e-12


def _blocks(count: int) -> list[tuple[int, int]]:
    return [(first, min(count, first + _BLOCK_ROWS)) for first in range(0, count, _BLOCK_ROWS)]


def energy_probability(wav: Samples) -> np.ndarray:
    """Speech probability per 10 ms row from band power over a running noise floor (measured
    a block of rows at a time)."""
    from scipy.ndimage import maximum_filter1d, uniform_filter1d  # not at CLI start-up

    samples = _samples(wav)
    count = rows_for(len(samples))
    measured = [_block_level_and_snr(samples, count, a, b) for a, b in _blocks(count)]
    level = np.concatenate([block_level for block_level, _ in measured])
    audible = level[level >= -75.0]
    if audible.size and np.percentile(audible, 95) - np.percentile(audible, 5) < _MIN_DYNAMIC_DB:
        # Block by block: a float64 copy of an hour is 460 MB.
        energy = sum(float(np.square(part, dtype=np.float64).sum()) for _, part in blocks(samples))
        rms_dbfs = 10.0 * np.log10(energy / max(len(samples), 1) + 1e-20)
        steady = np.full(count, 1.0 if rms_dbfs > _STEADY_VOICE_DBFS else 0.0, np.float32)
        steady[level < -75.0] = 0.0
        return steady
    snr_db = np.concatenate([block_snr for _, block_snr in measured])
    probability = 1.0 / (1.0 + np.exp(-(snr_db - _SNR_MID_DB) / (_SNR_SPAN_DB / 4.0)))
    probability[level < level.max() - _RELATIVE_FLOOR_DB] = 0.0
    probability[level < -75.0] = 0.0
    # Smooth over 30 ms, then hold speech briefly after it ends (word-final consonants).
    probability = uniform_filter1d(probability, 3, mode="nearest")
    hold = int(round(_HANGOVER_S * FRAMES_PER_SECOND))
    held = maximum_filter1d(probability, 2 * hold + 1, origin=hold, mode="nearest")
    return np.maximum(probability, 0.9 * held).astype(np.float32)


def _block_level_and_snr(
    samples: Samples, count: int, first: int, last: int
) -> tuple[np.ndarray, np.ndarray]:
    """Speech-band level (dB) of rows ``first:last`` and their SNR (dB) over the running
    noise floor: per
    frequency a low percentile of the power over the surrounding :data:`_FLOOR_S` seconds,
    taken every half second (at rows ``0, 50, 100, ...`` of the whole audio) and
    interpolated in log power. The block reads the power of the rows its floors need."""
    last_centre = (count - 1) // _FLOOR_STEP * _FLOOR_STEP
    low_centre = first // _FLOOR_STEP * _FLOOR_STEP
    high_centre = min(last_centre, -(-(last - 1) // _FLOOR_STEP) * _FLOOR_STEP)
    centres = np.arange(low_centre, high_centre + 1, _FLOOR_STEP)
    reach_lo = max(0, low_centre - _FLOOR_HALF)
    reach_hi = min(count, max(high_centre + _FLOOR_HALF + 1, last))
    power = _band_power(samples, reach_lo, reach_hi)
    floors = [
        np.percentile(
            power[max(0, c - _FLOOR_HALF) - reach_lo : min(count, c + _FLOOR_HALF + 1) - reach_lo],
            _FLOOR_PERCENTILE,
            axis=0,
        )
        for c in centres
    ]
    rows = np.arange(first, last)
    table = np.log(np.stack(floors))
    floor = np.exp(
        np.stack([np.interp(rows, centres, table[:, k]) for k in range(table.shape[1])], 1)
    )
    # A power spectrum bin of noise is exponentially distributed: its mean is the 10th
    # percentile over -ln(0.9).
    floor /= -np.log(1.0 - _FLOOR_PERCENTILE / 100.0)
    own = power[first - reach_lo : last - reach_lo]
    excess = np.maximum(own - floor, 0.0).sum(axis=1)
    return 10.0 * np.log10(own.sum(axis=1)), 10.0 * np.log10(excess / floor.sum(axis=1) + 1e-6)


@lru_cache(maxsize=1)
def _silero_model() -> Any:
    from silero_vad import load_silero_vad

    return load_silero_vad()


def silero_probability(wav: Samples) -> np.ndarray:
    """Speech probability per 10 ms row from the Silero VAD network (32 ms chunks)."""
    if not silero_available():
        raise InputError("VAD 'silero' needs the silero-vad package: pip install silero-vad")
    import torch

    samples = _samples(wav)
    count = rows_for(len(samples))
    chunks = int(np.ceil(len(samples) / _SILERO_CHUNK)) or 1
    model = _silero_model()
    model.reset_states()
    values = np.empty(chunks, np.float32)
    with torch.inference_mode():
        # A block holds whole chunks; the last chunk is padded with silence.
        for first, block in blocks(samples, _SILERO_CHUNK * 2048):
            padded = np.zeros(-(-len(block) // _SILERO_CHUNK) * _SILERO_CHUNK, np.float32)
            padded[: len(block)] = block
            tensor = torch.from_numpy(padded)
            for k in range(len(padded) // _SILERO_CHUNK):
                chunk = tensor[k * _SILERO_CHUNK : (k + 1) * _SILERO_CHUNK]
                values[first // _SILERO_CHUNK + k] = float(model(chunk, SAMPLE_RATE))
        if not len(samples):  # no audio: one chunk of silence
            values[0] = float(model(torch.zeros(_SILERO_CHUNK), SAMPLE_RATE))
    model.reset_states()
    # Chunk k covers rows whose time lies in [k * 32 ms, (k + 1) * 32 ms).
    rows = np.minimum((np.arange(count) * HOP) // _SILERO_CHUNK, chunks - 1)
    return values[rows]


def speech_probability(wav: Samples, method: str = "auto") -> np.ndarray:
    """Per 10 ms row of ``wav`` (float32 mono 16 kHz), the probability of speech in
    ``[0, 1]`` (float32) by ``method`` (see :data:`METHODS`)."""
    if method not in METHODS:
        raise InputError(f"unknown VAD {method!r} (choose from {', '.join(METHODS)})")
    if method == "auto":
        method = "energy"
    if method == "silero":
        probability = silero_probability(wav)
    elif method == "both":
        probability = np.minimum(silero_probability(wav), energy_probability(wav))
    else:
        probability = energy_probability(wav)
    probability[silent_rows(wav)] = 0.0
    return probability


def silent_rows(wav: Samples) -> np.ndarray:
    """Rows (10 ms, not overlapping) more than :data:`SILENCE_DB` below the loudest row:
    nobody speaks there, whatever a detector's hangover says."""
    samples = _samples(wav)
    level = row_power_db(samples, HOP, rows_for(len(samples)))
    return level < level.max() - SILENCE_DB


def pauses(
    probability: np.ndarray, min_pause_s: float, threshold: float = THRESHOLD
) -> list[tuple[int, int]]:
    """Runs of rows ``[start, end)`` below ``threshold`` lasting at least ``min_pause_s``."""
    quiet = np.asarray(probability) < threshold
    min_rows = max(1, int(round(min_pause_s * FRAMES_PER_SECOND)))
    edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]])))
    runs = edges.reshape(-1, 2)
    return [(int(a), int(b)) for a, b in runs if b - a >= min_rows]
