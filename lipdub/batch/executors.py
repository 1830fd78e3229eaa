"""Where a batch's items run: worker threads on this machine, or actors on a Ray cluster.

Both executors are driven the same way (see :func:`lipdub.batch.runner.run_batch`): the
driver hands one :class:`Job` at a time to an idle slot and polls for :data:`Message` s.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from lipdub.batch.worker import ItemWorker, Outcome, reason
from lipdub.errors import InputError
from lipdub.pipeline.dub import DubRequest

EXECUTORS = ("local", "ray")
RAY_MISSING = "--executor ray needs Ray: pip install 'lipdub[ray]'"


@dataclass
class Job:
    """One attempt at one item: ``index`` into the batch's items, ``attempt`` from 1."""

    index: int
    request: DubRequest
    key: tuple[Any, ...]
    attempt: int = 1


@dataclass
class Progress:
    """A stage of the job on ``slot`` advanced."""

    slot: int
    index: int
    stage: str
    done: int
    total: int | None


@dataclass
class Note:
    """A one-line note from a worker."""

    text: str


@dataclass
class Finished:
    """The job on ``slot`` ended: with an ``outcome``, or ``lost`` (why the worker died)."""

    slot: int
    index: int
    outcome: Outcome | None = None
    lost: str | None = None


Message = Progress | Note | Finished


class Backend(Protocol):
    """Runs jobs on ``slots`` workers, one job per slot at a time."""

    slots: int

    def available(self, slot: int) -> bool:
        """Whether worker ``slot`` is up and can take a job (when idle)."""

    def start(self, slot: int, job: Job) -> None:
        """Run ``job`` on the idle worker ``slot``."""

    def poll(self, timeout: float) -> list[Message]:
        """What happened since the last poll (waits up to ``timeout`` s for something)."""

    def stop(self, force: bool = False) -> None:
        """Ctrl-C: running jobs stop at their next step; ``force`` abandons them now."""

    def close(self) -> None:
        """Release the workers (after every started job has finished)."""


@dataclass
class RaySettings:
    """``--executor ray`` options: cluster address and resources per job (actor)."""

    address: str | None = None
    #: GPUs per actor; None: 1 on a cluster with GPUs, else 0.
    gpus_per_job: float | None = None
    cpus_per_job: float = 1.0
    #: Hide Ray's own log lines (the CLI's default; ``-v`` shows them).
    quiet: bool = True


def require_ray() -> None:
    """InputError (one line, naming the extra) unless Ray can be imported."""
    try:
        import ray  # noqa: F401
    except ImportError:
        raise InputError(RAY_MISSING) from None


class LocalBackend:
    """``slots`` worker threads (a :class:`ThreadPoolExecutor`), each with its own components.

    While one thread generates, another decodes, tracks faces or encodes (ffmpeg, mediapipe
    and torch release the GIL).
    """

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.stopping = threading.Event()
        self.workers = [ItemWorker(self.stopping) for _ in range(slots)]
        self.messages: queue.Queue[Message] = queue.Queue()
        self.pool = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="lipdub-batch")

    def available(self, slot: int) -> bool:
        return True

    def start(self, slot: int, job: Job) -> None:
        self.pool.submit(self._run, slot, job)

    def _run(self, slot: int, job: Job) -> None:
        def progress(stage: str, done: int, total: int | None) -> None:
            self.messages.put(Progress(slot, job.index, stage, done, total))

        notify: Callable[[str], None] = lambda text: self.messages.put(Note(text))  # noqa: E731
        try:
            outcome = self.workers[slot].run(job.request, progress, notify)
        except BaseException as exc:  # noqa: BLE001 - always report the job as finished
            outcome = Outcome("failed", reason(exc))
        self.messages.put(Finished(slot, job.index, outcome))

    def poll(self, timeout: float) -> list[Message]:
        try:
            got = [self.messages.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                got.append(self.messages.get_nowait())
            except queue.Empty:
                return got

    def stop(self, force: bool = False) -> None:
        self.stopping.set()  # threads cannot be abandoned: they stop at their next step

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        for worker in self.workers:
            worker.close()
