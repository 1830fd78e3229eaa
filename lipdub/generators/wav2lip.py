"""The ``wav2lip`` and ``wav2lip-gan`` generators: the public Wav2Lip networks, run batched.

Each face crop is resized to 96x96, turned to BGR (the public weights were trained on OpenCV
frames), paired with a copy whose lower half is zeroed, and redrawn from its 16-column mel
window. The result goes back to RGB and to the crop's size.

Options: ``batch_size`` (frames per network call; default 16), ``strength`` (lip movement,
blended toward the closed-mouth source below 1).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import cv2
import numpy as np
from pydantic import Field

from lipdub.components import Generator
from lipdub.errors import InputError
from lipdub.hookspecs import hookimpl
from lipdub.types import GeneratorInput, Patch

if TYPE_CHECKING:  # torch loads only when a generator runs, so the CLI starts fast
    import torch
    from torch import nn

log = logging.getLogger(__name__)

FACE_SIZE = 96


def crop_face(frame: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The ``(96, 96, 3)`` BGR uint8 network input for the ``box`` of an RGB ``frame``."""
    x1, y1, x2, y2 = box
    crop = frame[y1:y2, x1:x2]
    if crop.size == 0:
        raise InputError(f"face box {box} is empty in a {frame.shape[1]}x{frame.shape[0]} frame")
    resized = cv2.resize(np.ascontiguousarray(crop), (FACE_SIZE, FACE_SIZE))
    return resized[:, :, ::-1]


def face_input(faces_bgr: np.ndarray) -> np.ndarray:
    """``(B, 96, 96, 3)`` uint8 BGR faces -> ``(B, 6, 96, 96)`` float32: masked + reference."""
    reference = faces_bgr.astype(np.float32).transpose(0, 3, 1, 2) / 255.0
    masked = reference.copy()
    masked[:, :, FACE_SIZE // 2 :] = 0.0
    return np.ascontiguousarray(np.concatenate([masked, reference], axis=1))


def face_tensor(faces_bgr: np.ndarray) -> torch.Tensor:
    """:func:`face_input` as a torch tensor."""
    import torch

    return torch.from_numpy(face_input(faces_bgr))


def patches_from(output: np.ndarray, boxes: Sequence[tuple[int, int, int, int]]) -> list[Patch]:
    """Network output ``(B, 3, 96, 96)`` BGR in ``[0, 1]`` -> RGB patches at their boxes."""
    images = np.round(np.clip(output, 0.0, 1.0) * 255.0).astype(np.uint8)
    images = images.transpose(0, 2, 3, 1)[:, :, :, ::-1]
    patches = []
    for image, box in zip(images, boxes, strict=True):
        x1, y1, x2, y2 = box
        resized = cv2.resize(np.ascontiguousarray(image), (x2 - x1, y2 - y1))
        patches.append(Patch(image=resized.reshape(y2 - y1, x2 - x1, 3), box=box))
    return patches


def patch_images(output: torch.Tensor, boxes: Sequence[tuple[int, int, int, int]]) -> list[Patch]:
    """:func:`patches_from` of a torch output (any dtype or device)."""
    return patches_from(output.detach().float().cpu().numpy(), boxes)


class Wav2LipGenerator(Generator):
    """The public Wav2Lip generator (``wav2lip.pth``): most accurate lip sync."""

    name: ClassVar[str] = "wav2lip"
    description: ClassVar[str] = "Wav2Lip (96x96 mouth redraw from mel windows)"
    audio_extractor: ClassVar[str] = "mel"
    audio_window_seconds: ClassVar[float] = 0.2
    needs_weights: ClassVar[bool] = True
    default_weights: ClassVar[str | None] = "wav2lip"
    batch_size: ClassVar[int] = 16

    class Options(Generator.Options):
        strength: float = Field(
            1.0,
            ge=0.0,
            le=1.0,
            description="Lip movement: 1 as drawn, less blends toward the closed-mouth source.",
        )

    options: Options

    def __init__(
        self,
        checkpoint: Path | None = None,
        device: str = "auto",
        precision: str = "auto",
        options: Any = None,
        **values: Any,
    ) -> None:
        super().__init__(
            checkpoint=checkpoint, device=device, precision=precision, options=options, **values
        )
        self._model: nn.Module | None = None
        self._device: torch.device | None = None
        self._precision: str | None = None
        self._channels_last = False

    # -- overridable pieces -------------------------------------------------------------
    def checkpoint_path(self) -> Path:
        """The checkpoint to load: ``--checkpoint`` or the cached default weights."""
        from lipdub.weights.registry import resolve_weights

        return resolve_weights(self.default_weights, self.checkpoint)

    def build_model(self) -> nn.Module:
        """The network, on CPU, eval mode (called once, on first use)."""
        from lipdub.models.checkpoint import load_wav2lip

        return load_wav2lip(self.checkpoint_path())

    def audio_tensor(self, windows: np.ndarray) -> torch.Tensor:
        """Audio windows ``(B, 16, 80)`` (time, mel) -> the network's ``(B, 1, 80, 16)``."""
        import torch

        windows = np.asarray(windows, dtype=np.float32)
        if windows.ndim != 3 or windows.shape[1:] != (16, 80):
            raise InputError(
                f"{self.name} needs (16, 80) mel windows (audio extractor 'mel'), "
                f"got {windows.shape[1:]}"
            )
        return torch.from_numpy(np.ascontiguousarray(windows.transpose(0, 2, 1)))[:, None]

    # -- set-up ---------------------------------------------------------------------------
    def load(self) -> None:
        """Resolve and load the checkpoint now (a missing or wrong one fails fast)."""
        self.model  # noqa: B018 - loads lazily

    @property
    def model(self) -> nn.Module:
        """The loaded network, moved to its device and memory format (loaded lazily)."""
        if self._model is None:
            import torch

            from lipdub.devices import resolve_device, resolve_precision

            device = resolve_device(self.device)
            precision = resolve_precision(self.precision, device)
            model = self.build_model().eval()
            for parameter in model.parameters():
                parameter.requires_grad_(False)
            # channels_last is about 2x faster for these convolutions on CPU (oneDNN) and
            # with tensor cores on CUDA.
            self._channels_last = device.type in ("cpu", "cuda")
            memory_format = torch.channels_last if self._channels_last else torch.preserve_format
            self._model = model.to(device=device, memory_format=memory_format)
            self._device, self._precision = device, precision
            log.info("%s runs on %s in %s", self.name, device, precision)
        return self._model

    @property
    def resolved_precision(self) -> str:
        """The precision actually used (``fp32``, ``bf16`` or ``fp16``)."""
        self.model  # noqa: B018 - resolves device and precision
        assert self._precision is not None
        return self._precision

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        from lipdub.devices import autocast

        assert self._device is not None and self._precision is not None
        return autocast(self._device, self._precision)

    # -- inference ------------------------------------------------------------------------
    def generate(self, items: Sequence[GeneratorInput]) -> list[Patch]:
        """One patch per item: the redrawn face crop at its (final, padded) box."""
        patches: list[Patch] = []
        for chunk in _chunks(items, self.options.batch_size or self.batch_size):
            patches.extend(self._generate_batch(chunk))
        if self.options.strength < 1.0:
            from lipdub.pipeline.closure import blend_toward_closed

            amount = 1.0 - self.options.strength
            pairs = zip(items, patches, strict=True)
            patches = [blend_toward_closed(it.frame, it.face, patch, amount) for it, patch in pairs]
        return patches

    def _generate_batch(self, items: Sequence[GeneratorInput]) -> list[Patch]:
        import torch

        model = self.model
        assert self._device is not None
        boxes = [item.face.int_box(item.frame.shape[1], item.frame.shape[0]) for item in items]
        faces = np.stack(
            [crop_face(item.frame, box) for item, box in zip(items, boxes, strict=True)]
        )
        windows = np.stack([np.asarray(item.audio, dtype=np.float32) for item in items])
        face_input = self._to_device(face_tensor(faces))
        audio_input = self._to_device(self.audio_tensor(windows))
        with torch.inference_mode(), self._autocast():
            output = model(audio_input, face_input)
        return patch_images(output, boxes)

    def _to_device(self, tensor: torch.Tensor) -> torch.Tensor:
        import torch

        tensor = tensor.to(self._device, non_blocking=True)
        if self._channels_last and tensor.dim() == 4:
            tensor = tensor.contiguous(memory_format=torch.channels_last)
        return tensor

    def close(self) -> None:
        """Drop the network (and free accelerator memory)."""
        self._model = None
        if self._device is not None and self._device.type == "cuda":
            import torch

            torch.cuda.empty_cache()


class Wav2LipGANGenerator(Wav2LipGenerator):
    """The public Wav2Lip generator trained with the quality GAN (``wav2lip_gan.pth``)."""

    name: ClassVar[str] = "wav2lip-gan"
    description: ClassVar[str] = "Wav2Lip + visual-quality GAN (sharper mouths)"
    default_weights: ClassVar[str | None] = "wav2lip_gan"


def _chunks(items: Sequence[GeneratorInput], size: int) -> Iterator[Sequence[GeneratorInput]]:
    size = max(1, size)
    for start in range(0, len(items), size):
        yield items[start : start + size]


@hookimpl
def register_generators(register: Callable[[type[Generator]], None]) -> None:
    register(Wav2LipGenerator)
    register(Wav2LipGANGenerator)
