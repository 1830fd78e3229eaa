"""Make the two generated speakers of ``tests/test_sync_quality.py`` under ``tests/data/sync/``.

Each is a short clip of a face that already talks (so the shot has open-mouth frames and the
dub must also close a moving mouth), plus a different speech to dub it with:

* ``mirror``: the astronaut portrait mirrored, warmer, closer; talking to one espeak-ng voice,
  dubbed with ``mirror_dub.m4a`` (another voice, with a pause);
* ``tilted``: the portrait rolled 8 degrees, desaturated, a smaller face in a 4:3 frame;
  dubbed with ``tilted_dub.m4a``.

Needs espeak-ng. Run from the repository root: ``.venv/bin/python scripts/make_sync_speakers.py``.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
from skimage import data

from lipdub.cli.app import main as lipdub_main

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "data" / "sync"
FPS, SECONDS, DUB_SECONDS = 25, 4.0, 2.6
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
SPEAKERS = {
    "mirror": {
        "size": (320, 320),
        "talk": ("en-us", "One two three four, five six seven eight."),
        "dub": ("en-gb+f3", "Bake a pie.   Oh, you like it?"),
    },
    "tilted": {
        "size": (400, 300),
        "talk": ("en-us+m3", "Welcome back to the show, everybody."),
        "dub": ("en-us+f2", "Bring an umbrella.   Rain."),
    },
}


def portrait(name: str, size: tuple[int, int], time_s: float) -> np.ndarray:
    """One frame of speaker ``name``: the astronaut photo restyled, with a slow sway."""
    face = data.astronaut()
    width, height = size
    sway = 3.0 * np.sin(2 * np.pi * time_s / 3.7)
    if name == "mirror":
        face = face[:, ::-1]
        matrix = cv2.getRotationMatrix2D((256, 120), 0.8 * np.sin(time_s), width / 250.0)
        matrix[:, 2] += [width / 2 - 256 + sway, height / 2 - 120]
        warm = np.float32([1.08, 1.0, 0.88])
        image = cv2.warpAffine(np.ascontiguousarray(face), matrix, size, flags=cv2.INTER_CUBIC)
        return np.clip(image * warm, 0, 255).astype(np.uint8)
    matrix = cv2.getRotationMatrix2D((260, 170), 8.0 + np.sin(time_s), height / 480.0)
    matrix[:, 2] += [width / 2 - 260 + sway, height / 2 - 170]
    image = cv2.warpAffine(face, matrix, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    grey = image.mean(axis=2, keepdims=True)
    return (0.45 * image + 0.55 * grey).astype(np.uint8)


def speech(voice: str, text: str, path: Path, seconds: float = SECONDS) -> None:
    """``text`` spoken by espeak-ng ``voice``: ``seconds`` of AAC (16 kHz mono) at ``path``."""
    with tempfile.TemporaryDirectory() as folder:
        raw = Path(folder) / "raw.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(raw), text], check=True)
        subprocess.run(
            [FFMPEG, "-y", "-v", "error", "-i", str(raw), "-af", "apad", "-t", str(seconds),
             "-ac", "1", "-ar", "16000", "-c:a", "aac", "-b:a", "32k", str(path)],
            check=True,
        )  # fmt: skip


def still_clip(name: str, size: tuple[int, int], path: Path) -> None:
    command = [
        FFMPEG, "-y", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
        "-s", f"{size[0]}x{size[1]}", "-r", str(FPS), "-i", "-",
        "-c:v", "libx264", "-crf", "20", "-pix_fmt", "yuv420p", str(path),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdin=subprocess.PIPE)
    assert process.stdin is not None
    for index in range(int(SECONDS * FPS)):
        process.stdin.write(np.ascontiguousarray(portrait(name, size, index / FPS)).tobytes())
    process.stdin.close()
    assert process.wait() == 0


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, spec in SPEAKERS.items():
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            still_clip(name, spec["size"], work / "still.mp4")
            speech(*spec["talk"], work / "talk.m4a")
            talking = work / "talking.mp4"
            code = lipdub_main(
                [str(work / "still.mp4"), "--audio", str(work / "talk.m4a"), "-o", str(talking),
                 "--generator", "warp", "-q"]
            )  # fmt: skip
            assert code == 0
            subprocess.run(
                [FFMPEG, "-y", "-v", "error", "-i", str(talking), "-an", "-c:v", "libx264",
                 "-crf", "30", "-preset", "slow", "-pix_fmt", "yuv420p", str(OUT / f"{name}.mp4")],
                check=True,
            )  # fmt: skip
        speech(*spec["dub"], OUT / f"{name}_dub.m4a", DUB_SECONDS)
        sizes = [(OUT / f).stat().st_size // 1024 for f in (f"{name}.mp4", f"{name}_dub.m4a")]
        print(name, "KiB:", sizes)


if __name__ == "__main__":
    main()
