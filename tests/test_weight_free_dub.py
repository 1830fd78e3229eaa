"""Issue acceptance for the weight-free default: offline, no weights, lips follow the speech."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from lipdub.cli.app import main
from lipdub.eval.agreement import best_lag_correlation, loudness_per_frame, mouth_openings
from lipdub.media.audio import load_audio
from lipdub.media.probe import probe
from lipdub.media.reader import VideoReader

pytestmark = pytest.mark.slow
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def example_dub(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    work = tmp_path_factory.mktemp("example")
    clip, speech = work / "clip.mp4", work / "speech.wav"
    shutil.copy(EXAMPLES / "astronaut.mp4", clip)
    shutil.copy(EXAMPLES / "speech.wav", speech)
    out = work / "out.mp4"
    assert main([str(clip), "--audio", str(speech), "-o", str(out), "-q"]) == 0
    return clip, speech, out


def measure(video: Path, speech: Path) -> tuple[np.ndarray, np.ndarray]:
    reader = VideoReader(video)
    opening = mouth_openings(reader.frames())
    loudness = loudness_per_frame(load_audio(speech), reader.fps, len(opening))
    return opening, loudness


def test_offline_default_dub_lasts_as_long_as_the_speech(example_dub) -> None:
    _, speech, out = example_dub
    assert probe(out).duration == pytest.approx(probe(speech).duration, abs=0.06)
    assert probe(out).has_audio


def test_mouth_opening_follows_loudness(example_dub) -> None:
    clip, speech, out = example_dub
    opening, loudness = measure(out, speech)
    assert np.isfinite(opening).mean() > 0.95
    dubbed = best_lag_correlation(opening, loudness, max_lag=3)
    assert dubbed.r >= 0.85, dubbed
    spread = np.nanpercentile(opening, 95) - np.nanpercentile(opening, 5)
    assert spread >= 0.02

    source_opening, source_loudness = measure(clip, speech)
    source = best_lag_correlation(source_opening, source_loudness, max_lag=3)
    assert abs(source.r) < 0.3, source

    # lips closed in every silence of 200 ms or more
    quiet = loudness <= -40
    closed_frames = []
    run = 0
    for i, silent in enumerate(quiet):
        run = run + 1 if silent else 0
        if run >= 5:  # 5 frames at 25 fps = 200 ms
            closed_frames.extend(range(i - run + 1, i + 1))
    closed_frames = sorted(set(closed_frames))
    assert closed_frames, "the example speech has pauses"
    assert np.nanmax(opening[closed_frames]) <= 0.025
