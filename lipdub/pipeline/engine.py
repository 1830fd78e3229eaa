"""The streaming engine: stages on their own threads joined by bounded queues.

A dub's second pass is three stages that overlap: decoding (:class:`Prefetch` reads the
source on a worker thread), generation (the caller's thread, where torch runs) and blending
plus encoding (:class:`Drain` on another worker thread). Each queue holds a few items, so
memory stays bounded whatever the video's length. The heavy work in every stage (ffmpeg
pipes, numpy, OpenCV, torch) releases the GIL, so the stages really run at the same time.

Errors in a worker reach the caller's thread at its next ``next()``/``put()``; Ctrl-C (or a
stop signal) in the caller's thread stops both workers through :meth:`close`/:meth:`abort`,
and the writer's own clean-up then removes the partial file and stops ffmpeg.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

#: How long a blocked queue operation waits before it looks at the stop flag again.
POLL_SECONDS = 0.05
#: How long closing a stage waits for its thread.
JOIN_SECONDS = 10.0
#: Environment variable overriding the number of cores the dub plans its threads for.
THREADS_ENV = "LIPDUB_THREADS"


class _End:
    """Marks the end of a stream."""


@dataclass
class _Failure:
    error: BaseException


_END = _End()


class Prefetch(Generic[T]):
    """Iterates ``items`` on a worker thread, keeping at most ``depth`` results ready.

    Use as an iterator; :meth:`close` (also on leaving a ``with`` block) stops the worker and
    closes ``items`` on its own thread (a decoder generator then stops its ffmpeg).
    """

    def __init__(self, items: Iterable[T], depth: int = 8, name: str = "prefetch") -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, args=(items,), name=name, daemon=True)
        self._thread.start()
        self._done = False

    def _work(self, items: Iterable[T]) -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not self._put(item):
                    return
            self._put(_END)
        except BaseException as error:  # noqa: BLE001 - handed to the consumer
            self._put(_Failure(error))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        item = self._queue.get()
        if isinstance(item, _End):
            self._done = True
            raise StopIteration
        if isinstance(item, _Failure):
            self._done = True
            raise item.error
        return item  # type: ignore[return-value]

    def close(self) -> None:
        """Stop the worker and wait for it (it closes ``items``)."""
        self._done = True
        self._stop.set()
        self._thread.join(JOIN_SECONDS)

    def __enter__(self) -> Prefetch[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Drain(Generic[T]):
    """Calls ``consume(item)`` on a worker thread for every item :meth:`put`, in order, with
    at most ``depth`` items waiting.

    :meth:`finish` waits for the last item and raises the worker's error, if any;
    :meth:`abort` drops whatever waits and stops the worker after its current item.
    """

    def __init__(self, consume: Callable[[T], None], depth: int = 8, name: str = "drain") -> None:
        self._consume = consume
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            if isinstance(item, _End):
                return
            try:
                self._consume(item)  # type: ignore[arg-type]
            except BaseException as error:  # noqa: BLE001 - handed to the producer
                self._error = error
                self._stop.set()
                return

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def put(self, item: T | _End) -> None:
        """Queue ``item`` (waits while the queue is full); raises the worker's error."""
        while True:
            self._raise_error()
            if self._stop.is_set():
                raise RuntimeError("the stage has stopped")
            try:
                self._queue.put(item, timeout=POLL_SECONDS)
                return
            except queue.Full:
                continue

    def finish(self) -> None:
        """Wait until every queued item is consumed; raises the worker's error."""
        self.put(_END)
        self._thread.join()
        self._raise_error()

    def abort(self) -> None:
        """Stop the worker after its current item, dropping what is still queued."""
        self._stop.set()
        self._thread.join(JOIN_SECONDS)


def usable_cores() -> int:
    """The cores this process may run on (``$LIPDUB_THREADS`` when set)."""
    configured = os.environ.get(THREADS_ENV, "").strip()
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@dataclass(frozen=True)
class ThreadPlan:
    """How many threads each CPU stage gets, planned together so they do not oversubscribe.

    ``torch`` threads for generation, ``encoder`` threads for the ffmpeg encoder; decoding,
    blending and the encoder's pipe are cheap and share what is left.
    """

    cores: int
    torch: int
    encoder: int

    @staticmethod
    def for_cores(cores: int) -> ThreadPlan:
        cores = max(1, cores)
        # The generator is the heaviest stage; the blender and the encoder run beside it.
        # Up to two cores torch takes both (the other stages fill its gaps); above that one
        # core is left to them. The encoder gets one thread per core, not x264's default
        # 1.5 per core, whose extra frame threads only add memory and contention here.
        torch_threads = cores if cores <= 2 else cores - 1
        return ThreadPlan(cores, torch_threads, cores)


def plan_threads() -> ThreadPlan:
    """The thread plan for this machine; applies its torch share when torch is loaded and
    the user has not set ``OMP_NUM_THREADS``."""
    plan = ThreadPlan.for_cores(usable_cores())
    torch = sys.modules.get("torch")
    if torch is not None and not os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(plan.torch)
    return plan
