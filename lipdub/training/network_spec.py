"""The value type of the ``register_training_networks`` hook: how to train on one audio
extractor's features (a leaf module: it imports nothing of the plugin machinery or torch).

``lipdub train syncnet|generator --extractor NAME`` looks up the :class:`TrainingNetworks`
registered under ``NAME``; the built-in ``mel`` one is in :mod:`lipdub.training.networks`, a
plugin that adds an extractor registers its own next to it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from torch import nn

#: The networks ``lipdub train`` trains: the SyncNet expert and the generator.
NetworkKind = Literal["syncnet", "generator"]


class FeatureSpec(Protocol):
    """What networks are told about a dataset's features
    (:class:`lipdub.training.dataset.FeatureSpec` is one)."""

    #: The extractor's name.
    name: str
    #: Feature frames per second and the dimension of one frame.
    fps: float
    dim: int
    #: The dataset manifest's entry for the extractor (``model``, ``layer``, ``projected``...).
    info: dict[str, Any]

    @property
    def window(self) -> int:
        """Feature frames per 0.2 s window."""
        ...


class TrainingNetworks(ABC):
    """The SyncNet and generator architectures for one extractor's features, and the
    checkpoint format that stores them (so ``lipdub VIDEO --checkpoint best.pt`` reads it)."""

    #: The audio extractor (``--extractor NAME``) whose features these networks take.
    name: str = ""

    def __init__(self, name: str | None = None) -> None:
        if name is not None:
            self.name = name

    @abstractmethod
    def build(self, kind: NetworkKind, spec: FeatureSpec) -> nn.Module:
        """A fresh (randomly initialised) network of ``kind`` for ``spec``'s features."""

    @abstractmethod
    def payload(
        self, kind: NetworkKind, spec: FeatureSpec, state: dict[str, Any], step: int
    ) -> dict[str, Any]:
        """What a checkpoint file holds besides training state, given the CPU ``state`` dict."""

    @abstractmethod
    def read(self, path: Path, kind: NetworkKind, spec: FeatureSpec) -> dict[str, Any]:
        """The state dict of checkpoint ``path``, checked to be a ``kind`` for ``spec``'s
        features (:class:`~lipdub.errors.CheckpointError` otherwise)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"
