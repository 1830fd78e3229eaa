"""Running one item of a batch on a worker (a thread here, or a Ray actor on a cluster).

A worker keeps one set of components per distinct generator set-up (:func:`component_key`),
so models load once per worker, not once per video. Nothing here knows about Ray.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lipdub.errors import FFmpegError, LipdubError
from lipdub.pipeline.components import Components, choose_generator
from lipdub.pipeline.dub import DubRequest, DubSummary, check_inputs, components_for, dub
from lipdub.pipeline.progress import ProgressCallback

log = logging.getLogger(__name__)

#: How long a worker whose ffmpeg died waits for the Ctrl-C that may have killed it.
INTERRUPT_GRACE_SECONDS = 0.5
INTERRUPTED_REASON = "stopped by Ctrl-C; no file was written"

Notify = Callable[[str], None]


class Cancelled(BaseException):
    """Raised inside a dub's progress callback to stop it (its writer removes the file)."""


@dataclass
class Outcome:
    """What running one item gave: ``status`` is ``done``, ``failed`` or ``interrupted``."""

    status: str
    reason: str | None = None
    seconds: float = 0.0
    summary: DubSummary | None = None
    #: Component sets this run built (0 when the worker had them already).
    builds: int = 0


def component_key(request: DubRequest, generator: str) -> tuple[Any, ...]:
    """What decides which components a dub needs: equal keys share components."""
    return (
        generator,
        request.checkpoint,
        request.device,
        request.precision,
        request.blender,
        request.tracker,
        tuple(
            (kind, tuple(sorted((key, str(value)) for key, value in values.items())))
            for kind, values in sorted(request.options.items())
        ),
    )


def reason(exc: BaseException) -> str:
    """One line for the user: a lipdub error's message, else the exception type and text."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, LipdubError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class ItemWorker:
    """Dubs items one at a time, reusing its components across items.

    ``stop`` is the Ctrl-C flag: once set, the running dub stops at its next progress step.
    """

    def __init__(self, stop: threading.Event | None = None) -> None:
        self.stop = stop or threading.Event()
        self.parts: dict[tuple[Any, ...], Components | LipdubError] = {}

    def run(self, request: DubRequest, progress: ProgressCallback, notify: Notify) -> Outcome:
        """Dub ``request`` (its output is known to be writable and not done yet)."""
        started = time.perf_counter()
        built = [0]

        def checked(stage: str, done: int, total: int | None) -> None:
            if self.stop.is_set():
                raise Cancelled
            progress(stage, done, total)

        def outcome(status: str, why: str | None = None, summary: Any = None) -> Outcome:
            return Outcome(status, why, time.perf_counter() - started, summary, built[0])

        try:
            check_inputs(request)  # an unreadable input fails before any model loads
            parts = self.components(request, checked, built)
            summary = dub(request, checked, components=parts, notify=notify)
            return outcome("done", summary=summary)
        except Cancelled:
            return outcome("interrupted", INTERRUPTED_REASON)
        except Exception as exc:  # noqa: BLE001 - one bad item must not stop the batch
            grace = INTERRUPT_GRACE_SECONDS if isinstance(exc, FFmpegError | OSError) else 0
            if self.stop.wait(grace):
                return outcome("interrupted", INTERRUPTED_REASON)
            log.debug("dub of %s failed", request.video, exc_info=True)
            return outcome("failed", reason(exc))

    def components(
        self, request: DubRequest, progress: ProgressCallback, built: list[int]
    ) -> Components:
        """The components for ``request``, built on first use (a build error is kept)."""
        choice = choose_generator(request.generator, request.checkpoint)
        key = component_key(request, choice.name)
        if key not in self.parts:
            progress("load", 0, None)
            try:
                self.parts[key] = components_for(request, choice.name)
            except LipdubError as exc:
                self.parts[key] = exc
            built[0] += 1
        parts = self.parts[key]
        if isinstance(parts, LipdubError):
            raise parts
        return parts

    def close(self) -> None:
        """Release every component set."""
        for parts in self.parts.values():
            if isinstance(parts, Components):
                parts.close()
        self.parts.clear()
