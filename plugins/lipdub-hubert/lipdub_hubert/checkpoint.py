"""lipdub's checkpoint format for networks trained on extractor features.

``{"state_dict": ..., "lipdub": {"arch": "wav2lip-hubert", "extractor": "hubert", "model":
"facebook/hubert-base-ls960", "layer": 12, "feature_dim": 768, "projected": None,
"window_frames": 10, "format": 1}}``: the metadata says which features the network expects, and
loading refuses features of another kind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from lipdub.errors import CheckpointError
from torch import nn

from lipdub_hubert.networks import WINDOW_FRAMES, build_network

FORMAT_VERSION = 1


@dataclass(frozen=True)
class NetworkMeta:
    """What a checkpoint's network is and which features it was trained on."""

    arch: str
    extractor: str
    model: str
    layer: int
    feature_dim: int
    projected: bool | None = None
    window_frames: int = WINDOW_FRAMES

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "format": FORMAT_VERSION}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: Path) -> NetworkMeta:
        try:
            return cls(
                arch=str(data["arch"]),
                extractor=str(data["extractor"]),
                model=str(data["model"]),
                layer=int(data["layer"]),
                feature_dim=int(data["feature_dim"]),
                projected=None if data.get("projected") is None else bool(data["projected"]),
                window_frames=int(data.get("window_frames", WINDOW_FRAMES)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{path}: incomplete lipdub metadata ({exc})") from None


def model_key(model: str) -> str:
    """How two model names are compared: the last path part, case-insensitive.

    ``facebook/hubert-base-ls960`` and a local ``.../hubert-base-ls960`` folder match.
    """
    return model.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].lower()


def save_checkpoint(path: Path | str, model: nn.Module, meta: NetworkMeta) -> Path:
    """Write ``model``'s weights with ``meta`` to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"state_dict": model.state_dict(), "lipdub": meta.to_dict()}
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        torch.save(payload, temp_name)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path


def read_checkpoint(path: Path | str, arch: str | None = None) -> tuple[dict, NetworkMeta]:
    """The state dict and metadata of a lipdub checkpoint (safe loading: tensors only)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist or is not a file")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # unreadable, truncated, or would need to run pickled code
        raise CheckpointError(
            f"{path} is not a readable PyTorch checkpoint of plain tensors"
        ) from None
    if not isinstance(loaded, Mapping) or not isinstance(loaded.get("lipdub"), Mapping):
        want = arch or "wav2lip-hubert/-contentvec"
        raise CheckpointError(
            f"{path} has no lipdub metadata, so it is not a {want} checkpoint (the public "
            "Wav2Lip checkpoints use mel features: use --generator wav2lip)"
        )
    meta = NetworkMeta.from_dict(loaded["lipdub"], path)
    if arch is not None and meta.arch != arch:
        raise CheckpointError(f"{path} holds a {meta.arch} network, not {arch}")
    state = loaded.get("state_dict")
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{path} has no state_dict")
    return {key.removeprefix("module."): value for key, value in state.items()}, meta


def load_network(path: Path | str, arch: str | None = None) -> tuple[nn.Module, NetworkMeta]:
    """Build the network a checkpoint describes and load its weights (eval mode)."""
    state, meta = read_checkpoint(path, arch)
    network = build_network(meta.arch, meta.feature_dim, meta.window_frames)
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise CheckpointError(f"{path} does not fit a {meta.arch} network: {first}") from None
    return network.eval(), meta


def check_features(
    meta: NetworkMeta,
    extractor: str,
    model: str | None = None,
    layer: int | None = None,
    feature_dim: int | None = None,
    projected: bool | None = None,
    where: str = "checkpoint",
) -> None:
    """Raise :class:`CheckpointError` unless the given features are the ones ``meta`` expects.

    Options left as ``None`` are not compared.
    """
    mismatches = []
    if extractor != meta.extractor:
        mismatches.append(f"extractor {meta.extractor} (not {extractor})")
    if model is not None and model_key(model) != model_key(meta.model):
        mismatches.append(f"model {meta.model} (not {model})")
    if layer is not None and layer != meta.layer:
        mismatches.append(f"layer {meta.layer} (not {layer})")
    if feature_dim is not None and feature_dim != meta.feature_dim:
        mismatches.append(f"{meta.feature_dim}-d features (not {feature_dim}-d)")
    if projected is not None and meta.projected is not None and projected != meta.projected:
        kind = "projected" if meta.projected else "hidden"
        mismatches.append(f"{kind} features (not {'projected' if projected else 'hidden'})")
    if mismatches:
        raise CheckpointError(
            f"{where} was trained with {', '.join(mismatches)}; pass the same --model/--layer "
            "as in training, or a checkpoint trained on these features"
        )


def make_random_checkpoint(path: Path | str, meta: NetworkMeta, seed: int = 0) -> Path:
    """Save a seeded-random network of ``meta.arch`` (for tests and smoke runs)."""
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        network = build_network(meta.arch, meta.feature_dim, meta.window_frames)
    finally:
        torch.random.set_rng_state(generator_state)
    return save_checkpoint(path, network, meta)
