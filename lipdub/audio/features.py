"""Compute an extractor's features of some audio, through the feature cache when given."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from lipdub.audio.cache import FeatureCache
from lipdub.audio.samples import Samples, is_stream, whole
from lipdub.components import AudioExtractor
from lipdub.errors import InputError, PluginError

log = logging.getLogger(__name__)


@dataclass
class FeatureResult:
    """Features ``(frames, dim)`` and where they came from."""

    features: np.ndarray
    cache_hit: bool
    cache_key: str | None
    seconds: float


def compute_features_info(
    wav: Samples, extractor: AudioExtractor, cache: FeatureCache | None = None
) -> FeatureResult:
    """Features of ``wav`` (float32 mono at the extractor's rate) and whether the cache had
    them. An extractor that :attr:`~lipdub.components.AudioExtractor.reads_blocks` is given
    ``wav`` as it is; any other gets one array of all its samples."""
    start = time.perf_counter()
    if not is_stream(wav):  # an array, or a list of samples
        wav = np.asarray(wav, dtype=np.float32)
        if wav.ndim != 1:
            raise InputError(f"audio must be mono, got samples of shape {wav.shape}")
    key = None
    if cache is not None:
        key = cache.key(wav, extractor.identity(), extractor.sample_rate)
        cached = cache.get(key)
        if cached is not None:
            log.info("features of %s loaded from the cache (%s)", extractor.name, key[:12])
            return FeatureResult(cached, True, key, time.perf_counter() - start)
    given = wav if extractor.reads_blocks else whole(wav)
    features = np.asarray(extractor.extract(given), dtype=np.float32)
    if features.ndim != 2:
        raise PluginError(
            f"extractor {extractor.name!r} returned features of shape {features.shape}, "
            "expected (frames, dim)"
        )
    if cache is not None and key is not None:
        cache.put(key, features)
    return FeatureResult(features, False, key, time.perf_counter() - start)


def compute_features(
    wav: Samples, extractor: AudioExtractor, cache: FeatureCache | None = None
) -> np.ndarray:
    """Features ``(frames, dim)`` float32 of ``wav``; see :func:`compute_features_info`."""
    return compute_features_info(wav, extractor, cache).features
