"""Voice activity on the bundled speech, alone and under noise and music."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lipdub.audio import vad
from lipdub.errors import InputError
from lipdub.media.audio import load_audio

SPEECH = Path(__file__).resolve().parents[1] / "examples" / "speech.wav"
RATE = 16000


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return load_audio(SPEECH, RATE)


def truth(wav: np.ndarray) -> np.ndarray:
    """Per 10 ms row: whether the clean speech is within 35 dB of its loudest row."""
    rows = vad.rows_for(len(wav))
    padded = np.zeros(rows * vad.HOP, np.float32)
    padded[: len(wav)] = wav
    level = 10 * np.log10((padded.reshape(rows, vad.HOP) ** 2).mean(axis=1) + 1e-12)
    return level > level.max() - 35


def long_pauses(active: np.ndarray) -> np.ndarray:
    """Rows inside true pauses of at least 300 ms, 50 ms in from their edges."""
    inside = np.zeros(len(active), bool)
    for start, end in vad.pauses(active.astype(np.float32), 0.3):
        inside[start + 5 : end - 5] = True
    return inside


def music(n: int) -> np.ndarray:
    """Synthetic backing music: decaying harmonic chords changing every 0.4 s."""
    t = np.arange(n) / RATE
    out = np.zeros(n)
    notes = [220.0, 261.6, 329.6, 392.0, 246.9, 293.7]
    step = int(0.4 * RATE)
    for k, start in enumerate(range(0, n, step)):
        span = slice(start, min(n, start + step))
        local = t[span] - t[start]
        for base in (notes[k % 6], notes[(k + 2) % 6]):
            for harmonic in range(1, 6):
                out[span] += (
                    np.exp(-3 * local) * np.sin(2 * np.pi * base * harmonic * local) / harmonic
                )
    return out.astype(np.float32)


def mixed(clean: np.ndarray, other: np.ndarray, snr_db: float) -> np.ndarray:
    speech_power = np.mean(clean[np.abs(clean) > 0.01] ** 2)
    gain = np.sqrt(speech_power / np.mean(other**2) / 10 ** (snr_db / 10))
    return (clean + gain * other).astype(np.float32)


def rates(probability: np.ndarray, active: np.ndarray) -> tuple[float, float]:
    """Share of speech rows heard as speech, share of long-pause rows heard as silence."""
    said = probability >= vad.THRESHOLD
    pause = long_pauses(active)
    return float(said[active].mean()), float((~said[pause]).mean())


def test_rows_cover_the_audio_at_100_per_second(speech: np.ndarray) -> None:
    for method in ("energy", "auto"):
        probability = vad.speech_probability(speech[:16001], method)
        assert probability.shape == (101,)
        assert probability.dtype == np.float32
        assert probability.min() >= 0.0 and probability.max() <= 1.0
    assert vad.speech_probability(np.zeros(0, np.float32), "energy").shape == (1,)


def test_silence_is_not_speech() -> None:
    quiet = np.random.default_rng(0).normal(0, 1e-5, RATE).astype(np.float32)
    assert (vad.speech_probability(quiet, "energy") < vad.THRESHOLD).all()
    assert vad.pauses(vad.speech_probability(quiet, "energy"), 0.2) == [(0, 100)]


def test_energy_detector_finds_speech_and_pauses_in_noise(speech: np.ndarray) -> None:
    active = truth(speech)
    assert long_pauses(active).sum() > 20, "the example speech has pauses"
    noise = np.random.default_rng(1).standard_normal(len(speech)).astype(np.float32)
    for signal in (speech, mixed(speech, noise, 10.0)):
        heard, paused = rates(vad.speech_probability(signal, "energy"), active)
        assert heard >= 0.9 and paused >= 0.7, (heard, paused)


@pytest.mark.skipif(not vad.silero_available(), reason="silero-vad is not installed")
def test_both_detectors_hear_pauses_under_music(speech: np.ndarray) -> None:
    """Backing music fools the energy detector (it never pauses); ``both`` does not."""
    active = truth(speech)
    signal = mixed(speech, music(len(speech)), 6.0)
    _, energy_paused = rates(vad.speech_probability(signal, "energy"), active)
    heard, paused = rates(vad.speech_probability(signal, "both"), active)
    assert heard >= 0.9 and paused >= 0.7, (heard, paused)
    assert energy_paused < paused


def test_the_default_never_shuts_a_voice_the_network_does_not_know() -> None:
    """A synthetic voice (harmonic bursts) is no speech to Silero; ``auto`` still hears it."""
    from tests.conftest import speech_like

    voice = speech_like(4.0, seed=1).astype(np.float32)
    assert (vad.speech_probability(voice, "auto") > 0.5).mean() > 0.4
    if vad.silero_available():
        assert (vad.speech_probability(voice, "both") > 0.5).mean() < 0.1


def test_bad_input_is_refused_in_one_line(speech: np.ndarray) -> None:
    with pytest.raises(InputError, match="unknown VAD 'loud'"):
        vad.speech_probability(speech, "loud")
    bad = speech[:1000].copy()
    bad[3] = np.nan
    with pytest.raises(InputError, match="NaN"):
        vad.speech_probability(bad, "energy")


def test_pauses_are_runs_at_least_as_long_as_asked() -> None:
    probability = np.array([1] * 5 + [0] * 30 + [1] * 5 + [0] * 10 + [1], np.float32)
    assert vad.pauses(probability, 0.2) == [(5, 35)]
    assert vad.pauses(probability, 0.1) == [(5, 35), (40, 50)]


def test_a_short_or_steady_voice_without_a_pause_is_all_speech() -> None:
    """The noise floor of 0.4 s of voice is the voice itself: it must not read as a pause."""
    from tests.conftest import speech_like

    voice = speech_like(0.4, seed=2).astype(np.float32)
    assert (vad.speech_probability(voice, "energy") > vad.THRESHOLD).all()
    assert vad.pauses(vad.speech_probability(voice, "energy"), 0.2) == []


def test_blocks_join_seamlessly(speech: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    """Long audio is measured a block of rows at a time (memory flat in its length): small
    blocks give exactly what one block gives."""
    noisy = mixed(speech, music(len(speech)), 10.0)
    whole = vad.energy_probability(noisy)
    monkeypatch.setattr(vad, "_BLOCK_ROWS", 37)  # not a multiple of the floor's step
    np.testing.assert_array_equal(vad.energy_probability(noisy), whole)
