"""The hooks a lipdub plugin can implement.

Every ``register_*`` hook but ``register_commands`` receives a ``register`` callback; call it
once per item the plugin provides. The callback validates the item, refuses a name that is
already taken and records which plugin supplied it (see :mod:`lipdub.registry`).

This module imports only leaf modules (value types that import nothing of the plugin
machinery), so anything may import it without an import cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

from lipdub.components import KINDS

if TYPE_CHECKING:
    import typer

    from lipdub.components import AudioExtractor, Blender, FaceTracker, Generator
    from lipdub.eval.metric import EvalMetric
    from lipdub.training.expert_spec import TrainingExpert
    from lipdub.training.network_spec import TrainingNetworks
    from lipdub.weights.spec import WeightSpec

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
    """Register downloadable checkpoints (:class:`~lipdub.weights.spec.WeightSpec`)."""


@hookspec
def register_eval_metrics(register: Callable[[type[EvalMetric]], None]) -> None:
    """Register :class:`~lipdub.eval.metric.EvalMetric` subclasses for ``lipdub eval``."""


@hookspec
def register_training_networks(register: Callable[[TrainingNetworks], None]) -> None:
    """Register :class:`~lipdub.training.network_spec.TrainingNetworks` (one per audio
    extractor) so ``lipdub train --extractor NAME`` can train on that extractor's features."""


@hookspec
def register_training_experts(register: Callable[[TrainingExpert], None]) -> None:
    """Register :class:`~lipdub.training.expert_spec.TrainingExpert` objects: frozen lip-sync
    experts for ``lipdub train generator --expert NAME``."""


@hookspec
def register_commands(cli: typer.Typer) -> None:
    """Add sub-commands to the ``lipdub`` command-line app."""


def _component_hook(kind: str, base: type) -> Callable[..., Any]:
    """A ``register_<kind>`` spec for a component kind that has no explicit one above."""

    def hook(register: Callable[[type], None]) -> None:
        """Register component subclasses."""

    hook.__name__ = hook.__qualname__ = f"register_{kind}"
    hook.__doc__ = f"Register :class:`~lipdub.components.{base.__name__}` subclasses."
    register = f"Callable[[type[{base.__name__}]], None]"
    hook.__annotations__ = {"register": register, "return": "None"}
    return hookspec(hook)


# A kind added to lipdub.components.KINDS gets its hook without another edit here.
for _kind, _base in KINDS.items():
    if f"register_{_kind}" not in globals():
        globals()[f"register_{_kind}"] = _component_hook(_kind, _base)
