"""Finding the ffmpeg binary and running it (no ffprobe: everything goes through ffmpeg)."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from lipdub.errors import FFmpegError

#: Environment variable naming the ffmpeg binary to use.
FFMPEG_ENV = "LIPDUB_FFMPEG"

_HOW_TO_FIX = (
    "install ffmpeg on PATH, `pip install imageio-ffmpeg`, or set LIPDUB_FFMPEG to an ffmpeg binary"
)

# ffmpeg's generic follow-up lines that say nothing about the cause of a failure.
_NOISE = re.compile(
    r"Terminating thread|Task finished with error code|Nothing was written into output file|"
    r"Could not open encoder before EOF|Error sending frames to consumers|"
    r"Error while opening encoder - maybe|Conversion failed|Error opening input files?\b|"
    r"Error opening output files?\b|Error while filtering|Error closing file|Exiting normally|"
    r"received signal|^Press \[q\]|^frame=|^size=|At least one output file must be specified",
    re.IGNORECASE,
)
_PREFIX = re.compile(r"^(\[[^\]]*@ ?0x[0-9a-f]+\] ?)+", re.IGNORECASE)


@functools.lru_cache(maxsize=1)
def find_ffmpeg() -> str:
    """The ffmpeg binary: ``$LIPDUB_FFMPEG``, else ``ffmpeg`` on PATH, else imageio-ffmpeg's.

    The answer is cached; call ``find_ffmpeg.cache_clear()`` after changing the environment.
    """
    configured = os.environ.get(FFMPEG_ENV, "").strip()
    if configured:
        resolved = shutil.which(configured)
        if resolved is None:
            raise FFmpegError(
                f"{FFMPEG_ENV}={configured} is not an executable ffmpeg; fix or unset it"
            )
        return resolved
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    try:
        import imageio_ffmpeg

        bundled = imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # noqa: BLE001 - any failure means "not available"
        bundled = None
    if bundled and os.path.isfile(bundled) and os.access(bundled, os.X_OK):
        return bundled
    raise FFmpegError(f"ffmpeg was not found: {_HOW_TO_FIX}")


def ffmpeg_command(*args: str) -> list[str]:
    """A full ffmpeg command line: the binary, quiet banner, no stdin reading, then ``args``."""
    return [find_ffmpeg(), "-hide_banner", "-nostdin", *args]


def input_url(path: str | os.PathLike[str]) -> str:
    """``path`` as an ffmpeg URL that is never mistaken for a protocol or an option."""
    return "file:" + os.fspath(Path(path).absolute())


def last_error_line(stderr: str | bytes) -> str:
    """The last line of ffmpeg's ``stderr`` that says what went wrong (without ``[x @ 0x..]``)."""
    if isinstance(stderr, bytes):
        stderr = stderr.decode("utf-8", errors="replace")
    meaningful = []
    for raw in stderr.splitlines():
        line = _PREFIX.sub("", raw.strip()).strip()
        if line and not _NOISE.search(line):
            meaningful.append(line)
    if meaningful:
        return meaningful[-1]
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else "no error message"


def run_ffmpeg(args: Sequence[str]) -> subprocess.CompletedProcess[bytes]:
    """Run ``ffmpeg_command(*args)`` to completion, capturing stdout and stderr (no check)."""
    try:
        return subprocess.run(ffmpeg_command(*args), capture_output=True, check=False)
    except OSError as error:
        raise FFmpegError(f"could not run ffmpeg ({error}): {_HOW_TO_FIX}") from error


class FFmpegProcess:
    """A running ffmpeg whose stderr goes to a temporary file (so pipes never deadlock).

    The process runs in its own session: Ctrl-C reaches Python only, which then cleans up.
    """

    def __init__(self, args: Sequence[str], *, stdin: int | None = None, stdout: int | None = None):
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in kill()
        try:
            self.popen = subprocess.Popen(
                ffmpeg_command(*args),
                stdin=stdin if stdin is not None else subprocess.DEVNULL,
                stdout=stdout if stdout is not None else subprocess.DEVNULL,
                stderr=self._stderr,
                start_new_session=True,
            )
        except OSError as error:
            self._stderr.close()
            raise FFmpegError(f"could not run ffmpeg ({error}): {_HOW_TO_FIX}") from error

    @property
    def stdin(self) -> IO[bytes]:
        assert self.popen.stdin is not None
        return self.popen.stdin

    @property
    def stdout(self) -> IO[bytes]:
        assert self.popen.stdout is not None
        return self.popen.stdout

    def wait(self) -> int:
        """Wait for ffmpeg to exit; its return code."""
        return self.popen.wait()

    def stderr_text(self) -> str:
        """Everything ffmpeg wrote to stderr so far."""
        if self._stderr.closed:
            return ""
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", errors="replace")

    def error_line(self) -> str:
        """The last meaningful stderr line (see ``last_error_line``)."""
        return last_error_line(self.stderr_text())

    def kill(self) -> None:
        """Stop ffmpeg now (if still running), reap it and close its pipes and stderr file."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.kill()
        for pipe in (self.popen.stdin, self.popen.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        self.popen.wait()
        self._stderr.close()
