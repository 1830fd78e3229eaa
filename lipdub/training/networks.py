"""The networks being trained, and the checkpoint formats the dub command reads back.

``mel`` networks are the public layouts: the generator is saved as ``{"state_dict": ...}`` so
``lipdub VIDEO --generator wav2lip --checkpoint best.pt`` and ``load_wav2lip`` read it, the
SyncNet as ``syncnet_color`` (``lipsync_expert.pth`` loads as its initialisation). Networks on
other features use the ``lipdub-hubert`` plugin's attention audio encoder and its checkpoint
format with :class:`~lipdub_hubert.checkpoint.NetworkMeta`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from lipdub.errors import CheckpointError, PluginError
from lipdub.training.dataset import FeatureSpec

#: Which public layout each kind of mel network has.
MEL_LAYOUTS = {"syncnet": "syncnet_color", "generator": "wav2lip"}


def _hubert() -> Any:
    try:
        import lipdub_hubert.checkpoint as hubert_checkpoint
    except ImportError:
        raise PluginError(
            "training on non-mel features needs the lipdub-hubert plugin "
            "(pip install -e plugins/lipdub-hubert)"
        ) from None
    return hubert_checkpoint


def arch_name(kind: str, spec: FeatureSpec) -> str:
    """``syncnet-hubert``, ``wav2lip-contentvec``, ... (the plugin's architecture names)."""
    return f"{'syncnet' if kind == 'syncnet' else 'wav2lip'}-{spec.name}"


def network_meta(kind: str, spec: FeatureSpec) -> Any:
    """The plugin checkpoint metadata of a network trained on ``spec``'s features."""
    info = spec.info
    return _hubert().NetworkMeta(
        arch=arch_name(kind, spec),
        extractor=spec.name,
        model=str(info.get("model") or spec.name),
        layer=int(info.get("layer") or 0),
        feature_dim=spec.dim,
        projected=info.get("projected"),
        window_frames=spec.window,
    )


def build_network(kind: str, spec: FeatureSpec) -> nn.Module:
    """A fresh (randomly initialised) SyncNet or generator for ``spec``'s features."""
    if spec.name == "mel":
        from lipdub.models.syncnet import SyncNetColor
        from lipdub.models.wav2lip import Wav2Lip

        return SyncNetColor() if kind == "syncnet" else Wav2Lip()
    from lipdub_hubert.networks import build_generator, build_syncnet

    _hubert()
    build = build_syncnet if kind == "syncnet" else build_generator
    return build(spec.dim, spec.window)


def weights_payload(kind: str, spec: FeatureSpec, model: nn.Module, step: int) -> dict[str, Any]:
    """What a checkpoint file holds besides training state (the loadable network)."""
    state = {key: value.detach().cpu() for key, value in model.state_dict().items()}
    if spec.name == "mel":
        return {"state_dict": state, "optimizer": None, "global_step": int(step)}
    return {"state_dict": state, "lipdub": network_meta(kind, spec).to_dict()}


def read_weights(path: Path, kind: str, spec: FeatureSpec) -> dict[str, Any]:
    """The checked state dict of a checkpoint of ``kind`` for ``spec``'s features."""
    if spec.name == "mel":
        from lipdub.models.checkpoint import check_layout, read_state_dict

        state = read_state_dict(path)
        check_layout(state, MEL_LAYOUTS[kind], source=path.name)
        return state
    hubert = _hubert()
    state, meta = hubert.read_checkpoint(path, arch=arch_name(kind, spec))
    hubert.check_features(
        meta,
        spec.name,
        model=spec.info.get("model"),
        layer=spec.info.get("layer"),
        feature_dim=spec.dim,
        projected=spec.info.get("projected"),
        where=f"checkpoint {path.name}",
    )
    if meta.window_frames != spec.window:
        raise CheckpointError(f"{path.name} uses windows of {meta.window_frames} frames")
    return state


def load_weights(model: nn.Module, path: Path, kind: str, spec: FeatureSpec) -> nn.Module:
    """Load a checkpoint (e.g. ``lipsync_expert.pth`` / ``wav2lip_gan.pth``) into ``model``."""
    model.load_state_dict(read_weights(Path(path), kind, spec), strict=True)
    return model


def load_discriminator(path: Path) -> nn.Module:
    """The quality discriminator stored in ``path`` (public ``wav2lip_disc_qual`` layout)."""
    from lipdub.models.checkpoint import load_network

    return load_network(path, "wav2lip_disc_qual").train()
