"""Convolution blocks shared by the Wav2Lip-family networks.

The attribute names (``conv_block`` holding the convolution, then the batch norm) are part of
the public checkpoint format: they fix the ``state_dict`` keys.
"""

from __future__ import annotations

import torch
from torch import nn

#: ``int`` or ``(height, width)`` as accepted by ``nn.Conv2d``.
Size2 = int | tuple[int, int]


class ConvNormReLU(nn.Module):
    """Convolution, batch norm, optional identity shortcut, then ReLU."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Size2,
        stride: Size2 = 1,
        padding: Size2 = 0,
        residual: bool = False,
    ) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding),
            nn.BatchNorm2d(out_channels),
        )
        self.act = nn.ReLU()
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_block(x)
        if self.residual:
            out = out + x
        return self.act(out)


class ConvTransposeNormReLU(nn.Module):
    """Transposed convolution, batch norm, then ReLU (the decoder's upsampling step)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Size2,
        stride: Size2 = 1,
        padding: Size2 = 0,
        output_padding: Size2 = 0,
    ) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ConvTranspose2d(
                in_channels, out_channels, kernel_size, stride, padding, output_padding
            ),
            nn.BatchNorm2d(out_channels),
        )
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv_block(x))


class ConvLeakyReLU(nn.Module):
    """Convolution without normalisation, then LeakyReLU(0.01) (the discriminator's block)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Size2,
        stride: Size2 = 1,
        padding: Size2 = 0,
    ) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding),
        )
        self.act = nn.LeakyReLU(0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv_block(x))


def residual_stack(channels: int, count: int) -> list[nn.Module]:
    """``count`` shape-preserving 3x3 residual blocks."""
    return [ConvNormReLU(channels, channels, 3, 1, 1, residual=True) for _ in range(count)]


def downsample_stage(
    in_channels: int, out_channels: int, stride: Size2, residual_blocks: int
) -> list[nn.Module]:
    """A strided 3x3 block followed by ``residual_blocks`` residual blocks."""
    return [
        ConvNormReLU(in_channels, out_channels, 3, stride, 1),
        *residual_stack(out_channels, residual_blocks),
    ]


def mel_encoder(residual_blocks_at_256: int) -> nn.Sequential:
    """The Wav2Lip / SyncNet mel-window encoder: ``(B, 1, 80, 16)`` -> ``(B, 512, 1, 1)``.

    The generator uses one residual block at 256 channels, the lip-sync expert two.
    """
    return nn.Sequential(
        ConvNormReLU(1, 32, 3, 1, 1),
        *residual_stack(32, 2),
        *downsample_stage(32, 64, (3, 1), 2),
        *downsample_stage(64, 128, 3, 2),
        *downsample_stage(128, 256, (3, 2), residual_blocks_at_256),
        ConvNormReLU(256, 512, 3, 1, 0),
        ConvNormReLU(512, 512, 1, 1, 0),
    )
