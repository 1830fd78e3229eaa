"""Writing the output video: H.264 + AAC in one ffmpeg process, atomically."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import subprocess
import weakref
from collections.abc import Callable, Mapping
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import numpy as np

from lipdub import __version__
from lipdub.errors import FFmpegError, InputError, OutputError
from lipdub.media.containers import container_for
from lipdub.media.encoder import EncoderSettings
from lipdub.media.ffmpeg import FFmpegProcess, input_url
from lipdub.media.probe import probe

#: Text stored in the output's ``comment`` (and ``description``) metadata.
MARK = f"Lip-synced by lipdub {__version__}"
#: Tags a writer stores when it is given none (the dub passes the source's plus lipdub's).
DEFAULT_METADATA = {"comment": MARK, "description": MARK}


def check_output_path(
    output: str | os.PathLike[str], inputs: list[Path], overwrite: bool = False
) -> Path:
    """``output`` as a Path if a result may be written there, else OutputError.

    Refuses an output that is one of ``inputs`` (symlinks resolved; even with ``overwrite``),
    an existing file without ``overwrite``, a directory or anything else that is not a
    regular file (FIFO, device, socket; even with ``overwrite``), and a missing or read-only
    folder.
    """
    path = Path(output)
    for given in inputs:
        same = path.resolve() == Path(given).resolve()
        if not same and path.exists() and Path(given).exists():
            with contextlib.suppress(OSError):
                same = os.path.samefile(path, given)
        if same:
            raise OutputError(f"{path} is also an input; choose another output path")
    if path.is_dir():
        raise OutputError(f"{path} is a directory; give a file name such as {path / 'out.mp4'}")
    kind = _special_kind(path)
    if kind is not None:
        raise OutputError(f"{path} is {kind}, not a regular file; choose another output path")
    if path.exists() and not overwrite:
        raise OutputError(f"{path} exists; pass --overwrite to replace it")
    folder = path.absolute().parent
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: directory {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {path}: directory {folder} is not writable")
    return path


def _special_kind(path: Path) -> str | None:
    """What an existing ``path`` is when it is neither a regular file nor a directory."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    kinds = {
        stat.S_ISFIFO: "a named pipe (FIFO)",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
        stat.S_ISSOCK: "a socket",
    }
    for test, kind in kinds.items():
        if test(mode):
            return kind
    return None


#: File-name length used when the file system does not say (Linux, macOS, Windows: 255).
DEFAULT_NAME_MAX = 255
#: Longest suffix kept on a shortened temporary name.
_MAX_SUFFIX = 16


def name_max(folder: Path) -> int:
    """The longest file name (in bytes) ``folder`` accepts."""
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (AttributeError, OSError, ValueError):
        return DEFAULT_NAME_MAX


def partial_path(output: Path) -> Path:
    """The hidden temporary file a result is written to before it replaces ``output``.

    ``.NAME.partial.EXT`` beside it; when that would be longer than the folder's name limit,
    the stem is shortened and a hash of the full name keeps it unique.
    """
    suffix = output.suffix or ".mp4"
    if len(os.fsencode(suffix)) > _MAX_SUFFIX:
        suffix = ".mp4"
    name = f".{output.stem}.partial{suffix}"
    limit = min(name_max(output.absolute().parent), DEFAULT_NAME_MAX)
    if len(os.fsencode(name)) <= limit:
        return output.with_name(name)
    digest = hashlib.sha256(os.fsencode(output.name)).hexdigest()[:12]
    tail = f"-{digest}.partial{suffix}"
    room = limit - 1 - len(os.fsencode(tail))
    stem = os.fsencode(output.stem)[:room].decode("utf-8", errors="ignore")
    return output.with_name(f".{stem}{tail}")


class VideoWriter:
    """Encode RGB frames plus an audio track into ``output`` (a context manager).

    Frames (``(height, width, 3)`` uint8) go to ffmpeg's stdin; the audio comes from
    ``audio_path`` (an audio file or a video's audio stream), padded with silence or cut to
    exactly ``duration`` seconds when given. Odd sizes cannot be stored as yuv420p: the
    encoded picture is then one pixel wider/taller, repeating the last column/row
    (``output_size``). The file appears at ``output`` only when the ``with`` block ends
    without error; otherwise ffmpeg is killed and nothing is left behind.
    """

    def __init__(
        self,
        output: str | os.PathLike[str],
        width: int,
        height: int,
        fps: float,
        audio_path: str | os.PathLike[str] | None = None,
        duration: float | None = None,
        *,
        crf: int = 18,
        preset: str = "medium",
        audio_bitrate: str = "192k",
        codec: str = "libx264",
        threads: int | None = None,
        sample_aspect_ratio: Fraction | None = None,
        metadata: Mapping[str, str] | None = None,
        finish: Callable[[Path], None] | None = None,
    ) -> None:
        if width <= 0 or height <= 0 or not fps > 0:
            raise ValueError(f"bad video geometry {width}x{height} @ {fps} fps")
        if duration is not None and not duration > 0:
            raise ValueError(f"duration must be positive, got {duration}")
        self.output = Path(output)
        #: Muxer and codecs for the output's extension (OutputError for one lipdub can't write).
        self.container = container_for(self.output)
        #: Pixel shape kept from the source (anamorphic video stays anamorphic).
        self.sample_aspect_ratio = Fraction(sample_aspect_ratio or 1)
        self.temp_path = partial_path(self.output)
        self.width, self.height, self.fps = width, height, float(fps)
        self.output_size = (width + width % 2, height + height % 2)
        self.audio_path = Path(audio_path) if audio_path is not None else None
        self.duration = duration
        self.crf, self.preset, self.audio_bitrate = crf, preset, audio_bitrate
        self.encoder = EncoderSettings(codec=codec, preset=preset, crf=crf, threads=threads)
        #: Container tags written (the source's and lipdub's; default: the ``MARK`` line).
        self.metadata = dict(DEFAULT_METADATA if metadata is None else metadata)
        #: Called with the finished temporary file before it replaces ``output`` (e.g. to
        #: sign it); an error there leaves ``output`` untouched.
        self.finish = finish
        self.frames_written = 0
        self._process: FFmpegProcess | None = None
        self._cleanup: weakref.finalize | None = None

    def _command(self, audio_stream: int | None) -> list[str]:
        args = [
            "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "{}x{}".format(*self.output_size),
            "-framerate", str(Fraction(self.fps).limit_denominator(1001)), "-i", "pipe:0",
        ]  # fmt: skip
        if self.audio_path is not None:
            args += ["-i", input_url(self.audio_path), "-map", "0:v", "-map", f"1:{audio_stream}"]
            # Audio starts at the file's start, as in load_audio (silence before a late start).
            audio_filters = "aresample=first_pts=0"
            if self.duration is not None:
                seconds = f"{self.duration:.6f}"
                audio_filters += f",apad=whole_dur={seconds},atrim=end={seconds}"
            args += ["-af", audio_filters]
            args += self.container.audio_args(self.audio_bitrate)
        else:
            args += ["-map", "0:v"]
        args += [
            *self.container.video_args(self.encoder.args()), "-pix_fmt", "yuv420p",
            "-map_metadata", "-1",
        ]  # fmt: skip
        for key, value in self.metadata.items():
            args += ["-metadata", f"{key}={value}"]
        if self.sample_aspect_ratio != 1:
            sar = self.sample_aspect_ratio
            args += ["-vf", f"setsar={sar.numerator}/{sar.denominator}"]
        args += self.container.muxer_args()
        return [*args, "-f", self.container.muxer, os.fspath(self.temp_path.absolute())]

    def open(self) -> VideoWriter:
        """Start ffmpeg (``with VideoWriter(...)`` does this)."""
        if self._process is not None:
            raise RuntimeError("VideoWriter is already open")
        audio_stream = None
        if self.audio_path is not None:
            audio_info = probe(self.audio_path)
            if not audio_info.has_audio:
                raise InputError(f"{self.audio_path} has no audio stream")
            audio_stream = audio_info.audio_stream
        self._process = FFmpegProcess(self._command(audio_stream), stdin=subprocess.PIPE)
        self._cleanup = weakref.finalize(self, _discard, self._process, self.temp_path)
        return self

    def write(self, frame: np.ndarray) -> None:
        """Append one RGB uint8 ``(height, width, 3)`` frame."""
        if self._process is None:
            raise RuntimeError("VideoWriter is not open; use it in a `with` block")
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(
                f"frame must be uint8 ({self.height}, {self.width}, 3), "
                f"got {frame.dtype} {frame.shape}"
            )
        if self.output_size != (self.width, self.height):
            frame = np.pad(frame, ((0, self.height % 2), (0, self.width % 2), (0, 0)), mode="edge")
        try:
            self._process.stdin.write(memoryview(np.ascontiguousarray(frame)).cast("B"))
        except (BrokenPipeError, ValueError, OSError):
            self._fail()
        self.frames_written += 1

    def close(self) -> None:
        """Finish encoding and move the result onto ``output``; FFmpegError if ffmpeg failed."""
        process = self._process
        if process is None:
            raise RuntimeError("VideoWriter is not open")
        try:
            if self.frames_written == 0:
                self.abort()
                raise FFmpegError(f"no frames were written to {self.output}")
            try:
                process.stdin.close()
            except OSError:
                self._fail()
            if process.wait() != 0 or not self.temp_path.is_file():
                self._fail()
            if self.finish is not None:
                self.finish(self.temp_path)
            os.replace(self.temp_path, self.output)
        except BaseException:
            self.abort()
            raise
        self._finish()

    def abort(self) -> None:
        """Stop ffmpeg and delete the temporary file; ``output`` is left untouched."""
        if self._process is not None:
            _discard(self._process, self.temp_path)
        self._finish()

    def _fail(self) -> None:
        assert self._process is not None
        self._process.wait()
        message = self._process.error_line()
        self.abort()
        raise FFmpegError(f"ffmpeg failed writing {self.output}: {message}")

    def _finish(self) -> None:
        if self._cleanup is not None:
            self._cleanup.detach()
        if self._process is not None:
            self._process.kill()
        self._process = None
        self._cleanup = None

    def __enter__(self) -> VideoWriter:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _discard(process: FFmpegProcess, temp_path: Path) -> None:
    """Kill ``process`` and remove ``temp_path`` (also run if a writer is garbage-collected)."""
    process.kill()
    with contextlib.suppress(FileNotFoundError):
        temp_path.unlink()
