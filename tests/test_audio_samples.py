"""Long audio read a block at a time: decoded audio spilled to a temporary file gives back the
same samples, the same features, the same voice activity and the same dub as audio in memory."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from lipdub.audio import vad, windows
from lipdub.audio.cache import FeatureCache
from lipdub.audio.features import compute_features, compute_features_info
from lipdub.audio.mel import MelExtractor
from lipdub.audio.samples import Shifted, all_finite, shifted
from lipdub.cli.app import main
from lipdub.components import AudioExtractor
from lipdub.errors import InputError
from lipdub.generators.warp.articulation import ArticulationExtractor
from lipdub.media import audio
from lipdub.media.audio import load_audio, stream_audio, write_wav
from lipdub.media.reader import VideoReader
from lipdub.pipeline import dub
from lipdub.pipeline.drive_audio import drive_features
from lipdub.spill import RowBlocks

from .conftest import speech_like


@pytest.fixture
def spill_early(monkeypatch: pytest.MonkeyPatch) -> None:
    """Decoded audio in blocks of 1000 samples, on disk past 3000."""
    monkeypatch.setattr(audio, "STREAM_BLOCK", 1000)
    monkeypatch.setattr(audio, "KEEP_SAMPLES", 3000)


@pytest.fixture(scope="module")
def speech_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wav = speech_like(3.0, seed=4)
    wav[16000:22000] = 0.0  # a pause
    return write_wav(tmp_path_factory.mktemp("speech") / "speech.wav", wav)


def test_a_spilled_store_gives_back_every_slice() -> None:
    data = np.random.default_rng(1).normal(size=5000).astype(np.float32)
    store = RowBlocks((), np.float32, spill=True, block_rows=64, keep_rows=128, what="samples")
    store.extend(data[:3000])
    for value in data[3000:]:
        store.append(value)
    assert store.spilled and len(store) == 5000
    for start, stop in [(0, 5000), (63, 65), (100, 1000), (4990, 6000), (-10, None), (7, 7)]:
        np.testing.assert_array_equal(store[start:stop], data[start:stop])
    assert store[4999] == data[4999]
    with pytest.raises(ValueError, match="step"):
        store[::2]
    store.close()


def test_streamed_audio_is_the_loaded_audio(speech_file: Path, spill_early: None) -> None:
    loaded = load_audio(speech_file)
    streamed = stream_audio(speech_file)
    assert streamed.spilled
    np.testing.assert_array_equal(streamed[:], loaded)
    with pytest.raises(InputError, match="no audio stream"):
        stream_audio(Path(__file__).parents[1] / "examples" / "astronaut.mp4")


def test_a_shifted_view_delays_cuts_and_pads() -> None:
    source = np.arange(1, 11, dtype=np.float32)
    for length, shift in [(10, 0), (6, 0), (14, 0), (10, 3), (10, -3), (12, 4), (5, -8), (4, 20)]:
        want = np.array([source[n - shift] if 0 <= n - shift < 10 else 0 for n in range(length)])
        view = shifted(source, length, shift)
        assert len(view) == length
        np.testing.assert_array_equal(view[:], want)
        np.testing.assert_array_equal(view[2:5], want[2:5])
    assert shifted(source, 10) is source
    assert all_finite(Shifted(source, 30, 5)) and not all_finite(np.array([0.0, np.nan]))


def test_features_and_voice_of_spilled_audio_are_those_of_the_array(
    speech_file: Path, spill_early: None, tmp_path: Path
) -> None:
    loaded, streamed = load_audio(speech_file), stream_audio(speech_file)
    for extractor in (MelExtractor(), MelExtractor(pad_mode="reflect"), ArticulationExtractor()):
        np.testing.assert_array_equal(
            compute_features(streamed, extractor), compute_features(loaded, extractor)
        )
    cache = FeatureCache(tmp_path)
    first = compute_features_info(loaded, ArticulationExtractor(), cache)
    again = compute_features_info(streamed, ArticulationExtractor(), cache)
    assert again.cache_hit and again.cache_key == first.cache_key
    methods = ["energy", "silero"] if vad.silero_available() else ["energy"]
    for method in methods:
        np.testing.assert_array_equal(
            vad.speech_probability(streamed, method), vad.speech_probability(loaded, method)
        )
    offset = shifted(streamed, len(streamed), 800)
    np.testing.assert_array_equal(
        vad.speech_probability(offset, "energy"),
        vad.speech_probability(np.concatenate([np.zeros(800, np.float32), loaded[:-800]])),
    )


def test_feature_windows_read_from_disk_are_those_in_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(windows, "KEEP_FEATURE_ROWS", 100)
    features = np.random.default_rng(2).normal(size=(9000, 5)).astype(np.float32)
    assert isinstance(windows.spill_features(features[:100]), np.ndarray)
    stored = windows.spill_features(features)
    assert isinstance(stored, RowBlocks) and stored.spilled
    starts = windows.window_starts(3000, 25.0, 80.0, 16, len(features))
    np.testing.assert_array_equal(
        windows.frame_windows(stored, starts, 16), windows.frame_windows(features, starts, 16)
    )
    past_end = np.array([8990, 0])  # a window past the end repeats the last row
    np.testing.assert_array_equal(
        windows.frame_windows(stored, past_end, 16), windows.frame_windows(features, past_end, 16)
    )


class ArrayOnlyExtractor(AudioExtractor):
    """A plugin extractor that knows only arrays (``reads_blocks`` left False)."""

    name: ClassVar[str] = "array-only"
    frames_per_second: ClassVar[float] = 50.0
    given: ClassVar[list[type]] = []

    def extract(self, wav: np.ndarray) -> np.ndarray:
        self.given.append(type(wav))
        return np.abs(wav[: len(wav) // 320 * 320]).reshape(-1, 320).mean(axis=1, keepdims=True)


def test_an_extractor_that_wants_arrays_gets_one(speech_file: Path, spill_early: None) -> None:
    features = drive_features({}, stream_audio(speech_file), ArrayOnlyExtractor(), None, 40.0)
    assert ArrayOnlyExtractor.given == [np.ndarray]
    assert features[None].shape == (150, 1)


def test_a_dub_of_spilled_audio_is_the_same_dub(
    talking_head: Path, speech_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs, spilled = [], []

    def streamed(*args: object) -> RowBlocks:
        store = stream_audio(*args)  # type: ignore[arg-type]
        spilled.append(store.spilled)
        return store

    monkeypatch.setattr(dub, "stream_audio", streamed)
    for name in ("memory", "spilled"):
        if name == "spilled":  # the samples, and the features measured from them
            monkeypatch.setattr(audio, "STREAM_BLOCK", 1000)
            monkeypatch.setattr(audio, "KEEP_SAMPLES", 3000)
            monkeypatch.setattr(windows, "KEEP_FEATURE_ROWS", 50)
        out = tmp_path / f"{name}.mp4"
        args = [str(talking_head), "--audio", str(speech_file), "-o", str(out), "-q"]
        assert main([*args, "-g", "warp", "--no-cache", "--no-mark"]) == 0
        outputs.append(np.stack(list(VideoReader(out).frames())))
    assert spilled == [False, True]
    assert outputs[0].shape == outputs[1].shape and len(outputs[0]) >= 70
    np.testing.assert_array_equal(outputs[1], outputs[0])
