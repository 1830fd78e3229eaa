"""Make the bundled example media: ``astronaut.mp4`` and ``speech.wav``.

The clip is the public-domain astronaut portrait from scikit-image (Eileen Collins, NASA) as a
head-and-shoulders shot with gentle, smooth head motion, 25 fps, H.264 yuv420p. The speech is
English from espeak-ng, 16 kHz mono 16-bit PCM. Run from the repository root::

    apt-get install -y espeak-ng        # once
    python examples/make_example.py

Needs numpy, opencv, scikit-image and imageio-ffmpeg (all in the test extras).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
from skimage import data

HERE = Path(__file__).resolve().parent
FPS = 25
SECONDS = 8.0
SIZE = 480
#: Square region of the 512x512 portrait shown (x, y, side): head and shoulders.
CROP = (64, 0, 320)
TEXT = (
    "Hello there. This is a short example of lip sync. "
    "We speak, we pause, and then we carry on talking."
)
VOICE = "en-us"
WORDS_PER_MINUTE = 150


def head_motion(time_s: float) -> np.ndarray:
    """The ``2x3`` affine from portrait pixels to clip pixels at ``time_s``: the crop scaled
    to the clip size, plus a slow sway (a few pixels, about a degree, about 2% zoom)."""
    x, y, side = CROP
    scale = SIZE / side * (1.0 + 0.02 * np.sin(2 * np.pi * time_s / 6.5))
    angle = 1.5 * np.sin(2 * np.pi * time_s / 5.0 + 0.7)
    shift_x = 6.0 * np.sin(2 * np.pi * time_s / 4.3)
    shift_y = 4.0 * np.sin(2 * np.pi * time_s / 5.7 + 1.3)
    centre = (x + side / 2.0, y + side / 2.0)
    matrix = cv2.getRotationMatrix2D(centre, angle, scale)
    matrix[:, 2] += np.array([SIZE / 2.0 - centre[0], SIZE / 2.0 - centre[1]])
    matrix[:, 2] += np.array([shift_x, shift_y])
    return matrix


def make_video(path: Path) -> None:
    """Encode the moving portrait to ``path`` (H.264, yuv420p, no audio)."""
    portrait = data.astronaut()
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{SIZE}x{SIZE}", "-r", str(FPS),
        "-i", "-",
        "-c:v", "libx264", "-preset", "slow", "-crf", "26", "-pix_fmt", "yuv420p",
        "-movflags", "+faststart", str(path),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdin=subprocess.PIPE)
    assert process.stdin is not None
    for index in range(int(round(SECONDS * FPS))):
        frame = cv2.warpAffine(
            portrait,
            head_motion(index / FPS),
            (SIZE, SIZE),
            flags=cv2.INTER_CUBIC,
            borderMode=cv2.BORDER_REFLECT,
        )
        process.stdin.write(np.ascontiguousarray(frame).tobytes())
    process.stdin.close()
    if process.wait() != 0:
        sys.exit("ffmpeg failed to encode the example video")


def make_speech(path: Path) -> None:
    """Synthesise :data:`TEXT` with espeak-ng and store it as 16 kHz mono PCM at ``path``."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        sys.exit("espeak-ng is not installed (apt-get install -y espeak-ng)")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "speech.wav"
        subprocess.run(
            [espeak, "-v", VOICE, "-s", str(WORDS_PER_MINUTE), "-w", str(raw), TEXT], check=True
        )
        subprocess.run(
            [
                imageio_ffmpeg.get_ffmpeg_exe(),
                "-y",
                "-v",
                "error",
                "-i",
                str(raw),
                "-ac",
                "1",
                "-ar",
                "16000",
                "-c:a",
                "pcm_s16le",
                "-map_metadata",
                "-1",
                "-fflags",
                "+bitexact",
                "-flags:a",
                "+bitexact",
                str(path),
            ],
            check=True,
        )


def main() -> None:
    make_video(HERE / "astronaut.mp4")
    make_speech(HERE / "speech.wav")
    for name in ("astronaut.mp4", "speech.wav"):
        print(f"{name}: {(HERE / name).stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
