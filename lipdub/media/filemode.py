"""Files made with :func:`tempfile.mkstemp` get mode 0600; give them the usual umask mode."""

from __future__ import annotations

import os
import threading

_lock = threading.Lock()


def current_umask() -> int:
    """The process umask, read without changing it where the system allows (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _lock:  # elsewhere: set and restore (briefly racy for other threads' new files)
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode ``open()`` would give a new regular file (0666 less the umask)."""
    return 0o666 & ~current_umask()


def apply_umask(handle: int) -> None:
    """Give the open file ``handle`` (from ``mkstemp``) the mode of a normally created file."""
    if hasattr(os, "fchmod"):
        os.fchmod(handle, file_mode())
