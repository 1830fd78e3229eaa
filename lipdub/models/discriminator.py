"""The Wav2Lip visual-quality discriminator, laid out like ``visual_quality_disc.pth``."""

from __future__ import annotations

import torch
from torch import nn

from lipdub.models.conv import ConvLeakyReLU


def _stage(
    in_channels: int, out_channels: int, kernel: int, stride: int | tuple[int, int]
) -> nn.Sequential:
    padding = kernel // 2
    return nn.Sequential(
        ConvLeakyReLU(in_channels, out_channels, kernel, stride, padding),
        ConvLeakyReLU(out_channels, out_channels, kernel, 1, padding),
    )


class QualityDiscriminator(nn.Module):
    """Scores how real the lower half of generated faces looks.

    ``forward(faces)`` takes ``(B, 3, H, W)`` or ``(B, 3, T, H, W)`` face images (full faces;
    the lower half is cut here) and returns ``(N, 1)`` probabilities of being real, with
    ``N = B`` or ``B * T`` (time-major, as the reference implementation orders them).
    """

    def __init__(self) -> None:
        super().__init__()
        self.face_encoder_blocks = nn.ModuleList(
            [
                nn.Sequential(ConvLeakyReLU(3, 32, 7, 1, 3)),  # 48x96
                _stage(32, 64, 5, (1, 2)),  # 48x48
                _stage(64, 128, 5, 2),  # 24x24
                _stage(128, 256, 5, 2),  # 12x12
                _stage(256, 512, 3, 2),  # 6x6
                _stage(512, 512, 3, 2),  # 3x3
                nn.Sequential(
                    ConvLeakyReLU(512, 512, 3, 1, 0), ConvLeakyReLU(512, 512, 1, 1, 0)
                ),  # 1x1
            ]
        )
        self.binary_pred = nn.Sequential(
            nn.Conv2d(512, 1, kernel_size=1, stride=1, padding=0), nn.Sigmoid()
        )

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        if faces.dim() > 4:
            faces = faces.permute(2, 0, 1, 3, 4).flatten(0, 1)
        x = faces[:, :, faces.shape[2] // 2 :]
        for block in self.face_encoder_blocks:
            x = block(x)
        return self.binary_pred(x).reshape(len(x), -1)
