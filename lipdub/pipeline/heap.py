"""Handing memory that was freed back to the operating system between the passes of a dub.

The first pass and the audio analysis free most of what they allocate, but the C allocator
keeps freed blocks in the process for reuse, so resident memory stays at their high mark
through the second pass. glibc's ``malloc_trim`` returns those blocks; elsewhere this does
nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache
from typing import Any


@cache
def _libc() -> Any:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def release_freed_memory() -> bool:
    """Return freed heap memory to the operating system; whether any was returned."""
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.malloc_trim(0))
