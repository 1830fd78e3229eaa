"""``lipdub train --extractor hubert|contentvec``: the attention-encoder networks and this
plugin's checkpoint format (:class:`~lipdub_hubert.checkpoint.NetworkMeta`), registered through
``register_training_networks``. Importing this module does not import torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from lipdub.errors import CheckpointError
from lipdub.training.network_spec import FeatureSpec, NetworkKind, TrainingNetworks

if TYPE_CHECKING:
    from torch import nn

    from lipdub_hubert.checkpoint import NetworkMeta


def arch_name(kind: NetworkKind, spec: FeatureSpec) -> str:
    """``syncnet-hubert``, ``wav2lip-contentvec``, ... (the checkpoint's architecture name)."""
    return f"{'syncnet' if kind == 'syncnet' else 'wav2lip'}-{spec.name}"


def network_meta(kind: NetworkKind, spec: FeatureSpec) -> NetworkMeta:
    """The checkpoint metadata of a network trained on ``spec``'s features."""
    from lipdub_hubert.checkpoint import NetworkMeta

    info = spec.info
    return NetworkMeta(
        arch=arch_name(kind, spec),
        extractor=spec.name,
        model=str(info.get("model") or spec.name),
        layer=int(info.get("layer") or 0),
        feature_dim=spec.dim,
        projected=info.get("projected"),
        window_frames=spec.window,
    )


class AttentionNetworks(TrainingNetworks):
    """Wav2Lip's SyncNet and generator with the attention audio encoder, for one extractor."""

    def build(self, kind: NetworkKind, spec: FeatureSpec) -> nn.Module:
        from lipdub_hubert.networks import build_generator, build_syncnet

        build = build_syncnet if kind == "syncnet" else build_generator
        return build(spec.dim, spec.window)

    def payload(
        self, kind: NetworkKind, spec: FeatureSpec, state: dict[str, Any], step: int
    ) -> dict[str, Any]:
        return {"state_dict": state, "lipdub": network_meta(kind, spec).to_dict()}

    def read(self, path: Path, kind: NetworkKind, spec: FeatureSpec) -> dict[str, Any]:
        from lipdub_hubert.checkpoint import check_features, read_checkpoint

        state, meta = read_checkpoint(path, arch=arch_name(kind, spec))
        check_features(
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
