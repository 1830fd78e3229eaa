"""Make the tiny ONNX test models in tests/fixtures/onnx (run from the repository root).

Each follows a real model's conventions (input/output names, layout, value range) with a
trivial, known function, so tests can predict what the pipeline does with it:

* ``restorer_identity.onnx``: GFPGAN-style ``input`` (1,3,512,512) in [-1,1] -> ``output``,
  unchanged.
* ``restorer_brighten.onnx``: the same, +0.4 (brighter), clamped to [-1,1].
* ``restorer_codeformer.onnx``: CodeFormer-style ``x`` + ``w`` (float64 (1,)) -> ``y``:
  x + 0.4 (1 - w).
* ``restorer_sharpen.onnx``: GPEN-256-style, 3x3 unsharp masking (amplifies jitter).
* ``restorer_multi_output.onnx``: RestoreFormer++-style, an auxiliary output first, then
  the image.
* ``xseg_key.onnx``: XSeg-style NHWC BGR x/255 (1,256,256,3) -> (1,256,256,1), 0 on magenta.
* ``bisenet_key.onnx``: BiSeNet-style (1,3,512,512) ImageNet-normalised RGB -> (1,19,512,512)
  logits: skin (1) everywhere, background (0) on magenta.
* ``wav2lip_tiny.onnx``: wav2lip-onnx-style ``mel_spectrogram`` (B,1,80,16) + ``video_frames``
  (B,6,96,96) -> ``predicted_frames`` (B,3,96,96) in [0,1], a few seeded convolutions.

Needs only torch (lipdub's environment: :func:`lipdub.onnx.export.export_onnx` works without
the ``onnx`` package). Usage: ``.venv/bin/python scripts/make_onnx_fixtures.py``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from lipdub.onnx.export import export_onnx

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "onnx"
#: The key colour the occlusion and parsing fixtures mark (RGB, magenta).
KEY_RGB = (255, 0, 255)


class Shift(nn.Module):
    def __init__(self, amount: float) -> None:
        super().__init__()
        self.amount = amount

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.clamp(image + self.amount, -1.0, 1.0)


class Fidelity(nn.Module):
    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x + 0.4 * (1.0 - w.float()).reshape(1, 1, 1, 1), -1.0, 1.0)


class Sharpen(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        # Unsharp masking, x + 0.8 (x - box3(x)): a restorer's kind of added detail.
        kernel = -torch.ones(3, 3) * (0.8 / 9.0)
        kernel[1, 1] = 1.0 + 0.8 - 0.8 / 9.0
        self.conv = nn.Conv2d(3, 3, 3, padding=1, groups=3, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(kernel.expand(3, 1, 3, 3))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.clamp(self.conv(image), -1.0, 1.0)


class MultiOutput(nn.Module):
    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return image.mean(dim=(2, 3)), torch.clamp(image + 0.4, -1.0, 1.0)


def _key_distance(rgb01: torch.Tensor) -> torch.Tensor:
    """Squared distance of each pixel (NCHW RGB in [0, 1]) to the key colour."""
    key = torch.tensor(KEY_RGB, dtype=torch.float32).reshape(1, 3, 1, 1) / 255.0
    return ((rgb01 - key) ** 2).sum(dim=1, keepdim=True)


class KeyOccluder(nn.Module):
    def forward(self, bgr_nhwc: torch.Tensor) -> torch.Tensor:
        rgb = bgr_nhwc.permute(0, 3, 1, 2).flip(1)
        visible = torch.clamp((_key_distance(rgb) - 0.05) * 20.0, 0.0, 1.0)
        return visible.permute(0, 2, 3, 1)


class KeyParser(nn.Module):
    def forward(self, normalised: torch.Tensor) -> torch.Tensor:
        mean = torch.tensor([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1)
        keyed = (_key_distance(normalised * std + mean) < 0.05).float()
        zero = keyed * 0.0
        return torch.cat([2.0 * keyed, zero + 1.0, zero.expand(-1, 17, -1, -1)], dim=1)


class TinyWav2Lip(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.audio = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(),
                                   nn.AdaptiveAvgPool2d(1))  # fmt: skip
        self.face = nn.Conv2d(6, 4, 3, padding=1)
        self.head = nn.Conv2d(4, 3, 1)

    def forward(self, mel: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
        features = torch.relu(self.face(faces) + self.audio(mel))
        return torch.sigmoid(self.head(features) + 2.0 * (faces[:, 3:] - 0.5))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    image = torch.zeros(1, 3, 512, 512)
    batch = {0: "batch"}
    jobs = [
        ("restorer_identity", nn.Identity(), (image,), ["input"], ["output"], None),
        ("restorer_brighten", Shift(0.4), (image,), ["input"], ["output"], None),
        ("restorer_codeformer", Fidelity(), (image, torch.ones(1, dtype=torch.float64)),
         ["x", "w"], ["y"], None),
        ("restorer_sharpen", Sharpen(), (torch.zeros(1, 3, 256, 256),), ["input"], ["output"],
         None),
        ("restorer_multi_output", MultiOutput(), (image,), ["input"], ["aux", "image"], None),
        ("xseg_key", KeyOccluder(), (torch.zeros(1, 256, 256, 3),), ["input"], ["output"], None),
        ("bisenet_key", KeyParser(), (image,), ["input"], ["output"], None),
        ("wav2lip_tiny", TinyWav2Lip(), (torch.zeros(2, 1, 80, 16), torch.zeros(2, 6, 96, 96)),
         ["mel_spectrogram", "video_frames"], ["predicted_frames"],
         {"mel_spectrogram": batch, "video_frames": batch, "predicted_frames": batch}),
    ]  # fmt: skip
    for name, module, inputs, input_names, output_names, dynamic in jobs:
        if isinstance(module, nn.Identity):
            module = Shift(0.0)
        path = OUT / f"{name}.onnx"
        data = export_onnx(module, inputs, path, input_names=input_names,
                           output_names=output_names, dynamic_axes=dynamic)  # fmt: skip
        print(f"{path.relative_to(OUT.parents[2])}: {len(data)} bytes")


if __name__ == "__main__":
    main()
