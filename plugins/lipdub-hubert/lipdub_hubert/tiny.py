"""A tiny HuBERT configuration (hidden 32, 2 layers) for tests and benchmarks without downloads."""

from __future__ import annotations

from transformers import HubertConfig


def tiny_config() -> HubertConfig:
    """HuBERT's architecture at toy size: 32-d hidden states, 2 layers, 50 frames/s."""
    return HubertConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(32,) * 7,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        classifier_proj_size=16,
    )
