"""Audio to mouth shape by signal processing alone: the ``articulation`` audio extractor.

Per 10 ms frame the speech-band loudness, the voicing (periodicity) and two spectral centroids
(rough first and second formant regions) are measured and turned into mouth parameters:

* ``opening`` in ``[0, 1]``: jaw/lip opening, driven by loudness, larger for voiced and for
  open (high first formant) sounds;
* ``spread`` in ``[-1, 1]``: lip width, positive for front vowels (high second formant),
  negative (rounded lips) for back vowels;
* ``voicing`` and ``loudness`` in ``[0, 1]``: the smoothed measurements themselves.

The opening is smoothed like speech movements: it rises fast, falls slower, leads the sound
by 20 ms, and a short zero-phase smoothing spreads each gesture over its neighbours
(coarticulation). Silent runs of 200 ms or more are forced closed, and so are the short silent
gaps before a lip release (/p/: a stop burst whose spectrum leans to low frequencies; /t/ and
/k/ release high and keep the lips apart). Row ``j`` describes the time ``j / 100``
s.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy.ndimage import gaussian_filter1d

from lipdub.audio.framing import centred_frames
from lipdub.audio.samples import Samples, all_finite, mono
from lipdub.components import AudioExtractor
from lipdub.errors import InputError

SAMPLE_RATE = 16000
#: Feature rows per second.
FRAMES_PER_SECOND = 100.0
HOP = SAMPLE_RATE // int(FRAMES_PER_SECOND)
WINDOW = 512
FFT_SIZE = 2 * WINDOW
#: Frames analysed at once (bounds memory on long audio).
BLOCK = 512
#: Names of the feature columns, in order.
COLUMNS: tuple[str, ...] = ("opening", "spread", "voicing", "loudness")
OPENING, SPREAD, VOICING, LOUDNESS = range(4)

#: Frames quieter than this (dBFS, speech band) are silence whatever the track's level.
ABSOLUTE_FLOOR_DB = -62.0
#: Frames this far below the track's speech level are silence.
RELATIVE_FLOOR_DB = 38.0
#: Loudness 0 at this many dB below the speech level (rises to 1 at the level).
LOUDNESS_RANGE_DB = 30.0
#: Time constants of the opening's rise and fall, seconds.
ATTACK_S = 0.012
RELEASE_S = 0.045
#: The lips lead the sound slightly: the opening is shifted this much earlier, seconds.
ANTICIPATION_S = 0.02
#: Standard deviation of the coarticulation smoothing, seconds.
COARTICULATION_S = 0.015
#: Silent runs at least this long are forced closed (after a short closing ramp).
PAUSE_S = 0.2
CLOSING_RAMP_S = 0.06
#: Openings below this are snapped to 0 (lips at rest), the rest rescaled.
REST_OPENING = 0.06
#: Stop closures: a gap at least this long and this far (dB) below the speech level, then a
#: rise of at least ``STOP_BURST_DB`` within 20 ms whose first row is mostly unvoiced.
STOP_GAP_S = 0.03
STOP_QUIET_DB = 30.0
STOP_BURST_DB = 20.0
STOP_MAX_VOICING = 0.5
#: Least spectral tilt (dB, 500-2000 Hz over 3-8 kHz) of a release's first row for it to
#: count as the lips parting.
BILABIAL_TILT_DB = 5.0


def _band(freqs: np.ndarray, low: float, high: float) -> np.ndarray:
    return (freqs >= low) & (freqs < high)


def _centroid(power: np.ndarray, freqs: np.ndarray, low: float, high: float) -> np.ndarray:
    band = _band(freqs, low, high)
    weights = power[:, band]
    total = weights.sum(axis=1) + 1e-12
    return (weights @ freqs[band]) / total


def _measure_frames(frames: np.ndarray) -> np.ndarray:
    """Columns level_db, voicing, f1, f2, tilt_db of a block of windowed frames."""
    spectrum = np.fft.rfft(frames, n=FFT_SIZE, axis=1)
    power = spectrum.real.astype(np.float64) ** 2 + spectrum.imag.astype(np.float64) ** 2
    freqs = np.fft.rfftfreq(FFT_SIZE, 1.0 / SAMPLE_RATE)
    window_power = float(np.sum(np.hanning(WINDOW) ** 2)) * FFT_SIZE / 2
    speech = power[:, _band(freqs, 300.0, 3400.0)].sum(axis=1) / window_power
    level_db = 10.0 * np.log10(speech + 1e-10)
    # Periodicity: normalised autocorrelation peak at pitch lags (80-400 Hz), below 4 kHz.
    # The FFT is twice the window, so the autocorrelation does not wrap around.
    autocorr = np.fft.irfft(power * _band(freqs, 60.0, 4000.0), n=FFT_SIZE, axis=1)
    lags = np.arange(SAMPLE_RATE // 400, SAMPLE_RATE // 80 + 1)
    # Undo the triangular bias of the windowed autocorrelation.
    peak = (autocorr[:, lags] / (1.0 - lags / WINDOW)).max(axis=1)
    voicing = np.clip(peak / (autocorr[:, 0] + 1e-12), 0.0, 1.0)
    # Fricatives put their energy high: discount voicing where the spectrum tilts up.
    low = power[:, _band(freqs, 80.0, 1000.0)].sum(axis=1)
    high = power[:, _band(freqs, 3000.0, 8000.0)].sum(axis=1)
    voicing = voicing * np.clip(low / (low + high + 1e-12) * 1.5, 0.0, 1.0)
    f1 = _centroid(power, freqs, 250.0, 1000.0)
    f2 = _centroid(power, freqs, 900.0, 2800.0)
    # Spectral tilt: 500-2000 Hz against 3-8 kHz (a lip release is low and flat, a tongue
    # release high: Blumstein and Stevens' diffuse-falling against diffuse-rising bursts).
    tilt_db = 10.0 * np.log10(
        (power[:, _band(freqs, 500.0, 2000.0)].sum(axis=1) + 1e-12)
        / (power[:, _band(freqs, 3000.0, 8000.0)].sum(axis=1) + 1e-12)
    )
    return np.stack([level_db, voicing, f1, f2, tilt_db], axis=1)


#: Names of :func:`measure`'s columns.
MEASURES = ("level_db", "voicing", "f1", "f2", "tilt_db")


def measure(wav: Samples) -> dict[str, np.ndarray]:
    """Raw per-frame measurements (100 per second, frame ``j`` centred on ``j / 100`` s):
    speech-band level in dBFS, voicing in ``[0, 1]``, the centroids (Hz) of the
    250-1000 Hz and 900-2800 Hz regions and the spectral tilt (dB, 500-2000 Hz over
    3-8 kHz); see :data:`MEASURES`. Measured :data:`BLOCK` frames at a time."""
    samples = mono(wav)
    count = max(1, int(np.ceil(len(samples) / HOP)))
    window = np.hanning(WINDOW).astype(np.float32)
    blocks = [
        _measure_frames(
            centred_frames(samples, first, min(count, first + BLOCK), HOP, WINDOW) * window
        )
        for first in range(0, count, BLOCK)
    ]
    table = np.concatenate(blocks)
    return {name: table[:, i] for i, name in enumerate(MEASURES)}


def _smooth_asymmetric(values: np.ndarray, attack: float, release: float) -> np.ndarray:
    """One-pole follower that rises with time constant ``attack`` and falls with ``release``
    (in frames)."""
    rise = 1.0 - np.exp(-1.0 / max(attack, 1e-6))
    fall = 1.0 - np.exp(-1.0 / max(release, 1e-6))
    out = np.empty_like(values)
    state = 0.0
    for j, value in enumerate(values.tolist()):
        state += (rise if value > state else fall) * (value - state)
        out[j] = state
    return out


def _pause_mask(silent: np.ndarray, fps: float) -> np.ndarray:
    """Frames inside silent runs of at least ``PAUSE_S``, less a closing ramp at the start and
    the anticipation of the next sound at the end."""
    forced = np.zeros_like(silent)
    min_run = int(round(PAUSE_S * fps))
    ramp = int(round(CLOSING_RAMP_S * fps))
    lead = int(round(2 * ANTICIPATION_S * fps))
    start = None
    for j, quiet in enumerate([*silent.tolist(), False]):
        if quiet and start is None:
            start = j
        elif not quiet and start is not None:
            if j - start >= min_run:
                first = start + ramp if start > 0 else 0
                last = j - lead if j < len(silent) else j
                forced[first:last] = True
            start = None
    return forced


def _stop_closures(
    level: np.ndarray, voicing: np.ndarray, tilt: np.ndarray, reference: float
) -> np.ndarray:
    """Rows of the silent gap before a lip release: a sudden, unvoiced-at-first rise of
    level after :data:`STOP_GAP_S` or more of near silence, shorter than a pause, whose
    first row leans to low frequencies (tilt at least :data:`BILABIAL_TILT_DB`). The lips
    are shut there for /p/ (and a devoiced /b/); /t/ and /k/ release high (their tilt
    measured -14 to -1 dB against +12 to +13 for /p/ on synthetic speech of three voices),
    and the lips stay apart for them."""
    fps = FRAMES_PER_SECOND
    quiet = level < reference - STOP_QUIET_DB
    shut = np.zeros(len(level), bool)
    min_gap = int(round(STOP_GAP_S * fps))
    max_gap = int(round(PAUSE_S * fps))
    edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]])))
    for start, end in edges.reshape(-1, 2):
        if start == 0 or end >= len(level) - 1 or not min_gap <= end - start < max_gap:
            continue
        floor = float(level[start:end].mean())
        burst = level[end : end + 2].max() - floor
        labial = tilt[end] >= BILABIAL_TILT_DB
        if burst >= STOP_BURST_DB and voicing[end] < STOP_MAX_VOICING and labial:
            shut[start:end] = True
    return shut


def articulate(wav: Samples) -> np.ndarray:
    """Mouth parameters of ``wav`` (float32 mono 16 kHz) as ``(T, 4)`` float32, see
    :data:`COLUMNS`; ``T = ceil(len(wav) / 160)`` (at least 1)."""
    raw = measure(wav)
    level = raw["level_db"]
    speaking = level > ABSOLUTE_FLOOR_DB
    if speaking.any():
        reference = float(np.percentile(level[speaking], 95))
    else:
        reference = ABSOLUTE_FLOOR_DB
    silent = ~speaking | (level < reference - RELATIVE_FLOOR_DB)
    loudness = np.clip((level - (reference - LOUDNESS_RANGE_DB)) / LOUDNESS_RANGE_DB, 0.0, 1.0)
    loudness[silent] = 0.0
    voicing = np.where(silent, 0.0, raw["voicing"])
    f1_open = np.clip((raw["f1"] - 350.0) / 400.0, 0.0, 1.0)
    f2_front = np.clip((raw["f2"] - 1300.0) / 800.0, 0.0, 1.0)

    fps = FRAMES_PER_SECOND
    target = loudness**0.8 * (0.45 + 0.55 * voicing) * (0.7 + 0.3 * f1_open)
    opening = _smooth_asymmetric(target, ATTACK_S * fps, RELEASE_S * fps)
    opening = gaussian_filter1d(opening, COARTICULATION_S * fps, mode="nearest")
    lead = int(round(ANTICIPATION_S * fps))
    if lead > 0 and len(opening) > lead:
        opening = np.concatenate([opening[lead:], np.repeat(opening[-1:], lead)])
    opening = np.clip((opening - REST_OPENING) / (1.0 - REST_OPENING), 0.0, 1.0)
    opening[_pause_mask(silent, fps)] = 0.0
    opening[_stop_closures(level, raw["voicing"], raw["tilt_db"], reference)] = 0.0

    weight = loudness * voicing
    spread_raw = (2.0 * f2_front - 1.0) * weight
    sigma = 2.5 * COARTICULATION_S * fps
    spread = gaussian_filter1d(spread_raw, sigma, mode="nearest") / (
        gaussian_filter1d(weight, sigma, mode="nearest") + 0.15
    )
    spread = np.clip(spread, -1.0, 1.0) * np.minimum(opening * 3.0, 1.0)
    smooth_voicing = gaussian_filter1d(voicing, COARTICULATION_S * fps, mode="nearest")
    smooth_loudness = gaussian_filter1d(loudness, COARTICULATION_S * fps, mode="nearest")
    return np.stack([opening, spread, smooth_voicing, smooth_loudness], axis=1).astype(np.float32)


class ArticulationExtractor(AudioExtractor):
    """Mouth opening, lip spread, voicing and loudness at 100 frames per second, from signal
    processing only (no weights)."""

    name: ClassVar[str] = "articulation"
    description: ClassVar[str] = "Mouth opening/spread from loudness, voicing and formants."
    frames_per_second: ClassVar[float] = FRAMES_PER_SECOND
    reads_blocks: ClassVar[bool] = True

    def extract(self, wav: np.ndarray) -> np.ndarray:
        """``(ceil(len(wav) / 160), 4)`` float32 rows of :data:`COLUMNS`, row ``j`` at
        ``j / 100`` s."""
        samples = mono(wav)
        if not all_finite(samples):
            raise InputError("the dub audio contains NaN or infinite samples")
        return articulate(samples)
