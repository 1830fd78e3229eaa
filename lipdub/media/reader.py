"""Decoding video frames (and still images) to RGB arrays through an ffmpeg pipe."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from fractions import Fraction

import numpy as np

from lipdub import defaults
from lipdub.errors import FFmpegError, InputError
from lipdub.media.ffmpeg import FFmpegProcess, input_url, last_error_line, run_ffmpeg
from lipdub.media.probe import MediaInfo, probe

#: Frame rate a still image is "played" at when no ``fps`` is given.
STILL_FPS = defaults.STILL_FPS
#: How far before the wanted frame a seek lands; frames in between are decoded and dropped.
SEEK_MARGIN_SECONDS = 1.0


class VideoReader:
    """Frames of a video as RGB uint8 ``(H, W, 3)`` arrays at a constant frame rate.

    Frame ``i`` shows the source at ``info.start_time + i / fps``: ffmpeg's ``fps`` filter
    repeats or drops source frames, each source frame counting from the output slot nearest
    its timestamp, so a variable-frame-rate input stays in sync (within half a frame) with
    its audio as ``load_audio`` returns it. Frames are display-oriented (rotation metadata
    applied); the size is ``width`` x ``height`` (stored pixels, sample aspect ratio ignored).
    A still image gives the same picture for every frame index.
    """

    def __init__(self, source: str | os.PathLike[str] | MediaInfo, fps: float | None = None):
        info = source if isinstance(source, MediaInfo) else probe(source)
        if not info.has_video:
            raise InputError(f"{info.path} has no video stream")
        if fps is not None and not fps > 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.info = info
        #: The frame rate as ffmpeg is given it (exact for NTSC rates such as 30000/1001).
        self.rate = Fraction(fps or info.fps or STILL_FPS).limit_denominator(1001)
        self.fps: float = float(self.rate)
        assert info.width is not None and info.height is not None
        self.width: int = info.width
        self.height: int = info.height

    @property
    def n_frames(self) -> int:
        """Frame count at ``fps``: the probed count at the file's rate, else estimated."""
        return self.info.frames_at(self.fps)

    @property
    def duration(self) -> float:
        """The source's duration in seconds (0.0 for a still image)."""
        return self.info.duration

    def frames(self, start: int = 0, count: int | None = None) -> Iterator[np.ndarray]:
        """Yield frames ``start, start+1, ...`` (``count`` of them, or up to the end).

        ``frames(start=k)`` gives exactly the pixels that skipping ``k`` frames of
        ``frames()`` gives. Closing the generator early stops ffmpeg. For a still image the
        picture is yielded ``count`` times (once when ``count`` is None).
        """
        if start < 0:
            raise ValueError(f"start must be >= 0, got {start}")
        if count is not None and count <= 0:
            return
        if self.info.is_still:
            image = read_image(self.info)
            for _ in range(1 if count is None else count):
                yield image.copy()
            return
        raw_output = ["-s", f"{self.width}x{self.height}", "-pix_fmt", "rgb24", "-f", "rawvideo"]
        yield from self._stream([*self._decode_args(start, count), *raw_output, "pipe:1"], count)

    def _decode_args(self, start: int, count: int | None) -> list[str]:
        """ffmpeg input and filter options selecting frames ``start`` .. ``start+count-1``."""
        seek_seconds = max(0.0, start / self.fps - SEEK_MARGIN_SECONDS)
        args = ["-loglevel", "error", "-copyts"]
        if seek_seconds > 0:
            # Keyframe seek before the target; the filters below pick the exact frame.
            args += ["-noaccurate_seek", "-ss", f"{seek_seconds:.6f}"]
        args += ["-i", input_url(self.info.path), "-map", f"0:{self.info.video_stream}"]
        # With copyts and the same start_time every time, the fps filter's grid of output
        # timestamps does not depend on where decoding began; trim then drops the frames
        # before ``start`` (padding frames ahead of the seek point are cheap references).
        filters = f"fps=fps={self.rate}:start_time={self.info.start_time:.6f}"
        if start:
            filters += f",trim=start_frame={start}"
        args += ["-vf", filters, "-fps_mode", "passthrough", "-an", "-sn", "-dn"]
        if count is not None:
            args += ["-frames:v", str(count)]
        return args

    def _stream(self, args: list[str], count: int | None) -> Iterator[np.ndarray]:
        frame_bytes = self.width * self.height * 3
        process = FFmpegProcess(args, stdout=subprocess.PIPE)
        try:
            produced = 0
            while count is None or produced < count:
                buffer = bytearray(frame_bytes)
                got = _read_into(process.stdout, buffer)
                if got == 0:
                    break
                if got < frame_bytes:
                    process.wait()
                    raise FFmpegError(
                        f"ffmpeg stopped mid-frame reading {self.info.path}: {process.error_line()}"
                    )
                yield np.frombuffer(buffer, dtype=np.uint8).reshape(self.height, self.width, 3)
                produced += 1
            if (count is None or produced < count) and process.wait() != 0:
                if produced == 0:  # not one frame: the file is damaged, not ffmpeg broken
                    raise InputError(
                        f"{self.info.path}: no video frame could be decoded, the file is "
                        f"damaged or cut short (ffmpeg: {process.error_line()})"
                    )
                raise FFmpegError(f"ffmpeg failed reading {self.info.path}: {process.error_line()}")
        finally:
            process.kill()


def _read_into(stream: object, buffer: bytearray) -> int:
    """Fill ``buffer`` from ``stream``; the number of bytes read (short only at end of stream)."""
    view = memoryview(buffer)
    got = 0
    while got < len(buffer):
        n = stream.readinto(view[got:])  # type: ignore[attr-defined]
        if not n:
            break
        got += n
    return got


def read_image(source: str | os.PathLike[str] | MediaInfo) -> np.ndarray:
    """The picture of an image file (or the first frame of a video) as RGB uint8 ``(H, W, 3)``.

    Decoded by ffmpeg, display-oriented where ffmpeg reports an orientation.
    """
    info = source if isinstance(source, MediaInfo) else probe(source)
    if not info.has_video:
        raise InputError(f"{info.path} has no picture (it holds audio only)")
    assert info.width is not None and info.height is not None
    result = run_ffmpeg(
        [
            "-loglevel", "error", "-i", input_url(info.path), "-map", f"0:{info.video_stream}",
            "-frames:v", "1", "-s", f"{info.width}x{info.height}", "-pix_fmt", "rgb24",
            "-f", "rawvideo", "pipe:1",
        ]
    )  # fmt: skip
    expected = info.width * info.height * 3
    if result.returncode != 0 or len(result.stdout) != expected:
        reason = last_error_line(result.stderr)
        raise InputError(f"{info.path}: could not decode picture ({reason})")
    return np.frombuffer(bytearray(result.stdout), dtype=np.uint8).reshape(
        info.height, info.width, 3
    )


def count_frames(source: str | os.PathLike[str] | MediaInfo, fps: float | None = None) -> int:
    """The exact number of frames ``VideoReader(source, fps).frames()`` yields (decodes all)."""
    reader = VideoReader(source, fps)
    if reader.info.is_still:
        return 1
    args = reader._decode_args(0, None)
    result = run_ffmpeg([*args, "-f", "null", "-progress", "pipe:1", "-"])
    counts = re.findall(rb"^frame=(\d+)", result.stdout, flags=re.MULTILINE)
    if result.returncode != 0 or not counts:
        raise FFmpegError(f"ffmpeg failed counting frames of {reader.info.path}: "
                          f"{last_error_line(result.stderr)}")  # fmt: skip
    return int(counts[-1])
