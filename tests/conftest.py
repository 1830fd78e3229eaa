"""Shared fixtures: isolated caches, plugin state, and generated media."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from lipdub.media.audio import write_wav  # noqa: F401 - the tests import it from here

_SESSION_DIRS: set[Path] = set()  # folders of session fixtures, kept until the suite ends


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Every test gets an empty lipdub cache and no network access to model hubs."""
    home = tmp_path_factory.mktemp("lipdub-home")
    monkeypatch.setenv("LIPDUB_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(home / "hf"))
    yield
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module", autouse=True)
def _module_folders_removed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """What a module's fixtures wrote (checkpoints, media: GBs over the suite) goes when the
    module ends; after a failure everything stays for a look. Passing tests' own folders go
    at once (pyproject: tmp_path_retention_policy)."""
    base = tmp_path_factory.getbasetemp()
    before, failed = set(base.iterdir()), request.session.testsfailed
    yield
    if request.session.testsfailed == failed:
        for folder in set(base.iterdir()) - before - _SESSION_DIRS:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def fresh_plugins() -> Iterator[None]:
    """Forget loaded plugins before and after the test (for tests that register their own)."""
    from lipdub import plugins

    plugins.reset()
    yield
    plugins.reset()


def ffmpeg_exe() -> str:
    from lipdub.media.ffmpeg import find_ffmpeg

    return find_ffmpeg()


def run_ffmpeg(*args: str) -> None:
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args],
        check=True,
        capture_output=True,
    )


def speech_like(seconds: float, rate: int = 16000, seed: int = 0) -> np.ndarray:
    """Voiced bursts (harmonics of ~120 Hz shaped by moving formants) separated by pauses."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 120 + 15 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 20))
    envelope = np.zeros_like(t)
    pos = 0.25
    while pos < seconds - 0.3:
        length = rng.uniform(0.15, 0.45)
        seg = (t >= pos) & (t < pos + length)
        envelope[seg] = np.sin(np.pi * (t[seg] - pos) / length) ** 0.5
        pos += length + rng.uniform(0.1, 0.4)
    signal = voice * envelope + 0.003 * rng.standard_normal(t.size)
    return (0.5 * signal / np.abs(signal).max()).astype(np.float32)


def astronaut_face(size: int = 256) -> np.ndarray:
    """A head-and-shoulders crop of scikit-image's public-domain astronaut portrait (RGB)."""
    from skimage import data

    image = data.astronaut()
    crop = image[0:300, 110:410]
    import cv2

    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)


def make_talking_head(path: Path, seconds: float = 2.0, fps: int = 25, size: int = 256) -> Path:
    """An H.264 clip of the astronaut's face drifting gently (no audio)."""
    import cv2

    face = astronaut_face(size)
    n = int(round(seconds * fps))
    frames = []
    for i in range(n):
        dx = 3 * np.sin(2 * np.pi * i / (fps * 2.0))
        dy = 2 * np.sin(2 * np.pi * i / (fps * 3.0))
        matrix = np.float32([[1, 0, dx], [0, 1, dy]])
        frames.append(cv2.warpAffine(face, matrix, (size, size), borderMode=cv2.BORDER_REFLECT))
    raw = path.with_suffix(".rgb")
    raw.write_bytes(np.stack(frames).tobytes())
    run_ffmpeg(
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{size}x{size}",
        "-r",
        str(fps),
        "-i",
        str(raw),
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-crf",
        "12",
        str(path),
    )
    raw.unlink()
    return path


def batch_clips(root: Path) -> tuple[Path, Path]:
    """``root/videos/{a,b}.mp4`` (1 s, 160 px) + a corrupt ``videos/bad.mp4``, and
    ``root/audio/{a,b,bad}.wav``: a folder batch with one broken item."""
    videos, audio = root / "videos", root / "audio"
    videos.mkdir()
    audio.mkdir()
    for stem in "ab":
        make_talking_head(videos / f"{stem}.mp4", seconds=1.0, size=160)
    (videos / "bad.mp4").write_bytes(b"\x00\x17corrupt, not a video" * 40)
    for seed, stem in enumerate(("a", "b", "bad")):
        write_wav(audio / f"{stem}.wav", speech_like(1.2, seed=seed))
    return videos, audio


def check_batch_outputs(out: Path) -> dict[str, int]:
    """The two good items of :func:`batch_clips` were dubbed (1.2 s, video and audio) and
    nothing partial is left; returns each output's modification time."""
    from lipdub.media.probe import probe

    assert sorted(path.name for path in out.iterdir()) == ["a.mp4", "b.mp4"]  # no partials
    for stem in "ab":
        info = probe(out / f"{stem}.mp4")
        assert info.has_video and info.has_audio
        assert info.duration == pytest.approx(1.2, abs=0.08)
    return {path.name: path.stat().st_mtime_ns for path in out.iterdir()}


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    _SESSION_DIRS.add(folder)
    return folder


@pytest.fixture(scope="session")
def talking_head(media_dir: Path) -> Path:
    """A 2 s 256x256 25 fps clip of a face."""
    return make_talking_head(media_dir / "face.mp4")


@pytest.fixture(scope="session")
def speech_wav(media_dir: Path) -> Path:
    """3 s of speech-like audio at 16 kHz (longer than the clip: exercises pingpong)."""
    return write_wav(media_dir / "speech.wav", speech_like(3.0))


@pytest.fixture(scope="session")
def seeded_checkpoint(media_dir: Path) -> Path:
    """A Wav2Lip checkpoint with seeded random weights, saved in the public format."""
    from lipdub.models.checkpoint import save_checkpoint, seeded_wav2lip

    path = media_dir / "wav2lip_seeded.pth"
    save_checkpoint(seeded_wav2lip(0), path)
    return path
