"""What the SyncNet and generator trainers share: loaders, timing, validation schedule."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from lipdub.training.config import CommonConfig
from lipdub.training.dataset import StepSampler
from lipdub.training.distributed import Runtime

#: ``on_step(step, max_steps, metrics)``: called after every step (for a progress display).
StepCallback = Callable[[int, int, dict[str, float]], None]


def no_step_callback(step: int, total: int, metrics: dict[str, float]) -> None:
    """The default step callback: nothing."""


@dataclass
class TrainReport:
    """How a run went: steps done now, throughput, validation scores."""

    start_step: int
    step: int
    batch_size: int
    world_size: int
    train_seconds: float
    best_val: float
    last_val: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def steps_per_second(self) -> float:
        return (self.step - self.start_step) / max(self.train_seconds, 1e-9)

    @property
    def samples_per_second(self) -> float:
        return self.steps_per_second * self.batch_size * self.world_size


def loader(
    dataset: Dataset, config: CommonConfig, runtime: Runtime, start_sample: int = 0
) -> Iterator[dict[str, torch.Tensor]]:
    """Endless batches of ``dataset``: this process's share, from sample ``start_sample``."""
    sampler = StepSampler(start_sample, runtime.world_size, runtime.rank)
    workers = max(0, int(config.workers))
    return iter(
        DataLoader(
            dataset,
            batch_size=config.batch_size,
            sampler=sampler,
            num_workers=workers,
            pin_memory=runtime.device.type == "cuda",
            persistent_workers=workers > 0,
        )
    )


def to_device(batch: dict[str, torch.Tensor], runtime: Runtime) -> dict[str, torch.Tensor]:
    return {k: v.to(runtime.device, non_blocking=True) for k, v in batch.items()}


def validation_batches(
    dataset: Dataset, config: CommonConfig, runtime: Runtime
) -> Iterator[dict[str, torch.Tensor]]:
    """The same ``val_batches`` batches every time (their samples are seeded)."""
    batches = loader(dataset, config, runtime)
    for _ in range(config.val_batches):
        yield to_device(next(batches), runtime)


class Clock:
    """Time spent in training steps (validation and checkpoints excluded)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started: float | None = None

    def __enter__(self) -> Clock:
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._started is not None
        self.seconds += time.perf_counter() - self._started


def is_due(step: int, every: int, max_steps: int) -> bool:
    """Whether something done every ``every`` steps (and at the last step) is due."""
    return step % every == 0 or step == max_steps


def mean_metrics(totals: dict[str, float], count: int, runtime: Runtime) -> dict[str, float]:
    """Averages over batches and processes."""
    return {k: runtime.mean(v / max(count, 1)) for k, v in totals.items()}


def finite(value: float) -> float:
    """``value``, or infinity when it is NaN."""
    return value if math.isfinite(value) else math.inf
