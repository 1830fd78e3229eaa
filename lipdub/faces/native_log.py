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
