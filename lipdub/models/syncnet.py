"""The lip-sync expert ``SyncNetColor``, laid out like the public ``lipsync_expert.pth``."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from lipdub.models.conv import ConvNormReLU, downsample_stage, mel_encoder, residual_stack


def _face_encoder() -> nn.Sequential:
    # (B, 15, 48, 96): five stacked lower-half face crops -> (B, 512, 1, 1)
    return nn.Sequential(
        ConvNormReLU(15, 32, 7, 1, 3),
        ConvNormReLU(32, 64, 5, (1, 2), 1),
        *residual_stack(64, 2),
        *downsample_stage(64, 128, 2, 3),
        *downsample_stage(128, 256, 2, 2),
        *downsample_stage(256, 512, 2, 2),
        ConvNormReLU(512, 512, 3, 2, 1),
        ConvNormReLU(512, 512, 3, 1, 0),
        ConvNormReLU(512, 512, 1, 1, 0),
    )


class SyncNetColor(nn.Module):
    """Lip-sync expert: ``(mel (B,1,80,16), faces (B,15,48,96))`` -> ``(audio_emb, face_emb)``.

    Both embeddings are ``(B, 512)`` and L2-normalised, so their dot product is the cosine
    similarity used by the sync loss. ``audio_encoder`` may replace the mel encoder by any
    module producing ``(B, 512, 1, 1)``.
    """

    def __init__(self, audio_encoder: nn.Module | None = None) -> None:
        super().__init__()
        self.face_encoder = _face_encoder()
        self.audio_encoder = audio_encoder if audio_encoder is not None else mel_encoder(2)

    def forward(
        self, audio: torch.Tensor, faces: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        face_embedding = self.face_encoder(faces).flatten(1)
        audio_embedding = self.audio_encoder(audio).flatten(1)
        return F.normalize(audio_embedding, p=2, dim=1), F.normalize(face_embedding, p=2, dim=1)
