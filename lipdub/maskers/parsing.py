"""``--masker parsing``: BiSeNet face parsing (CelebAMask-HQ's 19 classes) as ONNX.

Input: the aligned face, RGB, ImageNet mean/std, NCHW ``(1, 3, 512, 512)``; output 0:
``(1, 19, S, S)`` logits. Only the kept classes (default skin, inner mouth, upper and lower
lip) may be redrawn; hair, glasses, a hand (background) and the rest keep the source.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np
from pydantic import Field

from lipdub.components import Masker
from lipdub.errors import CheckpointError
from lipdub.hookspecs import hookimpl
from lipdub.maskers.aligned import AlignedOnnxMasker
from lipdub.onnx.session import InputSpec, OnnxModel

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
#: CelebAMask-HQ class ids: 1 skin, 11 inner mouth, 12 upper lip, 13 lower lip.
LOWER_FACE_CLASSES = (1, 11, 12, 13)
CLASSES = 19


class ParsingMasker(AlignedOnnxMasker):
    """Redraws only the face-parsing classes of the lower face."""

    name: ClassVar[str] = "parsing"
    description: ClassVar[str] = "BiSeNet face parsing ONNX: keep skin, lips and mouth only"
    default_model: ClassVar[str] = "bisenet-resnet-34"
    default_size: ClassVar[int] = 512

    class Options(AlignedOnnxMasker.Options):
        classes: tuple[int, ...] = Field(
            LOWER_FACE_CLASSES, description="Class ids that may be redrawn (1 skin, 11-13 mouth)."
        )

    options: Options

    def check_model(self, model: OnnxModel) -> int:
        spec = InputSpec("image (1, 3, 512, 512)", rank=4, channels=3)
        found = model.match([spec], "BiSeNet face-parsing")[spec.role]
        self._input = found.name
        side = found.shape[-1]
        return side if isinstance(side, int) and side > 0 else self.default_size

    def crop_mask(self, crop_bgr: np.ndarray) -> np.ndarray:
        rgb = crop_bgr[:, :, ::-1].astype(np.float32) / 255.0
        tensor = ((rgb - MEAN) / STD).transpose(2, 0, 1)[None]
        logits = np.asarray(self.model.run({self._input: np.ascontiguousarray(tensor)})[0])
        if logits.ndim != 4 or logits.shape[1] != CLASSES:
            raise CheckpointError(
                f"{self.model.path.name}: expected (1, {CLASSES}, S, S) class logits, "
                f"got {tuple(logits.shape)}"
            )
        keep = _wins(logits[0], set(self.options.classes)).astype(np.float32)
        if keep.shape != (self.size, self.size):
            import cv2

            keep = cv2.resize(keep, (self.size, self.size), interpolation=cv2.INTER_NEAREST)
        return keep


def _wins(logits: np.ndarray, kept: set[int]) -> np.ndarray:
    """Where the arg-max class of ``(C, H, W)`` logits is in ``kept`` (plane by plane: much
    faster than ``argmax`` over the strided class axis; a tie counts as not kept)."""
    best_kept = best_other = None
    for index, plane in enumerate(logits):
        if index in kept:
            best_kept = plane if best_kept is None else np.maximum(best_kept, plane)
        else:
            best_other = plane if best_other is None else np.maximum(best_other, plane)
    if best_kept is None:
        return np.zeros(logits.shape[1:], bool)
    if best_other is None:
        return np.ones(logits.shape[1:], bool)
    return best_kept > best_other


@hookimpl
def register_maskers(register: Callable[[type[Masker]], None]) -> None:
    register(ParsingMasker)
