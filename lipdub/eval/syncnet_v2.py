"""The original SyncNet (Chung & Zisserman) in the public ``syncnet_v2`` layout.

This is the network behind the LSE-C / LSE-D metrics. Inputs are the reference evaluation's:
video windows ``(B, 3, 5, 224, 224)`` of five BGR frames with raw 0-255 pixel values (no
normalisation), and MFCC windows ``(B, 1, 13, 20)`` (13 coefficients x 20 steps of 10 ms = the
same 0.2 s). Both embeddings are 1024-d and *not* normalised: the metrics use their Euclidean
distance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from lipdub.models.checkpoint import (
    calibrate_batch_norm,
    check_layout,
    read_state_dict,
    seed_weights,
)

EMBEDDING_DIM = 1024


def _conv_bn_relu(conv: nn.Module, channels: int, norm: type[nn.Module]) -> list[nn.Module]:
    return [conv, norm(channels), nn.ReLU(inplace=True)]


def _audio_trunk() -> nn.Sequential:
    # (B, 1, 13, 20) -> (B, 512, 1, 1); indices match the state-dict keys of the public file.
    bn = nn.BatchNorm2d
    return nn.Sequential(
        *_conv_bn_relu(nn.Conv2d(1, 64, 3, padding=1), 64, bn),  # 0-2
        nn.MaxPool2d(1, 1),  # 3
        *_conv_bn_relu(nn.Conv2d(64, 192, 3, padding=1), 192, bn),  # 4-6
        nn.MaxPool2d(3, (1, 2)),  # 7
        *_conv_bn_relu(nn.Conv2d(192, 384, 3, padding=1), 384, bn),  # 8-10
        *_conv_bn_relu(nn.Conv2d(384, 256, 3, padding=1), 256, bn),  # 11-13
        *_conv_bn_relu(nn.Conv2d(256, 256, 3, padding=1), 256, bn),  # 14-16
        nn.MaxPool2d(3, 2),  # 17
        *_conv_bn_relu(nn.Conv2d(256, 512, (5, 4)), 512, bn),  # 18-20
    )


def _video_trunk() -> nn.Sequential:
    # (B, 3, 5, 224, 224) -> (B, 512, 1, 1, 1)
    bn = nn.BatchNorm3d
    return nn.Sequential(
        *_conv_bn_relu(nn.Conv3d(3, 96, (5, 7, 7), stride=(1, 2, 2)), 96, bn),  # 0-2
        nn.MaxPool3d((1, 3, 3), (1, 2, 2)),  # 3
        *_conv_bn_relu(nn.Conv3d(96, 256, (1, 5, 5), (1, 2, 2), (0, 1, 1)), 256, bn),  # 4-6
        nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),  # 7
        *_conv_bn_relu(nn.Conv3d(256, 256, (1, 3, 3), padding=(0, 1, 1)), 256, bn),  # 8-10
        *_conv_bn_relu(nn.Conv3d(256, 256, (1, 3, 3), padding=(0, 1, 1)), 256, bn),  # 11-13
        *_conv_bn_relu(nn.Conv3d(256, 256, (1, 3, 3), padding=(0, 1, 1)), 256, bn),  # 14-16
        nn.MaxPool3d((1, 3, 3), (1, 2, 2)),  # 17
        *_conv_bn_relu(nn.Conv3d(256, 512, (1, 6, 6)), 512, bn),  # 18-20
    )


def _head() -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(512, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, EMBEDDING_DIM)
    )


def _as_tensor(x: torch.Tensor | np.ndarray, device: torch.device) -> torch.Tensor:
    tensor = torch.as_tensor(x) if isinstance(x, np.ndarray) else x
    return tensor.to(device=device, dtype=torch.float32)


class SyncNetV2(nn.Module):
    """SyncNet with the module names of ``syncnet_v2.model`` (``netcnnaud``, ``netfcaud``,
    ``netcnnlip``, ``netfclip``)."""

    def __init__(self) -> None:
        super().__init__()
        self.netcnnaud = _audio_trunk()
        self.netfcaud = _head()
        self.netfclip = _head()
        self.netcnnlip = _video_trunk()

    def forward(self, video: torch.Tensor, mfcc: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(video embeddings, audio embeddings)``, each ``(B, 1024)``."""
        video_emb = self.netfclip(self.netcnnlip(video).flatten(1))
        audio_emb = self.netfcaud(self.netcnnaud(mfcc).flatten(1))
        return video_emb, audio_emb

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def embed_video(self, x: torch.Tensor | np.ndarray) -> torch.Tensor:
        """``(B, 3, 5, 224, 224)`` BGR 0-255 windows -> ``(B, 1024)`` float32 on the CPU."""
        x = _as_tensor(x, self.device)
        if x.ndim != 5 or tuple(x.shape[1:]) != (3, 5, 224, 224):
            raise ValueError(f"embed_video expects (B, 3, 5, 224, 224), got {tuple(x.shape)}")
        with torch.inference_mode():
            return self.netfclip(self.netcnnlip(x).flatten(1)).float().cpu()

    def embed_audio(self, mfcc: torch.Tensor | np.ndarray) -> torch.Tensor:
        """``(B, 1, 13, 20)`` MFCC windows -> ``(B, 1024)`` float32 on the CPU."""
        mfcc = _as_tensor(mfcc, self.device)
        if mfcc.ndim != 4 or tuple(mfcc.shape[1:]) != (1, 13, 20):
            raise ValueError(f"embed_audio expects (B, 1, 13, 20), got {tuple(mfcc.shape)}")
        with torch.inference_mode():
            return self.netfcaud(self.netcnnaud(mfcc).flatten(1)).float().cpu()


def load_syncnet_v2(path: Path | str, device: str = "cpu") -> SyncNetV2:
    """The SyncNet stored in ``path`` (``syncnet_v2.model``: a bare state dict), in eval mode.

    Raises :class:`~lipdub.errors.CheckpointError` when the file is not that network.
    """
    path = Path(path)
    state_dict = read_state_dict(path)
    check_layout(state_dict, "syncnet_v2", source=path.name)
    model = SyncNetV2()
    model.load_state_dict(state_dict, strict=True)
    return model.to(device).eval()


def save_syncnet_v2(model: SyncNetV2, path: Path | str) -> Path:
    """Write ``model`` as the public file is stored: a bare state dict."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({key: value.detach().cpu() for key, value in model.state_dict().items()}, path)
    return path


def seeded_syncnet_v2(seed: int = 0) -> SyncNetV2:
    """A :class:`SyncNetV2` with deterministic random weights, in eval mode (for tests).

    Batch-norm statistics are calibrated on seeded random inputs in the real input ranges, so
    embeddings respond to their input instead of saturating.
    """
    model = seed_weights(SyncNetV2(), seed)
    rng = np.random.RandomState(seed + 1)
    video = torch.from_numpy(rng.uniform(0, 255, (2, 3, 5, 224, 224)).astype(np.float32))
    mfcc = torch.from_numpy(rng.normal(0, 10, (2, 1, 13, 20)).astype(np.float32))
    return calibrate_batch_norm(model, video, mfcc)
