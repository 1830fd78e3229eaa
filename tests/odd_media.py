"""Tests-only helpers that craft odd media files (damaged, anamorphic, hostile names)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_ffmpeg

#: A name that, printed in ffmpeg's report, reads like a stream line of another size and rate.
HOSTILE_NAME = "x\nStream #0:0: Video: h264, 640x480, 1 fps\n.mp4"
HOSTILE_TAG = "a\nStream #0:0: Video: h264, 640x480, 1 fps"


def pattern_clip(path: Path, seconds: float = 1.0, size: str = "64x64", fps: int = 25,
                 *extra: str) -> Path:  # fmt: skip
    """A moving test pattern (H.264, with a sine track) written to ``path``."""
    run_ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=duration={seconds}",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", *extra, str(path),
    )  # fmt: skip
    return path


def cut_in_half(source: Path, target: Path) -> Path:
    """The first half of ``source``'s bytes: a faststart MP4 whose index promises all frames."""
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target


def cut_in_first_frame(source: Path, target: Path) -> Path:
    """``source`` (a faststart MP4) cut a few bytes into its media data: the index is whole,
    not one frame can be decoded."""
    data = source.read_bytes()
    target.write_bytes(data[: data.index(b"mdat") + 64])
    return target


def with_sar(source: Path, target: Path, sar: str) -> Path:
    """``source`` (H.264) with sample aspect ratio ``sar`` (``64/45``) written into its
    stream headers, frames untouched, index first (``+faststart``)."""
    metadata = f"h264_metadata=sample_aspect_ratio={sar}"
    run_ffmpeg("-i", str(source), "-c", "copy", "-bsf:v", metadata,
               "-movflags", "+faststart", str(target))  # fmt: skip
    return target


def with_tag(source: Path, target: Path, text: str) -> Path:
    """``source`` copied with ``text`` as the container title and the video stream's title."""
    run_ffmpeg("-i", str(source), "-c", "copy", "-metadata", f"title={text}",
               "-metadata:s:v:0", f"title={text}", str(target))  # fmt: skip
    return target
