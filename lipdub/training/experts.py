"""Which lip-sync experts a generator trains against (``--expert``), from the plugin registry.

``syncnet`` is the built-in frozen SyncNet on the dataset's features (``--syncnet CKPT``);
any other name is a :class:`~lipdub.training.expert_spec.TrainingExpert` a plugin registered
(``register_training_experts``, e.g. ``avhubert`` from lipdub-avhubert). ``--expert`` takes
one name, a comma-separated list, or ``both``: SyncNet and the one registered expert.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lipdub.errors import InputError, PluginError
from lipdub.training.expert_spec import TrainingExpert

if TYPE_CHECKING:
    from torch import nn

SYNCNET = "syncnet"


def _registered() -> dict[str, TrainingExpert]:
    from lipdub import plugins

    return {name: entry.value for name, entry in plugins.entries("training_experts").items()}


def _choices(registered: dict[str, TrainingExpert]) -> str:
    return ", ".join([SYNCNET, *sorted(registered)])


def expert_names(value: str) -> list[str]:
    """The experts ``--expert VALUE`` asks for (``syncnet`` first), checked against the registry;
    a one-line :class:`PluginError` for a name no installed plugin provides."""
    names = [part.strip() for part in value.split(",") if part.strip()]
    if not names:
        raise InputError("--expert needs a name: syncnet, a plugin's expert, or both")
    registered = _registered()
    if "both" in names:
        if len(registered) != 1:
            have = "none is installed" if not registered else f"installed: {_choices(registered)}"
            raise PluginError(
                "--expert both means SyncNet plus the one installed plugin expert, but "
                f"{have}; name them, e.g. --expert syncnet,NAME"
            )
        names = [n for n in names if n != "both"] + [SYNCNET, *registered]
    unknown = [n for n in names if n != SYNCNET and n not in registered]
    if unknown:
        raise PluginError(
            f"no installed plugin provides the training expert {unknown[0]!r} (available: "
            f"{_choices(registered)}); install the plugin that provides it (`lipdub plugins` "
            "lists what is installed)"
        )
    ordered = list(dict.fromkeys(names))
    return sorted(ordered, key=lambda n: n != SYNCNET)


def load_experts(names: list[str], options: dict[str, Any]) -> dict[str, nn.Module]:
    """The frozen modules of the registered experts among ``names`` (not ``syncnet``)."""
    registered = _registered()
    loaded = {}
    for name in names:
        if name == SYNCNET:
            continue
        module = registered[name].load(dict(options))
        for parameter in module.parameters():
            parameter.requires_grad_(False)
        loaded[name] = module.eval()
    return loaded
