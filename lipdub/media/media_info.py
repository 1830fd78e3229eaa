"""``MediaInfo``: what a media file holds, and the rules both probe readers share."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from lipdub.errors import InputError

#: Demuxers that read one picture from one file.
IMAGE_DEMUXERS = {"image2"}
#: Codecs whose single-frame streams count as still images.
IMAGE_CODECS = {
    "png", "apng", "mjpeg", "jpeg2000", "jpegls", "jpegxl", "bmp", "webp", "tiff", "gif",
    "ppm", "pgm", "pgmyuv", "pbm", "pam", "qoi", "sgi", "targa", "dpx", "exr", "pcx", "xbm",
    "xwd", "sunrast", "hdr", "photocd", "psd",
}  # fmt: skip


@dataclass(frozen=True)
class MediaInfo:
    """What ``probe`` found in a media file.

    ``width``/``height`` are the DISPLAY size (after rotation), ``rotation`` the clockwise
    degrees (0/90/180/270) a player turns the stored picture (a portrait phone clip: 90).
    ``fps`` is the average frame rate (None for still images and audio). ``n_frames`` is the
    number of frames of the video stream (exact where the container indexes them or a quick
    demux counts them, else ``round(video duration * fps)``; 1 for stills, 0 without video).
    ``sample_aspect_ratio`` is the pixel shape of the display-oriented picture (1 = square).
    """

    path: Path
    has_video: bool
    has_audio: bool
    width: int | None
    height: int | None
    rotation: int
    fps: float | None
    duration: float
    n_frames: int
    is_still: bool
    audio_sample_rate: int | None
    audio_channels: int | None
    video_codec: str | None
    audio_codec: str | None
    #: ffmpeg's demuxer name, e.g. ``mov,mp4,m4a,3gp,3g2,mj2`` or ``png_pipe``.
    container: str = ""
    #: Timestamp (seconds) at which the file starts; frame 0 shows this instant.
    start_time: float = 0.0
    #: Index of the video / audio stream used (``-map 0:INDEX``); None when absent.
    video_stream: int | None = None
    audio_stream: int | None = None
    #: Container-level metadata tags (``comment``, ``encoder``, ...).
    metadata: dict[str, str] = field(default_factory=dict)
    #: Width:height of one pixel as displayed (``Fraction(64, 45)`` for anamorphic PAL).
    sample_aspect_ratio: Fraction = Fraction(1)
    #: True when ``n_frames`` was counted (index or demux), False when estimated.
    exact_frames: bool = False

    def frames_at(self, fps: float) -> int:
        """Frames a reader gives at ``fps``: ``n_frames`` at the native rate, else estimated."""
        if self.is_still:
            return 1
        if not self.has_video:
            return 0
        if self.fps and abs(fps - self.fps) < 1e-6:
            return self.n_frames
        seconds = self.n_frames / self.fps if self.fps else self.duration
        return round(seconds * fps)


def check_readable_file(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path, or InputError when it is missing, a directory, empty or unreadable."""
    file = Path(path)
    if not file.exists():
        raise InputError(f"{file}: no such file")
    if file.is_dir():
        raise InputError(f"{file} is a directory, not a media file")
    if not os.access(file, os.R_OK):
        raise InputError(f"{file}: permission denied")
    if file.stat().st_size == 0:
        raise InputError(f"{file} is empty (0 bytes), not a media file")
    return file


def looks_still(
    container: str, codec: str, fps: float | None, duration: float, has_audio: bool
) -> bool:
    """Whether a video stream is one picture (an image file, or one image-codec frame)."""
    if container.endswith("_pipe") or container in IMAGE_DEMUXERS:
        return True
    if codec not in IMAGE_CODECS or has_audio:
        return False
    return not duration or not fps or duration * fps < 1.5


def clockwise(counter_clockwise: float) -> int:
    """A display-matrix angle (counter-clockwise) as a clockwise multiple of 90 (else 0)."""
    degrees = -counter_clockwise % 360
    nearest = round(degrees / 90) * 90
    # ffmpeg only auto-rotates by multiples of 90 degrees (within one degree).
    return nearest % 360 if abs(degrees - nearest) < 1 else 0


def snap_rate(fps: float) -> float:
    """A rate rounded to 2 decimals back to an exact NTSC rate such as 30000/1001."""
    ntsc = round(fps * 1.001)
    if abs(fps - ntsc / 1.001) < 0.006 and abs(fps - round(fps)) > 0.006:
        return ntsc * 1000 / 1001
    return fps


def display_sar(stored: Fraction | None, rotation: int) -> Fraction:
    """The pixel aspect ratio after turning the picture by ``rotation`` degrees."""
    if not stored or stored <= 0:
        return Fraction(1)
    return 1 / stored if rotation in (90, 270) else stored


def scaled(info: MediaInfo, resize_factor: int = 1, output_height: int | None = None) -> MediaInfo:
    """``info`` read at a smaller picture size: ``height / resize_factor`` (Wav2Lip's
    ``--resize_factor``) or ``output_height`` rows, the width keeping the shape (both even).

    Readers scale every frame to ``info.width`` x ``info.height``, so the dub works and
    writes at that size. InputError for a factor below 1 or a height outside 16..source.
    """
    import dataclasses

    if resize_factor < 1:
        raise InputError(
            f"--resize-factor must be a whole number of 1 or more, got {resize_factor}"
        )
    if not info.has_video or info.width is None or info.height is None:
        return info
    height = output_height if output_height is not None else info.height // resize_factor
    if output_height is None and resize_factor == 1:
        return info
    if not 16 <= height <= info.height:
        raise InputError(
            f"--output-height must be from 16 to the video's height {info.height}, got {height}"
        )
    height -= height % 2
    width = max(2, round(info.width * height / info.height / 2) * 2)
    return dataclasses.replace(info, width=width, height=height)
