"""The Wav2Lip mel front end and the per-frame feature windows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import lipdub
from lipdub import plugins
from lipdub.audio.mel import MelExtractor, melspectrogram
from lipdub.audio.windows import frame_windows, window_starts

DATA = Path(__file__).parent / "data" / "reference"


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(DATA / "mel_reference.npz") as data:
        return {key: data[key] for key in data.files}


@pytest.mark.parametrize("fast", [False, True])
def test_mel_matches_the_reference_front_end(reference: dict[str, np.ndarray], fast: bool) -> None:
    mel = melspectrogram(reference["wav"], fast=fast)
    assert mel.dtype == np.float32
    assert mel.shape == reference["mel"].shape == (80, 297)
    assert np.abs(mel - reference["mel"]).max() < 1e-3


def test_public_api_and_extractor_give_the_same_mel(reference: dict[str, np.ndarray]) -> None:
    mel = lipdub.melspectrogram(reference["wav"])
    extractor = plugins.get_component("audio_extractors", "mel")()
    assert isinstance(extractor, MelExtractor)
    assert extractor.frames_per_second == 80.0
    features = extractor.extract(reference["wav"])
    assert features.shape == (297, 80) and features.dtype == np.float32
    np.testing.assert_array_equal(features, mel.T)


def test_mel_length_range_and_silence() -> None:
    for samples in (0, 199, 200, 16000, 16123):
        assert melspectrogram(np.zeros(samples, np.float32)).shape == (80, 1 + samples // 200)
    silence = melspectrogram(np.zeros(8000, np.float32))
    assert np.all(silence == -4.0)
    loud = melspectrogram(np.random.RandomState(0).uniform(-1, 1, 16000).astype(np.float32))
    assert loud.min() >= -4.0 and loud.max() <= 4.0 and loud.max() > 0.0


def test_mel_bands_follow_the_tone_frequency() -> None:
    t = np.arange(16000) / 16000.0
    peaks = []
    for hz in (200.0, 1000.0, 4000.0):
        mel = melspectrogram((0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32))
        peaks.append(int(np.argmax(mel[:, 40])))
    assert peaks[0] < peaks[1] < peaks[2]


def test_window_starts_reproduce_the_reference_chunking() -> None:
    table = json.loads((DATA / "mel_chunk_starts.json").read_text())
    n_mel = 297  # columns of mel_reference.npz
    for fps, expected in table.items():
        starts = window_starts(len(expected), float(fps), 80.0, 16, n_mel)
        assert starts.tolist() == expected, fps


def test_window_starts_clamp_to_the_last_full_window() -> None:
    starts = window_starts(100, 25.0, 50.0, 10, 60)  # HuBERT-like: 50 frames/s, 10 per window
    assert starts[:3].tolist() == [0, 2, 4]
    assert starts.max() == 50 and starts[-1] == 50
    assert window_starts(5, 25.0, 80.0, 16, 8).tolist() == [0] * 5


def test_frame_windows_cut_and_pad() -> None:
    features = np.arange(30, dtype=np.float32).reshape(10, 3)
    windows = frame_windows(features, np.array([0, 2, 6]), 4)
    assert windows.shape == (3, 4, 3)
    np.testing.assert_array_equal(windows[1], features[2:6])
    np.testing.assert_array_equal(windows[2], features[6:10])
    short = frame_windows(features[:2], window_starts(3, 25.0, 80.0, 4, 2), 4)
    assert short.shape == (3, 4, 3)
    np.testing.assert_array_equal(short[0], features[[0, 1, 1, 1]])
    with pytest.raises(ValueError):
        frame_windows(np.zeros((0, 80), np.float32), np.array([0]), 16)


def test_stft_blocks_join_seamlessly(monkeypatch: pytest.MonkeyPatch) -> None:
    """The STFT runs a block of columns at a time (long audio, flat memory): small blocks
    give exactly what one block gives, at both paddings."""
    import lipdub.audio.mel as mel

    wav = np.random.default_rng(3).uniform(-0.5, 0.5, 7 * 16000 + 123).astype(np.float32)
    whole = [melspectrogram(wav, pad_mode=mode) for mode in ("constant", "reflect")]
    monkeypatch.setattr(mel, "BLOCK_COLUMNS", 97)
    for mode, expected in zip(("constant", "reflect"), whole, strict=True):
        np.testing.assert_array_equal(melspectrogram(wav, pad_mode=mode), expected)
