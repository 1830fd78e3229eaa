"""The networks being trained, and the checkpoint formats the dub command reads back.

Which networks train on an extractor's features is a :class:`TrainingNetworks` from the plugin
registry (``register_training_networks``). The built-in one, registered by this module, is for
``mel``: the public layouts. The generator is saved as ``{"state_dict": ...}`` so ``lipdub
VIDEO --generator wav2lip --checkpoint best.pt`` and ``load_wav2lip`` read it, the SyncNet as
``syncnet_color`` (``lipsync_expert.pth`` loads as its initialisation). Plugins that add an
extractor (``lipdub-hubert``) register networks for its features.

Importing this module does not import torch (it is a built-in plugin, loaded on every run).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lipdub.errors import PluginError
from lipdub.hookspecs import hookimpl
from lipdub.training.network_spec import FeatureSpec, NetworkKind, TrainingNetworks

if TYPE_CHECKING:
    from torch import nn


#: Which public layout each kind of mel network has.
MEL_LAYOUTS = {"syncnet": "syncnet_color", "generator": "wav2lip"}


class MelNetworks(TrainingNetworks):
    """SyncNetColor and Wav2Lip on Wav2Lip's mel spectrogram, in the public layouts."""

    name = "mel"

    def build(self, kind: NetworkKind, spec: FeatureSpec) -> nn.Module:
        from lipdub.models.syncnet import SyncNetColor
        from lipdub.models.wav2lip import Wav2Lip

        return SyncNetColor() if kind == "syncnet" else Wav2Lip()

    def payload(
        self, kind: NetworkKind, spec: FeatureSpec, state: dict[str, Any], step: int
    ) -> dict[str, Any]:
        return {"state_dict": state, "optimizer": None, "global_step": int(step)}

    def read(self, path: Path, kind: NetworkKind, spec: FeatureSpec) -> dict[str, Any]:
        from lipdub.models.checkpoint import check_layout, read_state_dict

        state = read_state_dict(path)
        check_layout(state, MEL_LAYOUTS[kind], source=path.name)
        return state


@hookimpl
def register_training_networks(register: Callable[[TrainingNetworks], None]) -> None:
    register(MelNetworks())


def networks_for(spec: FeatureSpec) -> TrainingNetworks:
    """The registered networks for ``spec``'s extractor; a one-line :class:`PluginError`
    naming the extractor (and its plugin, if installed) when there are none."""
    from lipdub import plugins

    found = plugins.entries("training_networks")
    if spec.name in found:
        return found[spec.name].value
    trainable = ", ".join(sorted(found)) or "none"
    extractor = plugins.components("audio_extractors").get(spec.name)
    if extractor is not None:
        raise PluginError(
            f"plugin {extractor.plugin!r} provides the {spec.name!r} audio extractor but no "
            f"networks to train on its features (trainable: {trainable})"
        )
    raise PluginError(
        f"no installed plugin provides the {spec.name!r} audio extractor, so there are no "
        f"networks to train on its features (trainable: {trainable}); install the plugin that "
        "provides it (`lipdub plugins` lists what is installed)"
    )


def build_network(kind: NetworkKind, spec: FeatureSpec) -> nn.Module:
    """A fresh (randomly initialised) SyncNet or generator for ``spec``'s features."""
    return networks_for(spec).build(kind, spec)


def weights_payload(
    kind: NetworkKind, spec: FeatureSpec, model: nn.Module, step: int
) -> dict[str, Any]:
    """What a checkpoint file holds besides training state (the loadable network)."""
    state = {key: value.detach().cpu() for key, value in model.state_dict().items()}
    return networks_for(spec).payload(kind, spec, state, step)


def read_weights(path: Path, kind: NetworkKind, spec: FeatureSpec) -> dict[str, Any]:
    """The checked state dict of a checkpoint of ``kind`` for ``spec``'s features."""
    return networks_for(spec).read(Path(path), kind, spec)


def load_weights(model: nn.Module, path: Path, kind: NetworkKind, spec: FeatureSpec) -> nn.Module:
    """Load a checkpoint (e.g. ``lipsync_expert.pth`` / ``wav2lip_gan.pth``) into ``model``."""
    model.load_state_dict(read_weights(Path(path), kind, spec), strict=True)
    return model


def load_discriminator(path: Path) -> nn.Module:
    """The quality discriminator stored in ``path`` (public ``wav2lip_disc_qual`` layout)."""
    from lipdub.models.checkpoint import load_network

    return load_network(path, "wav2lip_disc_qual").train()
