"""AV-HuBERT's feature extractor in plain PyTorch (no fairseq), in the official key layout.

``AVHubert.state_dict()`` has exactly the keys (and order) of the official ``AVHubertModel``
minus its pre-training heads (``mask_emb``, ``label_embs_concat``, ``final_proj``): a ResNet-18
lip encoder with a 3-D convolution stem, a linear audio encoder on 104-d stacked filterbanks,
fusion by concatenation (audio first), a convolutional position embedding and a pre-LN
transformer. :meth:`AVHubert.extract` is the official ``extract_finetune``: a missing modality
is replaced by zeros after its front end.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class AVHubertConfig:
    """Sizes of one AV-HuBERT; :data:`BASE` and :data:`LARGE` are the released ones."""

    layers: int = 12
    dim: int = 768
    ffn: int = 3072
    heads: int = 12
    audio_dim: int = 104
    conv_pos: int = 128
    conv_pos_groups: int = 16
    #: Channels of the 3-D stem and the four ResNet stages (official: 64, 64, 128, 256, 512).
    resnet: tuple[int, int, int, int, int] = (64, 64, 128, 256, 512)

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "resnet": list(self.resnet)}

    @classmethod
    def from_dict(cls, values: dict[str, object]) -> AVHubertConfig:
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        if "resnet" in known:
            known["resnet"] = tuple(int(c) for c in known["resnet"])  # type: ignore[union-attr]
        return cls(**known)  # type: ignore[arg-type]


BASE = AVHubertConfig()
LARGE = AVHubertConfig(layers=24, dim=1024, ffn=4096, heads=16)
#: A few-thousand-parameter model of the same structure, for tests and CPU smoke runs.
TINY = AVHubertConfig(
    layers=2, dim=32, ffn=64, heads=4, conv_pos=16, conv_pos_groups=4, resnet=(8, 8, 8, 16, 16)
)


class BasicBlock(nn.Module):
    """ResNet basic block with per-channel PReLUs (``relu_type='prelu'``)."""

    def __init__(self, inplanes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.PReLU(planes)
        self.relu2 = nn.PReLU(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample: nn.Module | None = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        residual = x if self.downsample is None else self.downsample(x)
        return self.relu2(out + residual)


class Trunk(nn.Module):
    """The four ResNet-18 stages and global average pooling."""

    def __init__(self, channels: tuple[int, int, int, int, int]) -> None:
        super().__init__()
        inplanes = channels[0]
        for index, planes in enumerate(channels[1:], start=1):
            stride = 1 if index == 1 else 2
            layer = nn.Sequential(
                BasicBlock(inplanes, planes, stride), BasicBlock(planes, planes, 1)
            )
            self.add_module(f"layer{index}", layer)
            inplanes = planes
        self.avgpool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for index in range(1, 5):
            x = getattr(self, f"layer{index}")(x)
        return self.avgpool(x).flatten(1)


class ResEncoder(nn.Module):
    """(B, 1, T, 88, 88) grey mouth crops -> (B, C, T) per-frame features."""

    def __init__(self, channels: tuple[int, int, int, int, int]) -> None:
        super().__init__()
        stem = channels[0]
        self.frontend3D = nn.Sequential(
            nn.Conv3d(1, stem, (5, 7, 7), (1, 2, 2), (2, 3, 3), bias=False),
            nn.BatchNorm3d(stem),
            nn.PReLU(stem),
            nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),
        )
        self.trunk = Trunk(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, frames = x.shape[0], x.shape[2]
        x = self.frontend3D(x)
        x = x.transpose(1, 2).reshape(batch * frames, x.shape[1], x.shape[3], x.shape[4])
        return self.trunk(x).view(batch, frames, -1).transpose(1, 2)


class VideoFrontEnd(nn.Module):
    def __init__(self, config: AVHubertConfig) -> None:
        super().__init__()
        self.resnet = ResEncoder(config.resnet)
        self.proj = nn.Linear(config.resnet[-1], config.dim)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self.proj(self.resnet(video).transpose(1, 2)).transpose(1, 2)


class AudioFrontEnd(nn.Module):
    def __init__(self, config: AVHubertConfig) -> None:
        super().__init__()
        self.proj = nn.Linear(config.audio_dim, config.dim)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.proj(audio.transpose(1, 2)).transpose(1, 2)


class WeightNormConv1d(nn.Module):
    """A grouped Conv1d with fairseq's ``weight_norm(dim=2)`` parameters (``weight_g``, ``_v``)."""

    def __init__(self, channels: int, kernel: int, groups: int) -> None:
        super().__init__()
        self.padding, self.groups = kernel // 2, groups
        self.bias = nn.Parameter(torch.zeros(channels))  # state-dict order: bias, g, v
        self.weight_g = nn.Parameter(torch.ones(1, 1, kernel))
        self.weight_v = nn.Parameter(torch.empty(channels, channels // groups, kernel))
        nn.init.normal_(self.weight_v, std=(4.0 / (kernel * channels)) ** 0.5)
        with torch.no_grad():
            self.weight_g.copy_(self.weight_v.norm(dim=(0, 1), keepdim=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.weight_g * self.weight_v / self.weight_v.norm(dim=(0, 1), keepdim=True)
        return F.conv1d(x, weight, self.bias, padding=self.padding, groups=self.groups)


class SelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.k_proj = nn.Linear(dim, dim)
        self.v_proj = nn.Linear(dim, dim)
        self.q_proj = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, frames, dim = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, frames, self.heads, dim // self.heads).transpose(1, 2)

        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        out = F.scaled_dot_product_attention(q, k, v)
        return self.out_proj(out.transpose(1, 2).reshape(batch, frames, dim))


class EncoderLayer(nn.Module):
    """Pre-LN transformer layer (``layer_norm_first=True``), exact GELU."""

    def __init__(self, config: AVHubertConfig) -> None:
        super().__init__()
        self.self_attn = SelfAttention(config.dim, config.heads)
        self.self_attn_layer_norm = nn.LayerNorm(config.dim)
        self.fc1 = nn.Linear(config.dim, config.ffn)
        self.fc2 = nn.Linear(config.ffn, config.dim)
        self.final_layer_norm = nn.LayerNorm(config.dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.self_attn_layer_norm(x))
        return x + self.fc2(F.gelu(self.fc1(self.final_layer_norm(x))))


class TransformerEncoder(nn.Module):
    def __init__(self, config: AVHubertConfig) -> None:
        super().__init__()
        self.pos_conv = nn.Sequential(
            WeightNormConv1d(config.dim, config.conv_pos, config.conv_pos_groups)
        )
        self.layers = nn.ModuleList(EncoderLayer(config) for _ in range(config.layers))
        self.layer_norm = nn.LayerNorm(config.dim)
        self.even_kernel = config.conv_pos % 2 == 0

    def forward(self, x: torch.Tensor, output_layer: int | None = None) -> torch.Tensor:
        conv = self.pos_conv(x.transpose(1, 2))
        if self.even_kernel:  # SamePad: drop the extra frame of an even kernel
            conv = conv[:, :, :-1]
        x = x + F.gelu(conv).transpose(1, 2)
        for number, layer in enumerate(self.layers, start=1):
            x = layer(x)
            if output_layer == number:
                return x  # the official code skips the final LayerNorm here
        return self.layer_norm(x)


class AVHubert(nn.Module):
    """AV-HuBERT's encoder: ``extract(video, audio)`` -> (B, T, dim) features."""

    def __init__(self, config: AVHubertConfig = BASE) -> None:
        super().__init__()
        self.config = config
        self.feature_extractor_audio = AudioFrontEnd(config)
        self.feature_extractor_video = VideoFrontEnd(config)
        self.post_extract_proj = nn.Linear(2 * config.dim, config.dim)
        self.encoder = TransformerEncoder(config)
        self.layer_norm = nn.LayerNorm(2 * config.dim)

    def extract(
        self,
        video: torch.Tensor | None = None,
        audio: torch.Tensor | None = None,
        output_layer: int | None = None,
    ) -> torch.Tensor:
        """Features of ``video`` (B, 1, T, 88, 88) and/or ``audio`` (B, 104, T); a None
        modality counts as zeros after its front end (both None is an error)."""
        if video is None and audio is None:
            raise ValueError("AV-HuBERT needs video, audio or both")
        video_features = None if video is None else self.feature_extractor_video(video)
        audio_features = None if audio is None else self.feature_extractor_audio(audio)
        if video_features is None:
            assert audio_features is not None
            video_features = torch.zeros_like(audio_features)
        if audio_features is None:
            audio_features = torch.zeros_like(video_features)
        frames = min(video_features.shape[-1], audio_features.shape[-1])
        fused = torch.cat([audio_features[..., :frames], video_features[..., :frames]], dim=1)
        x = self.post_extract_proj(self.layer_norm(fused.transpose(1, 2)))
        return self.encoder(x, output_layer)

    forward = extract
