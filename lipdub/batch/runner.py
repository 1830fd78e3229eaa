"""Run the items of a batch: components built once and reused, finished outputs skipped,
failures recorded (the batch goes on), Ctrl-C stops cleanly.

``jobs`` worker threads take items in turn; each keeps its own components (one set per
distinct generator set-up), so models load once per worker, not once per video. While one
worker generates, another decodes, tracks faces or encodes (ffmpeg, mediapipe and torch
release the GIL).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lipdub.batch.pairing import BatchItem
from lipdub.batch.report import BatchReport, ItemResult
from lipdub.errors import FFmpegError, LipdubError
from lipdub.pipeline.components import Components, choose_generator
from lipdub.pipeline.dub import DubRequest, check_inputs, components_for, dub
from lipdub.plugins import components as registered_components
from lipdub.plugins import load_plugins

log = logging.getLogger(__name__)

#: How long a worker whose ffmpeg died waits for the Ctrl-C that may have killed it.
_INTERRUPT_GRACE_SECONDS = 0.5

RequestFactory = Callable[[BatchItem], DubRequest]


class BatchObserver:
    """Receives the batch's progress; the default ignores everything. Called from worker
    threads, one call at a time."""

    def batch_started(self, total: int, jobs: int) -> None:
        """Before the first item."""

    def item_started(self, slot: int, item: BatchItem) -> None:
        """Worker ``slot`` starts ``item``."""

    def item_progress(self, slot: int, stage: str, done: int, total: int | None) -> None:
        """A stage of the item worker ``slot`` is running advanced (``load``, ``analyse``,
        ``dub``)."""

    def item_finished(self, slot: int, result: ItemResult) -> None:
        """An item is done, skipped, failed or interrupted."""

    def note(self, line: str) -> None:
        """A one-line note (each distinct note once per batch)."""


class _Cancelled(BaseException):
    """Raised inside a dub's progress callback to stop it (its writer removes the file)."""


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


class _Shared:
    """State the workers share: the item queue, results, the stop flag and the observer."""

    def __init__(
        self, items: Sequence[BatchItem], make_request: RequestFactory, observer: BatchObserver
    ) -> None:
        self.items = items
        self.make_request = make_request
        self.observer = observer
        self.results: list[ItemResult | None] = [None] * len(items)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.next_index = 0
        self.notes: set[str] = set()
        self.builds = 0
        self.running = 0
        self.finished = threading.Event()

    def worker_exits(self) -> None:
        with self.lock:
            self.running -= 1
            if self.running == 0:
                self.finished.set()

    def take(self) -> int | None:
        with self.lock:
            if self.stop.is_set() or self.next_index >= len(self.items):
                return None
            self.next_index += 1
            return self.next_index - 1

    def call(self, method: str, *args: Any) -> None:
        with self.lock:
            getattr(self.observer, method)(*args)

    def note(self, line: str) -> None:
        with self.lock:
            if line in self.notes:
                return
            self.notes.add(line)
            self.observer.note(line)


class _Worker:
    """Takes items until none are left, reusing its components across items."""

    def __init__(self, slot: int, shared: _Shared) -> None:
        self.slot = slot
        self.shared = shared
        self.parts: dict[tuple[Any, ...], Components | LipdubError] = {}

    def run(self) -> None:
        try:
            while (index := self.shared.take()) is not None:
                item = self.shared.items[index]
                self.shared.call("item_started", self.slot, item)
                result = self.process(item)
                self.shared.results[index] = result
                self.shared.call("item_finished", self.slot, result)
        finally:
            for parts in self.parts.values():
                if isinstance(parts, Components):
                    parts.close()
            self.shared.worker_exits()

    def progress(self, stage: str, done: int, total: int | None) -> None:
        if self.shared.stop.is_set():
            raise _Cancelled
        self.shared.call("item_progress", self.slot, stage, done, total)

    def components(self, request: DubRequest) -> Components:
        """The components for ``request``, built on first use (a build error is kept)."""
        choice = choose_generator(request.generator, request.checkpoint)
        key = component_key(request, choice.name)
        if key not in self.parts:
            self.progress("load", 0, None)
            try:
                self.parts[key] = components_for(request, choice.name)
            except LipdubError as exc:
                self.parts[key] = exc
            with self.shared.lock:
                self.shared.builds += 1
        parts = self.parts[key]
        if isinstance(parts, LipdubError):
            raise parts
        return parts

    def process(self, item: BatchItem) -> ItemResult:
        started = time.perf_counter()

        def result(status: str, reason: str | None = None, summary: Any = None) -> ItemResult:
            seconds = time.perf_counter() - started
            return ItemResult(
                item.name, item.video, item.audio, item.output, status, reason, seconds, summary
            )

        if item.error is not None:
            return result("failed", item.error)
        try:
            request = self.shared.make_request(item)
            output = request.output
            if output is not None and _is_input(output, request):
                return result("failed", f"output {output} is also an input")
            if output is not None and output.exists() and not request.overwrite:
                return result("skipped", "output exists (done before; --overwrite redoes it)")
            check_inputs(request)  # an unreadable input fails before any model loads
            summary = dub(
                request, self.progress, components=self.components(request), notify=self.shared.note
            )
            return result("done", summary=summary)
        except _Cancelled:
            return result("interrupted", "stopped by Ctrl-C; no file was written")
        except Exception as exc:  # noqa: BLE001 - one bad item must not stop the batch
            grace = _INTERRUPT_GRACE_SECONDS if isinstance(exc, FFmpegError | OSError) else 0
            if self.shared.stop.wait(grace):
                return result("interrupted", "stopped by Ctrl-C; no file was written")
            log.debug("item %s failed", item.name, exc_info=True)
            return result("failed", _reason(exc))


def _is_input(output: Path, request: DubRequest) -> bool:
    target = output.resolve()
    return target in (request.video.resolve(), request.audio.resolve())


def _reason(exc: Exception) -> str:
    """One line for the user: a lipdub error's message, else the exception type and text."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, LipdubError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _mark_duplicate_outputs(items: Sequence[BatchItem]) -> None:
    seen: dict[Path, str] = {}
    for item in items:
        if item.error is not None or item.output is None:
            continue
        key = item.output.absolute()
        if key in seen:
            item.error = f"output {item.output} is also the output of {seen[key]}"
        else:
            seen[key] = item.name


def run_batch(
    items: Sequence[BatchItem],
    make_request: RequestFactory,
    *,
    jobs: int = 1,
    observer: BatchObserver | None = None,
    unmatched_audio: Sequence[Path] = (),
) -> BatchReport:
    """Dub every item; returns the report. ``make_request`` turns an item into its
    :class:`DubRequest` (a :class:`LipdubError` from it fails that item).

    On Ctrl-C the running items are stopped (their writers leave no file), the rest are
    ``not started`` and the report says ``interrupted``.
    """
    started = time.perf_counter()
    observer = observer or BatchObserver()
    _mark_duplicate_outputs(items)
    load_plugins()
    for kind in ("generators", "audio_extractors", "face_trackers", "blenders"):
        registered_components(kind)  # resolve the registry before threads use it
    shared = _Shared(items, make_request, observer)
    jobs = max(1, min(jobs, len(items)))
    observer.batch_started(len(items), jobs)
    workers = [_Worker(slot, shared) for slot in range(jobs)]
    threads = [
        threading.Thread(target=worker.run, name=f"lipdub-batch-{worker.slot}", daemon=True)
        for worker in workers
    ]
    shared.running = len(threads)
    interrupted = False
    for thread in threads:
        thread.start()
    # Wait on an Event, not Thread.join: a Ctrl-C that interrupts join() leaves the thread
    # marked as finished while it still runs (CPython 3.11), and nothing would wait for it.
    try:
        while not shared.finished.wait(0.1):
            pass
    except KeyboardInterrupt:
        interrupted = True
        shared.stop.set()
        shared.finished.wait()
    results = [
        result
        if result is not None
        else ItemResult(item.name, item.video, item.audio, item.output, "not started")
        for item, result in zip(items, shared.results, strict=True)
    ]
    return BatchReport(
        results=results,
        seconds=time.perf_counter() - started,
        jobs=jobs,
        interrupted=interrupted,
        unmatched_audio=list(unmatched_audio),
        component_builds=shared.builds,
    )
