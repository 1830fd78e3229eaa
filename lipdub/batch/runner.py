"""Run the items of a batch: components built once and reused, finished outputs skipped,
failures recorded (the batch goes on), Ctrl-C stops cleanly.

The driver (this module) settles what it can without a worker (items that cannot run,
finished outputs), then hands the rest, one at a time, to the idle workers of an executor
(:mod:`lipdub.batch.executors`: threads here, or actors on a Ray cluster), preferring a
worker that already has the item's models loaded. A job whose worker died is retried once
on another worker, then reported failed.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from lipdub import signals
from lipdub.batch.executors import (
    Backend,
    Finished,
    Job,
    LocalBackend,
    Message,
    Note,
    Progress,
    RaySettings,
    require_ray,
)
from lipdub.batch.pairing import BatchItem
from lipdub.batch.report import BatchReport, ItemResult
from lipdub.batch.worker import INTERRUPTED_REASON, component_key, reason
from lipdub.pipeline.components import choose_generator
from lipdub.pipeline.dub import DubRequest
from lipdub.plugins import components as registered_components
from lipdub.plugins import load_plugins

RequestFactory = Callable[[BatchItem], DubRequest]
#: How often the driver looks for news from the workers (seconds).
POLL_SECONDS = 0.1
#: A job is tried at most this often when its worker dies under it.
MAX_ATTEMPTS = 2


class BatchObserver:
    """Receives the batch's progress; the default ignores everything. Called from the thread
    that runs the batch, one call at a time, whichever executor runs the items."""

    def batch_started(self, total: int, jobs: int) -> None:
        """Before the first item (``jobs`` workers; 0 when nothing needs one)."""

    def item_started(self, slot: int, item: BatchItem) -> None:
        """Worker ``slot`` starts ``item`` (again, when a first attempt's worker died)."""

    def item_progress(self, slot: int, stage: str, done: int, total: int | None) -> None:
        """A stage of the item worker ``slot`` is running advanced (``load``, ``analyse``,
        ``dub``)."""

    def item_finished(self, slot: int, result: ItemResult) -> None:
        """An item is done, failed or interrupted on worker ``slot``."""

    def item_settled(self, result: ItemResult) -> None:
        """An item ended without a worker: skipped, or failed before it could start."""

    def note(self, line: str) -> None:
        """A one-line note (each distinct note once per batch)."""


class _Interrupts:
    """Counts Ctrl-C presses (and SIGTERM / SIGHUP) while a batch runs instead of raising in
    the middle of it: the first stops the running items, the second abandons them (Ray), a
    third raises."""

    def __init__(self) -> None:
        self.count = 0

    def handle(self, signum: int, frame: Any) -> None:
        self.count += 1
        if signum != signal.SIGINT:  # SIGTERM / SIGHUP: the same, with their exit code
            signals.note_signal(signum)
        if self.count >= 3:
            raise KeyboardInterrupt

    @contextmanager
    def installed(self) -> Iterator[_Interrupts]:
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        with signals.installed(self.handle, (signal.SIGINT, *signals.STOP_SIGNALS)):
            yield self


def _is_input(output: Path, request: DubRequest) -> bool:
    target = output.resolve()
    return target in (request.video.resolve(), request.audio.resolve())


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


def _result(item: BatchItem, status: str, why: str | None = None, **more: Any) -> ItemResult:
    return ItemResult(item.name, item.video, item.audio, item.output, status, why, **more)


def _prepare(item: BatchItem, make_request: RequestFactory) -> ItemResult | DubRequest:
    """The item's request, or its result when it needs no worker (skipped or failed)."""
    if item.error is not None:
        return _result(item, "failed", item.error)
    try:
        request = make_request(item)
    except Exception as exc:  # noqa: BLE001 - one bad item must not stop the batch
        return _result(item, "failed", reason(exc))
    output = request.output
    if output is not None and _is_input(output, request):
        return _result(item, "failed", f"output {output} is also an input")
    if output is not None and output.exists() and not request.overwrite:
        return _result(item, "skipped", "output exists (done before; --overwrite redoes it)")
    return request


def _job(index: int, request: DubRequest) -> Job:
    generator = choose_generator(request.generator, request.checkpoint).name
    return Job(index, request, component_key(request, generator))


def _take(waiting: deque[Job], loaded: set[tuple[Any, ...]]) -> Job:
    """The first waiting job whose models ``loaded`` has, else the first one."""
    for position, job in enumerate(waiting):
        if job.key in loaded:
            del waiting[position]
            return job
    return waiting.popleft()


class _Driver:
    """Hands waiting jobs to idle slots and turns the backend's messages into results."""

    def __init__(
        self,
        backend: Backend,
        items: Sequence[BatchItem],
        results: list[ItemResult | None],
        observer: BatchObserver,
    ) -> None:
        self.backend, self.items, self.results, self.observer = backend, items, results, observer
        self.waiting: deque[Job] = deque()
        self.busy: dict[int, tuple[Job, float]] = {}
        self.loaded: dict[int, set[tuple[Any, ...]]] = {s: set() for s in range(backend.slots)}
        self.notes: set[str] = set()
        self.builds = 0
        self.stopped = self.forced = False

    def run(self, jobs: list[Job], interrupts: _Interrupts) -> None:
        self.waiting.extend(jobs)
        while self.busy or (self.waiting and not self.stopped):
            if interrupts.count and not self.stopped:
                self.stopped = True
                self.backend.stop()
            if interrupts.count > 1 and not self.forced:
                self.forced = True
                self.backend.stop(force=True)
            if not self.stopped:
                self.dispatch()
            for message in self.backend.poll(POLL_SECONDS):
                self.handle(message)

    def dispatch(self) -> None:
        for slot in range(self.backend.slots):
            if not self.waiting:
                return
            if slot in self.busy or not self.backend.available(slot):
                continue
            job = _take(self.waiting, self.loaded[slot])
            self.busy[slot] = (job, time.perf_counter())
            self.loaded[slot].add(job.key)
            self.observer.item_started(slot, self.items[job.index])
            self.backend.start(slot, job)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.add(text)
            self.observer.note(text)

    def handle(self, message: Message) -> None:
        if isinstance(message, Note):
            self.note(message.text)
        elif isinstance(message, Progress):
            job = self.busy.get(message.slot)
            if job is not None and job[0].index == message.index:
                self.observer.item_progress(
                    message.slot, message.stage, message.done, message.total
                )
        elif isinstance(message, Finished) and message.slot in self.busy:
            self.finished(message)

    def finished(self, message: Finished) -> None:
        job, started = self.busy.pop(message.slot)
        item = self.items[job.index]
        outcome = message.outcome
        if outcome is not None:
            self.builds += outcome.builds
            result = _result(
                item,
                outcome.status,
                outcome.reason,
                seconds=outcome.seconds,
                summary=outcome.summary,
                attempts=job.attempt,
            )
        else:
            self.loaded[message.slot] = set()  # the slot's worker is a new one
            seconds = time.perf_counter() - started
            if self.stopped:
                result = _result(
                    item, "interrupted", INTERRUPTED_REASON, seconds=seconds, attempts=job.attempt
                )
            elif job.attempt < MAX_ATTEMPTS:
                self.note(f"{item.name}: its worker died ({message.lost}); retrying it")
                self.waiting.appendleft(replace(job, attempt=job.attempt + 1))
                return
            else:
                why = f"its worker died {job.attempt} times; last: {message.lost}"
                result = _result(item, "failed", why, seconds=seconds, attempts=job.attempt)
        self.results[job.index] = result
        self.observer.item_finished(message.slot, result)


def _backend(
    executor: str, wanted: int, jobs: int | None, ray: RaySettings | None, note: Callable
) -> Backend:
    if executor == "local":
        for kind in ("generators", "audio_extractors", "face_trackers", "blenders"):
            registered_components(kind)  # resolve the registry before threads use it
        return LocalBackend(max(1, min(jobs or 1, wanted)))
    if executor == "ray":
        require_ray()
        from lipdub.batch.ray_executor import RayBackend

        return RayBackend(ray or RaySettings(), wanted=wanted, jobs=jobs, note=note)
    raise ValueError(f"unknown executor {executor!r}")


def run_batch(
    items: Sequence[BatchItem],
    make_request: RequestFactory,
    *,
    jobs: int | None = 1,
    observer: BatchObserver | None = None,
    unmatched_audio: Sequence[Path] = (),
    executor: str = "local",
    ray: RaySettings | None = None,
) -> BatchReport:
    """Dub every item; returns the report. ``make_request`` turns an item into its
    :class:`DubRequest` (an error from it fails that item). ``jobs``: workers (``local``
    threads; for ``ray``, None fits as many actors as the cluster has resources for).

    On Ctrl-C the running items are stopped (their writers leave no file), the rest are
    ``not started`` and the report says ``interrupted``.
    """
    started = time.perf_counter()
    observer = observer or BatchObserver()
    _mark_duplicate_outputs(items)
    load_plugins()
    results: list[ItemResult | None] = [None] * len(items)
    todo: list[Job] = []
    for index, item in enumerate(items):
        prepared = _prepare(item, make_request)
        if isinstance(prepared, ItemResult):
            results[index] = prepared
        else:
            todo.append(_job(index, prepared))
    interrupts = _Interrupts()
    slots = builds = 0
    with interrupts.installed():
        backend = _backend(executor, len(todo), jobs, ray, observer.note) if todo else None
        slots = backend.slots if backend is not None else 0
        observer.batch_started(len(items), slots)
        for result in results:
            if result is not None:
                observer.item_settled(result)
        if backend is not None:
            driver = _Driver(backend, items, results, observer)
            try:
                driver.run(todo, interrupts)
            finally:
                backend.close()
            builds = driver.builds
    final = [
        result if result is not None else _result(item, "not started")
        for item, result in zip(items, results, strict=True)
    ]
    return BatchReport(
        results=final,
        seconds=time.perf_counter() - started,
        jobs=slots,
        interrupted=interrupts.count > 0,
        unmatched_audio=list(unmatched_audio),
        component_builds=builds,
        executor=executor,
    )
