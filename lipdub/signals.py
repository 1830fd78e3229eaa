"""SIGTERM and SIGHUP stop a run the way Ctrl-C does (children stopped, partial files removed).

:func:`stop_signals_interrupt` makes either signal raise :class:`Terminated` (a
``KeyboardInterrupt``) in the main thread, so every cleanup path written for Ctrl-C runs.
The signal last received is remembered for the exit code (``128 + signal number``).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

#: Signals treated like Ctrl-C (SIGHUP does not exist on Windows).
STOP_SIGNALS: tuple[int, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)
#: Exit status after Ctrl-C.
SIGINT_EXIT = 128 + int(signal.SIGINT)

_received: list[int] = []


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when a stop signal arrives."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal_name(signum))
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def signal_name(signum: int) -> str:
    """``"SIGTERM"`` for 15, and so on."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def note_signal(signum: int) -> None:
    """Remember that ``signum`` asked this run to stop (see :func:`last_signal`)."""
    _received.append(signum)


def last_signal() -> int | None:
    """The stop signal received since :func:`reset`, if any (None: none, or only Ctrl-C)."""
    return _received[-1] if _received else None


def reset() -> None:
    """Forget received signals (at the start of a run)."""
    _received.clear()


def interrupt_exit_code() -> int:
    """``128 + N`` for the stop signal received, else 130 (Ctrl-C)."""
    signum = last_signal()
    return SIGINT_EXIT if signum is None else 128 + signum


def _raise_once(signum: int, frame: Any) -> None:
    first = last_signal() is None
    note_signal(signum)
    if first:  # a second signal must not break the cleanup the first one started
        raise Terminated(signum)


@contextmanager
def installed(
    handler: Callable[[int, Any], None], signals: tuple[int, ...] = STOP_SIGNALS
) -> Iterator[None]:
    """``handler`` for ``signals`` while the block runs (main thread only; else nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, handler) for signum in signals}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """SIGTERM / SIGHUP raise :class:`Terminated` while the block runs."""
    reset()
    with installed(_raise_once):
        yield
