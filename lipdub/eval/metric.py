"""The value types of ``lipdub eval`` metric plugins: :class:`EvalMetric` and
:class:`EvalSample` (a leaf module: it imports nothing of the plugin machinery).

A plugin implements the ``register_eval_metrics(register)`` hook and registers
:class:`EvalMetric` subclasses; ``lipdub eval --metrics NAME`` then runs them on every video and
puts the columns they return in the report. Weights load in ``__init__`` (only when the metric
is chosen) and are released in :meth:`EvalMetric.close`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

#: The AV-HuBERT metrics of Yaman et al. (2024); no built-in implements them (docs/eval.md).
AVHUBERT_METRICS = ("avsu", "avsm", "avsv")


@dataclass(frozen=True)
class EvalSample:
    """What a metric gets for one video.

    ``wav`` is the evaluated audio (the ``--audio`` file, else the video's own track) as
    float32 mono at ``sample_rate``; ``reference`` is the ground-truth video, if given.
    """

    video: Path
    wav: np.ndarray | None
    sample_rate: int
    fps: float
    reference: Path | None = None


class EvalMetric(ABC):
    """One metric (or a family of columns) computed per video."""

    #: Name used with ``--metrics``.
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: Whether it needs ``--reference`` (the ground-truth video).
    needs_reference: ClassVar[bool] = False

    def __init__(self, **options: Any) -> None:
        self.options = options

    @abstractmethod
    def compute(self, sample: EvalSample) -> dict[str, float]:
        """Report columns (``{"avsu": 0.61}``) for one video."""

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release models."""
