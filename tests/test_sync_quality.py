"""Sync quality on generated speakers (``tests/data/sync``, made by
``scripts/make_sync_speakers.py``): lips follow the new speech, and close in every pause of
200 ms or more, for ``warp`` and for ``wav2lip`` (seeded weights) alike."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from lipdub.cli.app import main
from lipdub.eval.agreement import best_lag_correlation, loudness_per_frame, mouth_openings
from lipdub.media.audio import load_audio
from lipdub.media.reader import VideoReader

pytestmark = pytest.mark.slow
DATA = Path(__file__).resolve().parent / "data" / "sync"


def openings(video: Path) -> np.ndarray:
    return mouth_openings(VideoReader(video).frames())


def pause_frames(speech: Path, fps: float, n_frames: int) -> np.ndarray:
    """Frames inside runs of at least 200 ms at <= -40 dB (the acceptance test's pauses)."""
    quiet = loudness_per_frame(load_audio(speech), fps, n_frames) <= -40
    frames: set[int] = set()
    run = 0
    need = int(round(0.2 * fps))
    for i, silent in enumerate(quiet):
        run = run + 1 if silent else 0
        if run >= need:
            frames.update(range(i - run + 1, i + 1))
    return np.array(sorted(frames), dtype=int)


def closed_level(source: np.ndarray) -> float:
    """The source's own closed opening: its 5th percentile (the talking source closes too)."""
    return float(np.nanpercentile(source, 5))


def dub(tmp_path: Path, name: str, *extra: str) -> Path:
    out = tmp_path / f"{name}{len(extra)}.mp4"
    clip, speech = DATA / f"{name}.mp4", DATA / f"{name}_dub.m4a"
    assert main([str(clip), "--audio", str(speech), "-o", str(out), "-q", *extra]) == 0
    return out


@pytest.mark.parametrize("name", ["mirror", "tilted"])
def test_warp_follows_other_speakers_and_closes_in_pauses(tmp_path: Path, name: str) -> None:
    speech = DATA / f"{name}_dub.m4a"
    out = dub(tmp_path, name, "--generator", "warp")
    opening = openings(out)
    fps = VideoReader(out).fps
    loudness = loudness_per_frame(load_audio(speech), fps, len(opening))
    assert np.isfinite(opening).mean() > 0.95
    agreement = best_lag_correlation(opening, loudness, max_lag=3)
    assert agreement.r >= 0.8, agreement

    source = openings(DATA / f"{name}.mp4")
    # The source talks to another speech: its mouth follows this one far less.
    assert agreement.r > best_lag_correlation(source, loudness, max_lag=3).r + 0.15
    pauses = pause_frames(speech, fps, len(opening))
    assert len(pauses) >= 5, "the dub speech has a pause"
    assert np.nanmax(opening[pauses]) <= closed_level(source) + 0.01


def short_speech(tmp_path: Path, start: float, seconds: float) -> Path:
    """``seconds`` of the mirror dub speech from ``start`` as a WAV."""
    first = int(start * 16000)
    samples = load_audio(DATA / "mirror_dub.m4a")[first : first + int(seconds * 16000)]
    path = tmp_path / "short.wav"
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def test_wav2lip_mouth_closes_in_pauses(tmp_path: Path, seeded_checkpoint: Path) -> None:
    """Seeded (random) Wav2Lip weights draw no real mouth (a face tracker finds no closed lips
    in their drawing); with silence closure every pause shows the source face closed."""
    speech = short_speech(tmp_path, 0.56, 0.8)  # speech, a 350 ms pause, speech
    clip, out = DATA / "mirror.mp4", tmp_path / "wav2lip.mp4"
    command = [str(clip), "--audio", str(speech), "-o", str(out), "-q", "--device", "cpu"]
    assert main([*command, "--generator", "wav2lip", "--checkpoint", str(seeded_checkpoint)]) == 0
    closed = openings(out)
    fps = VideoReader(clip).fps
    pauses = pause_frames(speech, fps, len(closed))
    assert len(pauses) >= 5
    assert np.isfinite(closed[pauses]).all(), "a face is found in every pause frame"
    assert np.nanmax(closed[pauses]) <= closed_level(openings(clip)) + 0.01
