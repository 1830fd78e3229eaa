"""The AV-HuBERT lip-sync loss for ``lipdub train generator --expert avhubert`` (Yaman et al.'s
unsupervised variant): L_sync = -log CS(TE(0, A), TE(V_gen, 0)) per frame, averaged over the
window, AV-HuBERT frozen.

The mouth ROI is built differentiably from the generated faces, as TalkLip does: the generated
lower face is pasted back onto the real crop, converted to grey (0.299 R + 0.587 G + 0.114 B),
the mouth box cropped and resized to 96 x 96, centre-cropped to 88 x 88 and normalised with mean
0.421 and std 0.165. Training clips hold Wav2Lip face crops without landmarks, so a fixed box
of the crop (:data:`MOUTH_BOX`) stands in for the official landmark-aligned mouth crop. The
audio is the window's 16 kHz audio as 104-d stacked log filterbanks (:mod:`.audio`).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lipdub_avhubert.audio import audio_features
from lipdub_avhubert.model import AVHubert
from lipdub_avhubert.mouth import CROP_SIZE, MEAN, ROI_SIZE, STD

#: The mouth box in a Wav2Lip face crop, as fractions (top, bottom, left, right).
MOUTH_BOX = (0.48, 0.98, 0.25, 0.75)
#: ITU-R BT.601 weights of the B, G and R channels (the crops are BGR).
GREY_BGR = (0.114, 0.587, 0.299)


def mouth_rois(generated: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """``(B, 3, T, H, W)`` BGR [0, 1] generated and real windows -> ``(B, 1, T, 88, 88)``
    normalised grey mouth crops of the generated lower face pasted onto the real one."""
    height, width = generated.shape[-2:]
    half = height // 2
    pasted = torch.cat((real[..., :half, :].to(generated.dtype), generated[..., half:, :]), dim=3)
    weights = torch.tensor(GREY_BGR, dtype=pasted.dtype, device=pasted.device)
    grey = (pasted * weights.view(1, 3, 1, 1, 1)).sum(dim=1)  # (B, T, H, W)
    top, bottom = round(MOUTH_BOX[0] * height), round(MOUTH_BOX[1] * height)
    left, right = round(MOUTH_BOX[2] * width), round(MOUTH_BOX[3] * width)
    box = grey[:, :, top:bottom, left:right]
    batch, frames = box.shape[:2]
    roi = F.interpolate(
        box.reshape(batch * frames, 1, *box.shape[2:]),
        size=(ROI_SIZE, ROI_SIZE),
        mode="bilinear",
        align_corners=False,
    )
    offset = (ROI_SIZE - CROP_SIZE) // 2
    roi = roi[..., offset : offset + CROP_SIZE, offset : offset + CROP_SIZE]
    roi = (roi - MEAN) / STD
    return roi.reshape(batch, frames, CROP_SIZE, CROP_SIZE).unsqueeze(1)


def window_audio(wav: torch.Tensor, frames: int, normalize: bool) -> torch.Tensor:
    """``(B, S)`` float 16 kHz audio -> ``(B, 104, frames)`` AV-HuBERT audio input."""
    rows = [audio_features(w, frames, normalize) for w in wav.detach().float().cpu().numpy()]
    return torch.from_numpy(np.stack(rows)).transpose(1, 2).to(wav.device)


class AVHubertSync(nn.Module):
    """Frozen AV-HuBERT: per-frame cosine similarity of audio-only and lips-only features."""

    def __init__(self, model: AVHubert, normalize: bool = True) -> None:
        super().__init__()
        self.model, self.normalize = model, normalize

    def forward(
        self, generated: torch.Tensor, real: torch.Tensor, wav: torch.Tensor
    ) -> torch.Tensor:
        """``(B, T)`` CS(TE(0, A), TE(V_gen, 0)); gradients reach ``generated``."""
        video = mouth_rois(generated, real)
        frames = video.shape[2]
        audio = window_audio(wav, frames, self.normalize).to(video.dtype)
        lips = self.model.extract(video, None)
        with torch.no_grad():
            sound = self.model.extract(None, audio)
        return F.cosine_similarity(lips.float(), sound.float(), dim=-1)
