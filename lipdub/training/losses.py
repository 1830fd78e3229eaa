"""The seed paper's losses: SyncNet probability, its BCE, the sync and GAN losses."""

from __future__ import annotations

import torch
from torch.nn import functional as F

#: P_sync is clamped to ``[EPS, 1 - EPS]`` so its logarithms stay finite.
EPS = 1e-7


def sync_probability(audio_embedding: torch.Tensor, face_embedding: torch.Tensor) -> torch.Tensor:
    """P_sync: cosine similarity of the (ReLU'd) embeddings, clamped to ``(eps, 1)``, in fp32."""
    similarity = F.cosine_similarity(audio_embedding.float(), face_embedding.float(), dim=1)
    return similarity.clamp(EPS, 1.0 - EPS)


def sync_bce(probability: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of P_sync against in-sync (1) / off-sync (0) labels."""
    return F.binary_cross_entropy(probability, label.float())


def sync_loss(probability: torch.Tensor) -> torch.Tensor:
    """L_sync = -log P_sync, averaged: how out of sync generated mouths look to the expert."""
    return -torch.log(probability).mean()


def gan_loss(scores: torch.Tensor, real: bool) -> torch.Tensor:
    """BCE of the discriminator's probabilities against all-real or all-fake targets."""
    scores = scores.float().clamp(EPS, 1.0 - EPS)
    target = torch.ones_like(scores) if real else torch.zeros_like(scores)
    return F.binary_cross_entropy(scores, target)


def total_loss(
    recon: torch.Tensor,
    sync: torch.Tensor,
    gan: torch.Tensor | None,
    sync_weight: float,
    gan_weight: float,
) -> torch.Tensor:
    """L_total = (1 - s_w - s_g) L_recon + s_w L_sync + s_g L_gan (s_g = 0 without a GAN)."""
    gan_weight = gan_weight if gan is not None else 0.0
    total = (1.0 - sync_weight - gan_weight) * recon + sync_weight * sync
    return total + gan_weight * gan if gan is not None else total
