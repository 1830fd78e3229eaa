"""Metric formulas of ``lipdub eval``, checked against their references (no video, fast)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lipdub.errors import InputError
from lipdub.eval import lse_from_embeddings, mfcc
from lipdub.eval.image_quality import frechet_distance, psnr, ssim
from lipdub.eval.inputs import collect_items
from lipdub.eval.lse import scores_from_distances, shift_distances
from lipdub.eval.pri import pri
from lipdub.eval.report import aggregate, csv_text, write_report


def test_mfcc_matches_python_speech_features_defaults() -> None:
    reference = pytest.importorskip("python_speech_features")
    rng = np.random.default_rng(0)
    t = np.arange(16000 + 123) / 16000
    wav = (8000 * np.sin(2 * np.pi * 220 * t) + 2000 * rng.standard_normal(t.size)).astype(np.int16)
    ours = mfcc(wav, 16000)
    theirs = reference.mfcc(wav, 16000).T
    assert ours.shape == theirs.shape == (13, 100)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9)
    # very short input and silence (log of the eps floor) too
    for short in (np.zeros(300, np.int16), wav[:401]):
        np.testing.assert_allclose(mfcc(short, 16000), reference.mfcc(short, 16000).T, atol=1e-9)


def _planted(offset: int, n: int = 80, dim: int = 32, seed: int = 0) -> tuple:
    """Video window i equals audio window i - offset (plus noise); others unrelated."""
    rng = np.random.default_rng(seed)
    audio = rng.standard_normal((n, dim)).astype(np.float32)
    video = rng.standard_normal((n, dim)).astype(np.float32)
    for i in range(n):
        if 0 <= i - offset < n:
            video[i] = audio[i - offset] + 0.1 * rng.standard_normal(dim)
    return video, audio


@pytest.mark.parametrize("offset", [0, 4, -7, 15])
def test_lse_recovers_a_planted_offset(offset: int) -> None:
    video, audio = _planted(offset)
    found, conf, min_dist = lse_from_embeddings(video, audio, vshift=15)
    assert found == offset
    assert conf > 1.0  # the best shift stands out from the median
    assert 0 < min_dist < np.median(shift_distances(video, audio).mean(axis=0))


def test_lse_matches_the_reference_distance_definition() -> None:
    torch = pytest.importorskip("torch")
    video, audio = _planted(3, n=20, dim=8)
    dists = shift_distances(video, audio, vshift=5)
    # the reference: zero-pad the audio sequence, pairwise_distance per video window
    padded = torch.nn.functional.pad(torch.from_numpy(audio), (0, 0, 5, 5))
    for i in (0, 7, 19):
        expected = torch.nn.functional.pairwise_distance(
            torch.from_numpy(video)[[i]].repeat(11, 1), padded[i : i + 11]
        )
        np.testing.assert_allclose(dists[i], expected.numpy(), rtol=1e-5)
    scores = scores_from_distances(dists, 5)
    assert scores.offset == 3
    assert scores.framewise_confidence.shape == (20,)


def test_pri_is_one_over_n_when_aligned_and_about_half_when_random() -> None:
    rng = np.random.default_rng(1)
    audio = rng.standard_normal((50, 64))
    assert pri(audio, audio) == pytest.approx(1 / 50)
    video = audio + 0.01 * rng.standard_normal(audio.shape)
    assert pri(video, audio) == pytest.approx(1 / 50)
    unrelated = [
        pri(rng.standard_normal((200, 64)), rng.standard_normal((200, 64))) for _ in range(3)
    ]
    assert np.mean(unrelated) == pytest.approx(0.5, abs=0.03)


def test_psnr_and_ssim_match_scikit_image() -> None:
    metrics = pytest.importorskip("skimage.metrics")
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (48, 64, 3)).astype(np.uint8)
    noisy = np.clip(image + rng.integers(-25, 25, image.shape), 0, 255).astype(np.uint8)
    assert psnr(noisy, image) == pytest.approx(metrics.peak_signal_noise_ratio(image, noisy))
    expected = metrics.structural_similarity(
        noisy,
        image,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        channel_axis=-1,
        data_range=255,
    )
    assert ssim(noisy, image) == pytest.approx(expected, rel=1e-9)
    assert ssim(image, image) == pytest.approx(1.0)
    assert psnr(image, image) == 100.0


def test_frechet_distance_is_zero_for_the_same_features_and_grows_with_a_shift() -> None:
    features = np.random.default_rng(3).standard_normal((40, 6))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(features, features + 2.0) == pytest.approx(6 * 4.0, rel=1e-6)


def test_report_has_rows_then_mean_and_std(tmp_path: Path) -> None:
    rows = [
        {"video": "a.mp4", "lse_d": 7.0, "lse_c": 6.0, "frames": 10},
        {"video": "b.mp4", "lse_d": 9.0, "lse_c": float("nan"), "frames": 20},
        {"video": "c.mp4", "error": "c.mp4 does not exist"},
    ]
    stats = aggregate(rows)
    assert stats["lse_d"] == {"mean": 8.0, "std": 1.0, "n": 2}
    assert stats["lse_c"]["n"] == 1  # NaN left out
    lines = csv_text(rows).splitlines()
    assert lines[0].split(",")[:3] == ["video", "frames", "lse_d"]
    assert lines[-2].startswith("mean,") and lines[-1].startswith("std,")
    json_path, csv_path = write_report(tmp_path / "r.json", rows, ["lse"], {"vshift": 15})
    report = json.loads(json_path.read_text())
    assert report["videos"][1]["lse_c"] is None
    assert report["videos"][2]["error"] == "c.mp4 does not exist"
    assert csv_path.read_text() == csv_text(rows)


def test_manifest_paths_are_relative_to_the_manifest(tmp_path: Path) -> None:
    manifest = tmp_path / "set.csv"
    manifest.write_text("video,audio,reference\nout/a.mp4,a.wav,\n/abs/b.mp4,,gt/b.mp4\n")
    items, several = collect_items(manifest)
    assert several
    assert items[0].video == tmp_path / "out/a.mp4" and items[0].reference is None
    assert items[1].video == Path("/abs/b.mp4") and items[1].reference == tmp_path / "gt/b.mp4"
    bad = tmp_path / "bad.json"
    bad.write_text('[{"audio": "x.wav"}]')
    with pytest.raises(InputError, match="no 'video'"):
        collect_items(bad)
