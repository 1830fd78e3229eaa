"""The default blender: a feathered lower-face mask with colour matching."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import cv2
import numpy as np
from pydantic import Field

from lipdub.blenders import masks
from lipdub.blenders.box import clip_patch
from lipdub.components import Blender
from lipdub.hookspecs import hookimpl
from lipdub.types import Box, Face, Patch

#: Colour matching never scales a channel's contrast by more than this factor (or its inverse).
MAX_GAIN = 2.0
#: Fewest pixels the colour statistics are measured over; fewer and matching is skipped.
MIN_STAT_PIXELS = 64


def _weighted_stats(pixels: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted per-channel mean and standard deviation of ``(N, 3)`` ``pixels``."""
    total = float(weights.sum())
    mean = weights @ pixels / total
    variance = weights @ (pixels * pixels) / total - mean * mean
    return mean, np.sqrt(np.maximum(variance, 0.0))


def match_color(source: np.ndarray, target: np.ndarray, region: np.ndarray) -> np.ndarray:
    """``source`` (RGB uint8) with the Lab mean and spread of ``target`` over ``region``.

    Per Lab channel the source is shifted and scaled so that, over the pixels where the boolean
    ``region`` is set, its mean and standard deviation equal the target's; the scale is clamped
    to ``[1 / MAX_GAIN, MAX_GAIN]``. Returns float32 RGB in ``[0, 255]``; ``source`` unchanged
    (as float32) when the region has fewer than ``MIN_STAT_PIXELS`` pixels.
    """
    source_rgb = source.astype(np.float32)
    weights = region.reshape(-1).astype(np.float32)
    if float(weights.sum()) < MIN_STAT_PIXELS:
        return source_rgb
    source_lab = cv2.cvtColor(source_rgb * (1.0 / 255.0), cv2.COLOR_RGB2Lab)
    target_lab = cv2.cvtColor(target.astype(np.float32) * (1.0 / 255.0), cv2.COLOR_RGB2Lab)
    source_mean, source_std = _weighted_stats(source_lab.reshape(-1, 3), weights)
    target_mean, target_std = _weighted_stats(target_lab.reshape(-1, 3), weights)
    gain = np.clip(target_std / np.maximum(source_std, 1e-3), 1.0 / MAX_GAIN, MAX_GAIN)
    offset = target_mean - source_mean * gain
    matched_lab = source_lab * gain.astype(np.float32) + offset.astype(np.float32)
    matched = cv2.cvtColor(matched_lab, cv2.COLOR_Lab2RGB)
    return np.clip(matched * 255.0, 0.0, 255.0)


class MaskBlender(Blender):
    """Blends only the redrawn lower face into the frame, with soft edges and matched colour.

    The mask is also faded to 0 towards the patch box's border, so pixels on and outside the
    box are never changed and no box edge can show.
    """

    name: ClassVar[str] = "mask"
    description: ClassVar[str] = "Feathered lower-face mask with colour matching (default)."

    class Options(Blender.Options):
        feather: float = Field(
            0.08, ge=0.005, le=0.5, description="Soft mask edge, as a share of the face width."
        )
        color_match: bool = Field(
            True, description="Match the patch's colour to the frame's lower-face skin."
        )
        mask_dilate: float = Field(
            0.03,
            ge=0.0,
            le=0.5,
            description="How far the mask reaches past the jaw line (share of the face "
            "width), so a jaw that drops when the mouth opens stays covered.",
        )
        occluders: bool = Field(
            False,
            description="Keep strong non-skin objects crossing the lower face (a handset, a "
            "microphone, fingers) out of the mask (weight-free; may cut a beard).",
        )

    options: Options

    @property
    def feather(self) -> float:
        return self.options.feather

    @property
    def color_match(self) -> bool:
        return self.options.color_match

    @property
    def mask_dilate(self) -> float:
        return self.options.mask_dilate

    def mask(self, face: Face, box: Box) -> np.ndarray:
        """The blend weights (float32 ``[0, 1]``) over ``box`` for ``face``."""
        x1, y1, x2, y2 = box
        shape_hw = (y2 - y1, x2 - x1)
        regions = face.regions
        if regions is None or not regions.is_finite():
            width_px = float(face.box[2] - face.box[0])
            weights = masks.ellipse_mask(shape_hw, self.feather * width_px)
        else:
            width_px = masks.face_width(regions)
            weights = masks.lower_face_mask(
                regions,
                shape_hw,
                offset_xy=(x1, y1),
                feather_px=self.feather * width_px,
                dilate_px=self.mask_dilate * width_px,
            )
        return weights * masks.box_fade(shape_hw, self.feather * width_px)

    def _stat_region(self, face: Face, box: Box, weights: np.ndarray) -> np.ndarray:
        if face.regions is None or not face.regions.is_finite():
            return (weights > 0.02) & (weights < 0.98)
        x1, y1, x2, y2 = box
        skin = masks.lower_face_skin(face.regions, (y2 - y1, x2 - x1), offset_xy=(x1, y1))
        return skin & (weights > 0.02)

    def blend(
        self, frame: np.ndarray, patch: Patch, face: Face, limit: np.ndarray | None = None
    ) -> np.ndarray:
        """``frame`` with the lower face of ``patch`` blended in.

        Modifies ``frame`` in place (a read-only frame is copied first) and returns it; only
        pixels strictly inside ``patch.box`` can change. ``limit`` (float32 ``[0, 1]`` over
        the patch box clipped to the frame, from the maskers) caps the mask element-wise.
        """
        clipped = clip_patch(frame.shape[:2], patch)
        if clipped is None:
            return frame
        box, image = clipped
        if not frame.flags.writeable:
            frame = frame.copy()
        x1, y1, x2, y2 = box
        weights = self.mask(face, box)
        if self.options.occluders and face.regions is not None and face.regions.is_finite():
            source = frame[y1:y2, x1:x2]
            weights = np.minimum(weights, masks.occluder_mask(source, face.regions, (x1, y1)))
        if limit is not None:
            weights = np.minimum(weights, limit)
        rows = np.flatnonzero(weights.any(axis=1))
        cols = np.flatnonzero(weights.any(axis=0))
        if rows.size == 0:
            return frame
        # Work only on the rectangle the mask touches.
        top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        weights = weights[top:bottom, left:right]
        image = image[top:bottom, left:right]
        region = frame[y1 + top : y1 + bottom, x1 + left : x1 + right]
        if self.color_match and patch.match_color:
            sub_box = (x1 + left, y1 + top, x1 + right, y1 + bottom)
            stat_region = self._stat_region(face, sub_box, weights)
            new_pixels = match_color(image, region, stat_region)
        else:
            new_pixels = image.astype(np.float32)
        original = region.astype(np.float32)
        mixed = original + weights[..., None] * (new_pixels - original)
        region[...] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
        return frame


@hookimpl
def register_blenders(register: Callable[[type[Blender]], None]) -> None:
    """Register the mask blender."""
    register(MaskBlender)
