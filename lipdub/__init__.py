"""lipdub: re-sync the lips of people in a video to a new audio track."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    import numpy as np
    import torch

__all__ = ["__version__", "load_generator", "melspectrogram"]


def load_generator(path: Any, device: str = "cpu") -> torch.nn.Module:
    """Load a Wav2Lip-layout generator checkpoint into an eval-mode ``torch.nn.Module``.

    Called as ``model(mel (B,1,80,16), faces (B,6,96,96))``; returns ``(B,3,96,96)`` in [0, 1].
    """
    from lipdub.models.checkpoint import load_wav2lip

    return load_wav2lip(path, device=device)


def melspectrogram(wav: np.ndarray) -> np.ndarray:
    """The Wav2Lip mel spectrogram ``(80, T)`` of 16 kHz float32 mono audio."""
    from lipdub.audio.mel import melspectrogram as _mel

    return _mel(wav)
