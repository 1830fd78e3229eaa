"""Silence the native (C++) log lines mediapipe prints when its graphs start."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def native_stderr_silenced(enabled: bool = True) -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the duration (unless ``LIPDUB_DEBUG=1``).

    mediapipe's TFLite/absl start-up messages ("Created TensorFlow Lite XNNPACK delegate",
    "Feedback manager requires ...") are written by C++ straight to fd 2, bypassing Python.
    """
    if not enabled or os.environ.get("LIPDUB_DEBUG") == "1":
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
