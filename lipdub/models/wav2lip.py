"""The Wav2Lip generator, laid out exactly like the public ``wav2lip.pth`` checkpoints.

A U-Net: a face encoder turns the 6-channel face input (masked target + reference) into
features at 96, 48, 24, 12, 6, 3 and 1 pixels; the audio embedding ``(B, 512, 1, 1)`` is
decoded back up to 96 pixels, each decoder stage concatenated with the encoder features of the
same size; a sigmoid head gives the RGB (BGR for the public weights) face in [0, 1].
"""

from __future__ import annotations

import torch
from torch import nn

from lipdub.models.conv import (
    ConvNormReLU,
    ConvTransposeNormReLU,
    downsample_stage,
    mel_encoder,
    residual_stack,
)


def _face_encoder() -> nn.ModuleList:
    return nn.ModuleList(
        [
            nn.Sequential(ConvNormReLU(6, 16, 7, 1, 3)),  # 96x96
            nn.Sequential(*downsample_stage(16, 32, 2, 2)),  # 48x48
            nn.Sequential(*downsample_stage(32, 64, 2, 3)),  # 24x24
            nn.Sequential(*downsample_stage(64, 128, 2, 2)),  # 12x12
            nn.Sequential(*downsample_stage(128, 256, 2, 2)),  # 6x6
            nn.Sequential(*downsample_stage(256, 512, 2, 1)),  # 3x3
            nn.Sequential(ConvNormReLU(512, 512, 3, 1, 0), ConvNormReLU(512, 512, 1, 1, 0)),
        ]
    )


def _upsample_stage(in_channels: int, out_channels: int, residual_blocks: int) -> nn.Sequential:
    return nn.Sequential(
        ConvTransposeNormReLU(in_channels, out_channels, 3, 2, 1, output_padding=1),
        *residual_stack(out_channels, residual_blocks),
    )


def _face_decoder() -> nn.ModuleList:
    # Input channels = previous stage output + the skip features concatenated to it.
    return nn.ModuleList(
        [
            nn.Sequential(ConvNormReLU(512, 512, 1, 1, 0)),  # 1x1
            nn.Sequential(
                ConvTransposeNormReLU(1024, 512, 3, 1, 0), *residual_stack(512, 1)
            ),  # 3x3
            _upsample_stage(1024, 512, 2),  # 6x6
            _upsample_stage(768, 384, 2),  # 12x12
            _upsample_stage(512, 256, 2),  # 24x24
            _upsample_stage(320, 128, 2),  # 48x48
            _upsample_stage(160, 64, 2),  # 96x96
        ]
    )


def flatten_time(audio: torch.Tensor, faces: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Fold ``(B, T, 1, 80, 16)`` / ``(B, 6, T, H, W)`` into time-major batches of ``T * B``."""
    audio = audio.transpose(0, 1).flatten(0, 1)
    faces = faces.permute(2, 0, 1, 3, 4).flatten(0, 1)
    return audio, faces


class Wav2Lip(nn.Module):
    """Wav2Lip generator: ``(audio (B,1,80,16), faces (B,6,96,96)) -> (B,3,96,96)`` in [0, 1].

    Also accepts sequences ``audio (B,T,1,80,16)``, ``faces (B,6,T,96,96)`` and then returns
    ``(B,3,T,96,96)``. ``audio_encoder`` replaces the mel encoder by any module mapping the
    given audio input to ``(B, 512, 1, 1)`` (its weights then live under ``audio_encoder.``).
    """

    def __init__(self, audio_encoder: nn.Module | None = None) -> None:
        super().__init__()
        self.face_encoder_blocks = _face_encoder()
        self.audio_encoder = audio_encoder if audio_encoder is not None else mel_encoder(1)
        self.face_decoder_blocks = _face_decoder()
        self.output_block = nn.Sequential(
            ConvNormReLU(80, 32, 3, 1, 1),
            nn.Conv2d(32, 3, kernel_size=1, stride=1, padding=0),
            nn.Sigmoid(),
        )

    def forward(self, audio: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
        batch = faces.shape[0]
        sequence = faces.dim() > 4
        if sequence:
            audio, faces = flatten_time(audio, faces)

        skips = []
        x = faces
        for block in self.face_encoder_blocks:
            x = block(x)
            skips.append(x)

        x = self.audio_encoder(audio)
        for block in self.face_decoder_blocks:
            x = torch.cat((block(x), skips.pop()), dim=1)
        x = self.output_block(x)

        if sequence:
            x = x.reshape(-1, batch, *x.shape[1:]).permute(1, 2, 0, 3, 4)
        return x
