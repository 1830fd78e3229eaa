"""The value type of the ``register_training_experts`` hook: a frozen lip-sync expert whose
loss a generator trains against (a leaf module: it imports nothing of the plugin machinery or
torch).

``lipdub train generator --expert NAME`` looks up the :class:`TrainingExpert` registered under
``NAME`` (``syncnet``, the built-in SyncNet on the dataset's features, is not a registered
expert). The expert's module maps a generated window, the real window it replaces and the
window's 16 kHz audio to per-frame similarities in ``(0, 1]``; the trainer's sync loss is
``-log`` of them, averaged.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

#: Names a registered expert may not take: the built-in SyncNet and the ``both`` shorthand.
RESERVED_EXPERTS = ("syncnet", "both")


class TrainingExpert(ABC):
    """A frozen expert for the generator's sync loss.

    :meth:`load` returns a module (in eval mode, parameters frozen) called as
    ``module(generated, real, wav)``: ``generated`` and ``real`` are ``(B, 3, T, H, W)`` BGR face
    crops in [0, 1] (the generator's output and the ground-truth window), ``wav`` is ``(B, S)``
    float 16 kHz mono audio of the same ``T`` frames at 25 fps. It returns ``(B, T)``
    similarities; gradients must flow from them back to ``generated``.
    """

    #: ``--expert NAME``.
    name: str = ""
    #: One line for ``lipdub plugins`` and error messages.
    description: str = ""

    def __init__(self, name: str | None = None) -> None:
        if name is not None:
            self.name = name

    @abstractmethod
    def load(self, options: dict[str, Any]) -> nn.Module:
        """The frozen module; ``options`` has ``device`` and the expert options given to
        ``lipdub train generator`` (e.g. ``avhubert``: a checkpoint path, or None)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"
