"""The Wav2Lip generator and SyncNet with the attention audio encoder in place of the mel one.

Inputs: audio windows ``(B, T, D)`` of extractor frames (T = 10: 0.2 s at 50 frames/s, the
span of Wav2Lip's 16 mel columns) with the usual face inputs of each network.
"""

from __future__ import annotations

import torch
from lipdub.models.syncnet import SyncNetColor
from lipdub.models.wav2lip import Wav2Lip
from torch import nn
from torch.nn import functional as F

from lipdub_hubert.encoder import AttentionAudioEncoder

#: Feature frames per video frame: 0.2 s at 50 frames per second.
WINDOW_FRAMES = 10


def build_generator(feature_dim: int, window_frames: int = WINDOW_FRAMES) -> Wav2Lip:
    """Wav2Lip's face encoder/decoder driven by an :class:`AttentionAudioEncoder`.

    Called as ``model(audio (B, T, D), faces (B, 6, 96, 96))`` -> ``(B, 3, 96, 96)`` in [0, 1].
    """
    return Wav2Lip(audio_encoder=AttentionAudioEncoder(feature_dim, window_frames))


def build_syncnet(feature_dim: int, window_frames: int = WINDOW_FRAMES) -> SyncNetColor:
    """Wav2Lip's SyncNet face encoder with an :class:`AttentionAudioEncoder`.

    Called as ``model(audio (B, T, D), faces (B, 15, 48, 96))`` -> L2-normalised
    ``(audio_embedding, face_embedding)``, both ``(B, 512)`` and non-negative (ReLU'd).
    """
    return SyncNetColor(audio_encoder=AttentionAudioEncoder(feature_dim, window_frames))


def sync_probability(
    audio_embedding: torch.Tensor, face_embedding: torch.Tensor, eps: float = 1e-8
) -> torch.Tensor:
    """P_sync: cosine similarity of the (ReLU'd, hence non-negative) embeddings, in [0, 1]."""
    similarity = F.cosine_similarity(audio_embedding, face_embedding, dim=1, eps=eps)
    return similarity.clamp(0.0, 1.0)


def build_network(arch: str, feature_dim: int, window_frames: int = WINDOW_FRAMES) -> nn.Module:
    """The network called ``arch`` (``wav2lip-*`` generators or ``syncnet-*``)."""
    if arch.startswith("wav2lip-"):
        return build_generator(feature_dim, window_frames)
    if arch.startswith("syncnet-"):
        return build_syncnet(feature_dim, window_frames)
    raise ValueError(f"unknown architecture {arch!r}")
