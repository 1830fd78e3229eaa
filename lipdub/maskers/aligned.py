"""The shared part of the ONNX maskers: align the face to the FFHQ template at the model's
size, run the model, map its mask back to the frame and soften its edge there.

The edge is softened FaceFusion's way, in frame pixels: a Gaussian blur, then values at or
below 0.5 become 0 and the rest ramp to 1, so a region the model marks as occluded stays
exactly 0 (those pixels keep the source) and only the visible side is feathered.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np
from pydantic import Field

from lipdub.components import Masker
from lipdub.enhancers import align
from lipdub.onnx.session import OnnxModel, open_model
from lipdub.types import Box, Face

#: Blur of the soft threshold, in pixels of a 512 px aligned crop (FaceFusion: 5).
SOFT_SIGMA_512 = 5.0


def soft_threshold(mask: np.ndarray, sigma: float) -> np.ndarray:
    """Blur by ``sigma`` px, then ``(clip(x, 0.5, 1) - 0.5) * 2`` (float32)."""
    if sigma > 0.3:
        mask = cv2.GaussianBlur(mask, (0, 0), sigma)
    return ((np.clip(mask, 0.5, 1.0) - 0.5) * 2.0).astype(np.float32)


class AlignedOnnxMasker(Masker):
    """A segmentation model run on the FFHQ-aligned face."""

    #: Input size used when the file's is dynamic.
    default_size: ClassVar[int] = 256
    #: Registry name of the default model.
    default_model: ClassVar[str] = ""

    class Options(Masker.Options):
        model: str | None = Field(
            None, description="A model name from `lipdub models list` or a path to an .onnx."
        )

    options: Options

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._model: OnnxModel | None = None
        self.size = self.default_size

    def model_path(self) -> Path:
        from lipdub.weights.registry import resolve_weights

        chosen = self.options.model
        if chosen and (chosen.endswith(".onnx") or Path(chosen).expanduser().is_file()):
            return resolve_weights(None, chosen)
        return resolve_weights(chosen or self.default_model)

    def load(self) -> None:
        self.model  # noqa: B018

    @property
    def model(self) -> OnnxModel:
        if self._model is None:
            model = open_model(self.model_path(), self.device)
            self.size = self.check_model(model)
            self._model = model
        return self._model

    def check_model(self, model: OnnxModel) -> int:
        """Check the inputs and return the crop size (subclasses)."""
        raise NotImplementedError

    def crop_mask(self, crop_bgr: np.ndarray) -> np.ndarray:
        """The model's mask over the aligned crop, float32 ``[0, 1]`` (subclasses)."""
        raise NotImplementedError

    def mask(self, frame: np.ndarray, face: Face, box: Box) -> np.ndarray:
        x1, y1, x2, y2 = box
        regions = face.regions
        if regions is None or not regions.is_finite():
            return np.ones((y2 - y1, x2 - x1), np.float32)
        model = self.model  # noqa: F841 - sets size
        try:
            matrix = align.alignment(regions.five_points(), align.FFHQ_512, self.size)
        except ValueError:
            return np.ones((y2 - y1, x2 - x1), np.float32)
        crop = align.warp_to_crop(frame, matrix, self.size)[:, :, ::-1]
        inside = self.crop_mask(np.ascontiguousarray(crop))
        # Outside the crop the model saw nothing: no restriction there (1).
        back = align.crop_to_box(1.0 - inside, matrix, box)
        frame_px_per_crop_px = 1.0 / float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
        sigma = SOFT_SIGMA_512 * (self.size / 512.0) * frame_px_per_crop_px
        # Resampling into the crop and back smears an occluder's edge by about a crop pixel
        # plus a frame pixel: grow the occluded side by that, so its edge stays the source's.
        radius = 1 + int(np.ceil(frame_px_per_crop_px))
        kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
        visible = cv2.erode(np.ascontiguousarray(1.0 - back), kernel)
        return soft_threshold(visible, sigma)

    def close(self) -> None:
        self._model = None
