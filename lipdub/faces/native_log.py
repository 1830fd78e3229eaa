"""Silence the native (C++) log lines mediapipe prints when its graphs start."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# fd 2 is shared by every thread: nested or concurrent uses (``lipdub batch --jobs``) count,
# the first silences and the last restores.
_lock = threading.Lock()
_depth = 0
_saved_fd: int | None = None


def _silence() -> None:
    global _depth, _saved_fd
    with _lock:
        if _depth == 0:
            sys.stderr.flush()
            _saved_fd = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
        _depth += 1


def _restore() -> None:
    global _depth, _saved_fd
    with _lock:
        _depth -= 1
        if _depth == 0 and _saved_fd is not None:
            os.dup2(_saved_fd, 2)
            os.close(_saved_fd)
            _saved_fd = None


@contextmanager
def native_stderr_silenced(enabled: bool = True) -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the duration (unless ``LIPDUB_DEBUG=1``).

    mediapipe's TFLite/absl start-up messages ("Created TensorFlow Lite XNNPACK delegate",
    "Feedback manager requires ...") are written by C++ straight to fd 2, bypassing Python.
    """
    if not enabled or os.environ.get("LIPDUB_DEBUG") == "1":
        yield
        return
    _silence()
    try:
        yield
    finally:
        _restore()


@contextmanager
def native_stderr_hidden(enabled: bool = True) -> Iterator[None]:
    """For the whole run: Python's ``sys.stderr`` keeps the terminal, native code's fd 2 does not.

    mediapipe's graphs log from their own threads, sometimes after the call that started them
    returned, so the CLI hides native stderr for its whole run instead of call by call.
    """
    if not enabled or os.environ.get("LIPDUB_DEBUG") == "1":
        yield
        return
    python_stderr = sys.stderr
    try:
        uses_fd2 = python_stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):  # e.g. replaced by a test harness
        uses_fd2 = False
    terminal = None
    if uses_fd2:
        python_stderr.flush()
        terminal = os.fdopen(
            os.dup(2), "w", buffering=1, encoding=python_stderr.encoding, errors="backslashreplace"
        )
        sys.stderr = terminal
    _silence()
    try:
        yield
    finally:
        if terminal is not None:
            terminal.flush()
        _restore()
        if terminal is not None:
            sys.stderr = python_stderr
            terminal.close()
