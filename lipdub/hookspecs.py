"""The hooks a lipdub plugin can implement.

Every ``register_*`` hook receives a ``register`` callback; call it once per class the plugin
provides. The callback validates the class, refuses a name that is already taken and records
which plugin supplied it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import typer

    from lipdub.components import AudioExtractor, Blender, FaceTracker, Generator
    from lipdub.eval.metric_plugins import EvalMetric
    from lipdub.weights.registry import WeightSpec

hookspec = pluggy.HookspecMarker("lipdub")
hookimpl = pluggy.HookimplMarker("lipdub")


@hookspec
def register_audio_extractors(register: Callable[[type[AudioExtractor]], None]) -> None:
    """Register :class:`~lipdub.components.AudioExtractor` subclasses."""


@hookspec
def register_face_trackers(register: Callable[[type[FaceTracker]], None]) -> None:
    """Register :class:`~lipdub.components.FaceTracker` subclasses."""


@hookspec
def register_generators(register: Callable[[type[Generator]], None]) -> None:
    """Register :class:`~lipdub.components.Generator` subclasses."""


@hookspec
def register_blenders(register: Callable[[type[Blender]], None]) -> None:
    """Register :class:`~lipdub.components.Blender` subclasses."""


@hookspec
def register_weights(register: Callable[[WeightSpec], None]) -> None:
    """Register downloadable checkpoints (:class:`~lipdub.weights.registry.WeightSpec`)."""


@hookspec
def register_eval_metrics(register: Callable[[type[EvalMetric]], None]) -> None:
    """Register :class:`~lipdub.eval.metric_plugins.EvalMetric` subclasses for ``lipdub eval``."""


@hookspec
def register_commands(cli: typer.Typer) -> None:
    """Add sub-commands to the ``lipdub`` command-line app."""
