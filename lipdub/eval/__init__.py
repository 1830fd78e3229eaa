"""Evaluation metrics for dubbed videos (``lipdub eval``).

Public API (imported lazily, so ``import lipdub.eval`` does not load torch):
``load_syncnet_v2(path)``, ``mfcc(wav_int16, sr)``, ``lse_from_embeddings(video_emb,
audio_emb, vshift=15)``. The metric modules: ``syncnet_v2``, ``syncnet_mfcc``, ``lse``,
``pri``, ``lmd``, ``image_quality``, ``agreement``; the command's engine: ``run``.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "load_syncnet_v2": "lipdub.eval.syncnet_v2",
    "seeded_syncnet_v2": "lipdub.eval.syncnet_v2",
    "save_syncnet_v2": "lipdub.eval.syncnet_v2",
    "SyncNetV2": "lipdub.eval.syncnet_v2",
    "mfcc": "lipdub.eval.syncnet_mfcc",
    "lse_from_embeddings": "lipdub.eval.lse",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'lipdub.eval' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
