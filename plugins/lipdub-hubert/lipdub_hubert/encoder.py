"""The audio encoder of the seed paper: self-attention over a window of feature frames.

A window of extractor frames ``(B, T, D)`` (T = 10 for 0.2 s at 50 frames/s) gets a learned
position embedding, one residual multi-head self-attention block, is averaged over time and
mapped by a linear layer to the 512-d embedding the Wav2Lip visual side uses. The embedding
goes through a ReLU, as the last layer of Wav2Lip's own audio encoder does, and is returned as
``(B, 512, 1, 1)`` so it drops in for the mel encoder.
"""

from __future__ import annotations

import torch
from torch import nn

EMBED_DIM = 512


def attention_heads(feature_dim: int, preferred: int = 8) -> int:
    """The largest head count ``<= preferred`` that divides ``feature_dim``."""
    for heads in range(min(preferred, feature_dim), 0, -1):
        if feature_dim % heads == 0:
            return heads
    return 1


class AttentionAudioEncoder(nn.Module):
    """``(B, T, D)`` feature windows -> ``(B, 512, 1, 1)`` ReLU'd audio embeddings.

    Also accepts ``(B, 1, T, D)`` (a channel axis, like the mel input's).
    """

    def __init__(
        self,
        feature_dim: int,
        window_frames: int = 10,
        num_heads: int | None = None,
        embed_dim: int = EMBED_DIM,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.feature_dim = feature_dim
        self.window_frames = window_frames
        heads = num_heads if num_heads is not None else attention_heads(feature_dim)
        self.position = nn.Parameter(torch.zeros(1, window_frames, feature_dim))
        self.attention = nn.MultiheadAttention(
            feature_dim, heads, dropout=dropout, batch_first=True
        )
        self.norm = nn.LayerNorm(feature_dim)
        self.project = nn.Linear(feature_dim, embed_dim)
        self.activation = nn.ReLU()
        nn.init.normal_(self.position, std=0.02)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        if windows.dim() == 4 and windows.shape[1] == 1:
            windows = windows[:, 0]
        if windows.dim() != 3 or windows.shape[1:] != (self.window_frames, self.feature_dim):
            raise ValueError(
                f"expected audio windows (B, {self.window_frames}, {self.feature_dim}), "
                f"got {tuple(windows.shape)}"
            )
        x = windows + self.position
        attended, _ = self.attention(x, x, x, need_weights=False)
        x = self.norm(x + attended)
        embedding = self.activation(self.project(x.mean(dim=1)))
        return embedding[:, :, None, None]
