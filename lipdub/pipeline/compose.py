"""Putting a generated patch back into its frame: the one place the dub calls the blender.

Stages that act on a redrawn face after generation hook in here, so the frame loop in
:mod:`lipdub.pipeline.dub` stays one call per face:

1. the maskers (``--masker``) look at the source frame; their masks are combined by
   element-wise minimum into a *limit* (1: the dub may show, 0: the source must stay);
2. the blender blends the patch under that limit (the ``mask`` blender takes it as a cap on
   its own mask; any other blender's result is mixed with the source by it);
3. the restorer (``--enhancer``) restores the blended face; its pixels go in by its own
   weights, capped by the same limit, so an occluder stays exactly as in the source.
"""

from __future__ import annotations

import inspect
from functools import cache

import numpy as np

from lipdub.blenders.box import clip_patch
from lipdub.components import Blender, Masker
from lipdub.pipeline.components import Components
from lipdub.types import Box, Face, Patch

#: How far past the face oval the maskers' work area reaches (share of the face width).
WORK_MARGIN = 0.15


def compose(parts: Components, frame: np.ndarray, patch: Patch, face: Face) -> np.ndarray:
    """``frame`` with ``patch`` (redrawn for ``face``) blended in by the dub's blender, under
    the maskers' limit, then restored by the enhancer (when the dub has them)."""
    maskers = getattr(parts, "maskers", None) or []
    enhancer = getattr(parts, "enhancer", None)
    if not maskers and enhancer is None:
        return parts.blender.blend(frame, patch, face)
    clipped = clip_patch(frame.shape[:2], patch)
    if clipped is None:
        return frame
    patch_box = clipped[0]
    work = work_box(frame.shape[:2], patch_box, face)
    limit = combined_mask(maskers, frame, face, work)
    frame = _blend(parts.blender, frame, patch, face, patch_box, work, limit)
    if enhancer is None:
        return frame
    restored = enhancer.enhance(frame, face)
    if restored is None:
        return frame
    box = _intersect(restored.box, work)
    if box is None:
        return frame
    weights = _sub(restored.weights, restored.box, box)
    if limit is not None:
        weights = np.minimum(weights, _sub(limit, work, box))
    if not frame.flags.writeable:
        frame = frame.copy()
    _mix(frame, box, _sub(restored.image, restored.box, box), weights)
    return frame


def work_box(shape_hw: tuple[int, int], patch_box: Box, face: Face) -> Box:
    """The frame area the stages may change: the patch box and the face oval (grown)."""
    height, width = shape_hw
    x1, y1, x2, y2 = patch_box
    if face.regions is not None and face.regions.is_finite():
        grow = WORK_MARGIN * face.regions.face_width
        ox1, oy1, ox2, oy2 = face.regions.oval_box()
        x1, y1 = min(x1, int(ox1 - grow)), min(y1, int(oy1 - grow))
        x2, y2 = max(x2, int(ox2 + grow) + 1), max(y2, int(oy2 + grow) + 1)
    return max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)


def combined_mask(
    maskers: list[Masker], frame: np.ndarray, face: Face, box: Box
) -> np.ndarray | None:
    """The element-wise minimum of every masker's mask over ``box`` (None without maskers)."""
    combined: np.ndarray | None = None
    for masker in maskers:
        mask = np.clip(np.asarray(masker.mask(frame, face, box), np.float32), 0.0, 1.0)
        combined = mask if combined is None else np.minimum(combined, mask)
    return combined


@cache
def _takes_limit(blender_type: type) -> bool:
    return "limit" in inspect.signature(blender_type.blend).parameters


def _blend(
    blender: Blender,
    frame: np.ndarray,
    patch: Patch,
    face: Face,
    patch_box: Box,
    work: Box,
    limit: np.ndarray | None,
) -> np.ndarray:
    if limit is None:
        return blender.blend(frame, patch, face)
    cap = _sub(limit, work, patch_box)
    if _takes_limit(type(blender)):
        return blender.blend(frame, patch, face, limit=cap)  # type: ignore[call-arg]
    x1, y1, x2, y2 = patch_box
    source = frame[y1:y2, x1:x2].copy()
    frame = blender.blend(frame, patch, face)
    if not frame.flags.writeable:
        frame = frame.copy()
    blended = frame[y1:y2, x1:x2].astype(np.float32)
    mixed = source + cap[..., None] * (blended - source)
    frame[y1:y2, x1:x2] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
    return frame


def _intersect(a: Box, b: Box) -> Box | None:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    return (x1, y1, x2, y2) if x2 > x1 and y2 > y1 else None


def _sub(array: np.ndarray, outer: Box, inner: Box) -> np.ndarray:
    """The part of ``array`` (laid over ``outer``) under ``inner`` (inside ``outer``)."""
    dx, dy = inner[0] - outer[0], inner[1] - outer[1]
    return array[dy : dy + inner[3] - inner[1], dx : dx + inner[2] - inner[0]]


def _mix(frame: np.ndarray, box: Box, image: np.ndarray, weights: np.ndarray) -> None:
    x1, y1, x2, y2 = box
    region = frame[y1:y2, x1:x2]
    original = region.astype(np.float32)
    mixed = original + weights[..., None] * (image.astype(np.float32) - original)
    changed = weights > 0
    region[changed] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)[changed]
