"""``lipdub batch --executor ray``: the items run as tasks on long-lived Ray actors.

Each actor (one per slot, ``--cpus-per-job`` / ``--gpus-per-job`` resources) keeps an
:class:`~lipdub.batch.worker.ItemWorker`, so it loads models once per distinct set-up. The
driver sends it one item at a time and long-polls it for progress. A dub is written to a
hidden per-attempt file beside its output and renamed onto the output when complete, so a
worker that dies leaves nothing a later run would take as done (the driver deletes what it
left). Only imported when Ray is installed.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import ray
from ray.exceptions import RayActorError, RayError, RayTaskError

from lipdub.batch.executors import Finished, Job, Message, Note, Progress, RaySettings
from lipdub.batch.worker import ItemWorker, Outcome, reason
from lipdub.errors import InputError, LipdubError
from lipdub.media.writer import partial_path
from lipdub.pipeline.dub import DubRequest, default_output

#: How long an actor's progress poll waits for news (seconds).
EVENTS_WAIT_SECONDS = 0.5
#: After Ctrl-C, how long running items get to stop before their actors are killed.
STOP_GRACE_SECONDS = 20.0
#: Actors (per slot) that may die before answering their first call before the batch stops.
MAX_EARLY_DEATHS = 2


class WorkerStartError(LipdubError):
    """A Ray actor could not start (lipdub missing or broken on a node, ...)."""


@ray.remote(concurrency_groups={"control": 2})
class BatchActor:
    """One long-lived worker: runs items one at a time (``run``) while answering progress
    polls and stop requests (the ``control`` group) from the driver."""

    def __init__(self) -> None:
        from lipdub.plugins import load_plugins

        load_plugins()
        self.stopping = threading.Event()
        self.worker = ItemWorker(self.stopping)
        self.news = threading.Condition()
        self.index = -1
        self.stages: dict[str, tuple[int, int | None]] = {}
        self.notes: list[str] = []

    @ray.method(concurrency_group="control")
    def pid(self) -> int:
        """The actor's process id."""
        return os.getpid()

    @ray.method(concurrency_group="control")
    def stop(self) -> None:
        """Ctrl-C on the driver: the running dub stops at its next step."""
        self.stopping.set()

    @ray.method(concurrency_group="control")
    def events(self, wait: float) -> tuple[int, list[tuple[str, int, int | None]], list[str]]:
        """The running item's index, its latest progress per stage and new notes (waits up
        to ``wait`` s for any)."""
        with self.news:
            self.news.wait_for(lambda: bool(self.stages or self.notes), timeout=wait)
            stages = [(stage, done, total) for stage, (done, total) in self.stages.items()]
            notes, self.stages, self.notes = self.notes, {}, []
            return self.index, stages, notes

    def run(self, index: int, request: DubRequest, attempt: Path) -> tuple[Outcome, list[str]]:
        """Dub ``request`` into ``attempt``, then move that onto the request's output."""
        final = request.output or default_output(request.video)
        with self.news:
            self.index, self.stages = index, {}

        def progress(stage: str, done: int, total: int | None) -> None:
            with self.news:
                self.stages[stage] = (done, total)
                self.news.notify_all()

        def notify(text: str) -> None:
            with self.news:
                self.notes.append(text)
                self.news.notify_all()

        outcome = self.worker.run(replace(request, output=attempt), progress, notify)
        if outcome.status == "done":
            try:
                os.replace(attempt, final)
            except OSError as exc:
                why = f"cannot move the dub onto {final} ({exc.strerror or exc})"
                outcome = Outcome("failed", why, outcome.seconds, None, outcome.builds)
            else:
                assert outcome.summary is not None
                outcome.summary = replace(outcome.summary, output=final)
        attempt.unlink(missing_ok=True)
        with self.news:
            notes, self.notes, self.stages, self.index = self.notes, [], {}, -1
        return outcome, notes


def attempt_path(output: Path, token: str) -> Path:
    """The hidden file an attempt writes before it is renamed onto ``output``."""
    return output.with_name(f".{output.stem}.{token}{output.suffix or '.mp4'}")


def _absolute(request: DubRequest) -> DubRequest:
    """Paths a worker on another machine (another working folder) can open."""
    checkpoint = request.checkpoint
    if checkpoint is not None and checkpoint.exists():
        checkpoint = checkpoint.absolute()
    output = (request.output or default_output(request.video)).absolute()
    return replace(
        request,
        video=request.video.absolute(),
        audio=request.audio.absolute(),
        output=output,
        checkpoint=checkpoint,
    )


def _fit(resources: dict[str, float], cpus: float, gpus: float) -> int | None:
    """How many actors the cluster's resources hold (None: no resource limits them)."""
    counts = [
        math.floor(resources.get(name, 0.0) / need + 1e-9)
        for name, need in (("CPU", cpus), ("GPU", gpus))
        if need > 0
    ]
    return min(counts) if counts else None


def _last_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"


def _connect(settings: RaySettings) -> tuple[bool, str]:
    """Start or join Ray unless this process already has; returns (ours, where)."""
    if ray.is_initialized():
        return False, "this process's Ray"
    level = logging.ERROR if settings.quiet else logging.INFO
    address = settings.address or "local"
    extra: dict[str, Any] = {"include_dashboard": False} if address == "local" else {}
    try:
        ray.init(address=address, logging_level=level, log_to_driver=not settings.quiet, **extra)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise InputError(f"cannot reach the Ray cluster at {address}: {_last_line(exc)}") from None
    return True, "a local Ray instance" if address == "local" else f"the Ray cluster at {address}"


class _Slot:
    """The driver's view of one actor: its handle, whether it is up, and the job it runs."""

    def __init__(self) -> None:
        self.actor: Any = None
        self.ready = False
        self.job: Job | None = None
        self.attempt: Path | None = None
        self.watching = False


class RayBackend:
    """Runs jobs on ``slots`` Ray actors (see the module's docstring)."""

    def __init__(
        self, settings: RaySettings, *, wanted: int, jobs: int | None, note: Callable
    ) -> None:
        self.ours, where = _connect(settings)
        self.logs_were = getattr(ray._private.worker, "_worker_logs_enabled", True)
        try:
            resources = ray.cluster_resources()
            gpus = settings.gpus_per_job
            if gpus is None:
                gpus = 1.0 if resources.get("GPU", 0.0) >= 1 else 0.0
            cpus = settings.cpus_per_job
            fit = _fit(resources, cpus, gpus)
            if jobs is None and fit == 0:
                have = f"{resources.get('GPU', 0.0):g} GPUs, {resources.get('CPU', 0.0):g} CPUs"
                raise InputError(
                    f"the Ray cluster ({have}) cannot hold one job of {gpus:g} GPU and "
                    f"{cpus:g} CPU; lower --gpus-per-job / --cpus-per-job"
                )
            self.slots = max(1, min(wanted, jobs or fit or wanted))
            self.options = {"num_cpus": cpus, "num_gpus": gpus, "max_restarts": 0}
            self.run_id = uuid.uuid4().hex[:8]
            self.spawned = self.early_deaths = 0
            self.pending: dict[Any, tuple[str, int, Any]] = {}
            self.lost: list[Path] = []
            self.stop_at: float | None = None
            self.stopped = False
            self.state = [_Slot() for _ in range(self.slots)]
            for slot in range(self.slots):
                self._spawn(slot)
        except BaseException:
            self._disconnect()
            raise
        if settings.quiet:  # the driver reports lost workers itself
            ray._private.worker._worker_logs_enabled = False
        note(
            f"ray: {where}; {self.slots} worker(s) of {cpus:g} CPU, {gpus:g} GPU "
            f"(cluster: {resources.get('CPU', 0.0):g} CPUs, {resources.get('GPU', 0.0):g} GPUs)"
        )

    def _spawn(self, slot: int) -> None:
        """A new actor for ``slot``; it takes items once it answers (Ray has placed it)."""
        self.spawned += 1
        name = f"lipdub-batch-{self.run_id}-{slot}-{self.spawned}"
        state = self.state[slot]
        state.actor = BatchActor.options(name=name, **self.options).remote()
        state.ready = state.watching = False
        self.pending[state.actor.pid.remote()] = ("ready", slot, state.actor)

    def available(self, slot: int) -> bool:
        return self.state[slot].ready

    def start(self, slot: int, job: Job) -> None:
        state = self.state[slot]
        request = _absolute(job.request)
        assert request.output is not None
        token = f"{self.run_id}-{job.index}-{job.attempt}"
        state.job, state.attempt = job, attempt_path(request.output, token)
        ref = state.actor.run.remote(job.index, request, state.attempt)
        self.pending[ref] = ("run", slot, state.actor)
        self._watch(slot)

    def _watch(self, slot: int) -> None:
        state = self.state[slot]
        if state.job is not None and not state.watching:
            ref = state.actor.events.remote(EVENTS_WAIT_SECONDS)
            self.pending[ref] = ("events", slot, state.actor)
            state.watching = True

    def poll(self, timeout: float) -> list[Message]:
        if self.stop_at is not None and time.monotonic() > self.stop_at + STOP_GRACE_SECONDS:
            self.stop(force=True)
        refs = list(self.pending)
        if not refs:
            time.sleep(timeout)
            return []
        ready, _ = ray.wait(refs, num_returns=1, timeout=timeout)
        if ready:
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        messages: list[Message] = []
        for ref in ready:
            kind, slot, actor = self.pending.pop(ref)
            if kind == "run":
                messages.extend(self._ran(ref, slot))
            elif kind == "events":
                messages.extend(self._events(ref, slot, actor))
            elif self.state[slot].actor is actor:
                self._started(ref, slot)
        return messages

    def _started(self, ref: Any, slot: int) -> None:
        """An actor answered its first call, or died before it could."""
        try:
            ray.get(ref)
        except RayError as exc:
            _check_start(exc)
            self.early_deaths += 1
            if self.early_deaths > MAX_EARLY_DEATHS * self.slots:
                why = _last_line(exc)
                raise WorkerStartError(f"Ray workers keep dying as they start: {why}") from None
            self._replace(slot)
        else:
            self.state[slot].ready = True

    def _events(self, ref: Any, slot: int, actor: Any) -> list[Message]:
        state = self.state[slot]
        if state.actor is not actor:
            return []  # an actor that died; its replacement has its own poll
        state.watching = False
        try:
            index, stages, notes = ray.get(ref)
        except RayError:
            return []  # a dead actor: its run reports that
        self._watch(slot)
        messages: list[Message] = [Note(text) for text in notes]
        messages += [Progress(slot, index, *stage) for stage in stages]
        return messages

    def _ran(self, ref: Any, slot: int) -> list[Message]:
        state = self.state[slot]
        job, attempt = state.job, state.attempt
        assert job is not None and attempt is not None
        state.job = state.attempt = None
        try:
            outcome, notes = ray.get(ref)
        except RayTaskError as exc:  # something escaped the worker's own error handling
            self._forget(attempt)
            return [Finished(slot, job.index, Outcome("failed", reason(exc.cause or exc)))]
        except RayError as exc:
            _check_start(exc)
            self._forget(attempt)
            self._replace(slot)
            return [Finished(slot, job.index, lost=_lost_reason(exc))]
        if outcome.reason:
            outcome.reason = _as_given(outcome.reason, job.request)
        return [*(Note(text) for text in notes), Finished(slot, job.index, outcome)]

    def _forget(self, attempt: Path) -> None:
        """Delete what a dead attempt left (again at close: its ffmpeg may still finish)."""
        self.lost.append(attempt)
        for path in (attempt, partial_path(attempt)):
            with contextlib.suppress(OSError):
                path.unlink()

    def _replace(self, slot: int) -> None:
        state = self.state[slot]
        with contextlib.suppress(RayError):
            ray.kill(state.actor, no_restart=True)
        state.ready = state.watching = False
        if not self.stopped:  # after Ctrl-C no new item starts: no new actor either
            self._spawn(slot)

    def stop(self, force: bool = False) -> None:
        busy = [state for state in self.state if state.job is not None]
        self.stopped = True
        if not force:
            self.stop_at = time.monotonic()
            for state in busy:
                state.actor.stop.remote()
            return
        self.stop_at = None
        for state in busy:  # their runs fail as lost workers: reported as interrupted
            with contextlib.suppress(RayError):
                ray.kill(state.actor, no_restart=True)

    def close(self) -> None:
        for state in self.state:
            with contextlib.suppress(RayError):
                ray.kill(state.actor, no_restart=True)
        for attempt in self.lost:
            for path in (attempt, partial_path(attempt)):
                with contextlib.suppress(OSError):
                    path.unlink()
        self._disconnect()

    def _disconnect(self) -> None:
        with contextlib.suppress(AttributeError):
            ray._private.worker._worker_logs_enabled = self.logs_were
        if self.ours:
            ray.shutdown()


def _check_start(exc: RayError) -> None:
    """WorkerStartError if ``exc`` says the actor's constructor failed (it would again)."""
    if isinstance(exc, RayActorError) and getattr(exc, "actor_init_failed", False):
        raise WorkerStartError(f"a Ray worker could not start: {_last_line(exc)}") from None


def _as_given(text: str, request: DubRequest) -> str:
    """``text`` with the absolute paths sent to the worker written as the user gave them."""
    for given in (request.video, request.audio, request.output):
        if given is not None and not given.is_absolute():
            text = text.replace(str(given.absolute()), str(given))
    return text


def _lost_reason(exc: RayError) -> str:
    """``worker process died``, plus Ray's word on why when it gives one."""
    text = str(exc)
    for marker in ("Worker exit detail:", "The actor is dead because"):
        if marker in text:
            detail = text.split(marker, 1)[1].strip().splitlines()[0]
            detail = detail.split(" Some common causes", 1)[0]
            return f"{type(exc).__name__}: {detail[:160]}"
    return type(exc).__name__
