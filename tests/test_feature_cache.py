"""The feature cache and compute_features: keyed by audio content and extractor identity."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from lipdub.audio.cache import FeatureCache
from lipdub.audio.features import compute_features, compute_features_info
from lipdub.components import AudioExtractor
from lipdub.plugins import get_component


class CountingExtractor(AudioExtractor):
    """Mean of each 320-sample slot times ``scale``; counts how often it really runs."""

    name: ClassVar[str] = "counting"
    frames_per_second: ClassVar[float] = 50.0

    class Options(AudioExtractor.Options):
        scale: float = 1.0

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self.calls = 0

    def extract(self, wav: np.ndarray) -> np.ndarray:
        self.calls += 1
        frames = len(wav) // 320
        slots = wav[: frames * 320].reshape(frames, 320).mean(axis=1, keepdims=True)
        return (slots * self.options.scale).astype(np.float32)


def _tone(seconds: float, freq: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * 16000)) / 16000
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_second_call_is_served_from_the_cache(tmp_path):
    cache = FeatureCache(tmp_path)
    extractor = CountingExtractor()
    wav = _tone(1.0)
    first = compute_features_info(wav, extractor, cache)
    second = compute_features_info(wav, extractor, cache)
    assert (first.cache_hit, second.cache_hit) == (False, True)
    assert extractor.calls == 1
    np.testing.assert_array_equal(first.features, second.features)
    assert cache.path(second.cache_key).is_file()


def test_key_depends_on_audio_and_extractor_options(tmp_path):
    cache = FeatureCache(tmp_path)
    wav = _tone(1.0)
    plain, scaled = CountingExtractor(), CountingExtractor(scale=2.0)
    a = compute_features(wav, plain, cache)
    b = compute_features(wav, scaled, cache)
    c = compute_features(_tone(1.0, freq=330.0), plain, cache)
    assert plain.calls == 2 and scaled.calls == 1
    np.testing.assert_allclose(b, 2 * a)
    assert not np.allclose(a, c)


def test_no_cache_always_computes(tmp_path):
    extractor = CountingExtractor()
    wav = _tone(0.5)
    compute_features(wav, extractor, None)
    result = compute_features_info(wav, extractor, None)
    assert extractor.calls == 2 and not result.cache_hit and result.cache_key is None
    assert not any(tmp_path.iterdir())


def test_damaged_entry_is_recomputed(tmp_path):
    cache = FeatureCache(tmp_path)
    extractor = CountingExtractor()
    wav = _tone(0.5)
    key = compute_features_info(wav, extractor, cache).cache_key
    cache.path(key).write_bytes(b"not an npy file")
    again = compute_features_info(wav, extractor, cache)
    assert not again.cache_hit and extractor.calls == 2
    assert np.load(cache.path(key)).shape == again.features.shape


def test_writes_leave_no_temporary_files(tmp_path):
    cache = FeatureCache(tmp_path)
    compute_features(_tone(0.5), CountingExtractor(), cache)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) == 1 and files[0].suffix == ".npy"


def test_default_location_follows_lipdub_home(tmp_path, monkeypatch):
    monkeypatch.setenv("LIPDUB_HOME", str(tmp_path))
    assert FeatureCache().root == tmp_path / "features"


def test_mel_goes_through_the_same_interface(tmp_path):
    mel = get_component("audio_extractors", "mel")()
    cache = FeatureCache(tmp_path)
    first = compute_features_info(_tone(1.0), mel, cache)
    second = compute_features_info(_tone(1.0), mel, cache)
    assert first.features.shape[1] == 80 and second.cache_hit
    np.testing.assert_array_equal(first.features, second.features)


def test_stereo_input_is_refused():
    from lipdub.errors import InputError

    with pytest.raises(InputError):
        compute_features(np.zeros((2, 100), np.float32), CountingExtractor())
