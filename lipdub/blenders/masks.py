"""Soft masks over the lower face, shared by the blenders and the generators.

Every mask is a float32 array in ``[0, 1]`` of a given ``(height, width)``; faces are given
by their :class:`~lipdub.faces.regions.FaceRegions` in frame pixels (any tracker), and
``offset_xy`` is the frame position of the mask's top-left pixel (so a mask can cover just a
crop of the frame).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from lipdub.faces.regions import FaceRegions

#: Sub-pixel precision used when rasterising polygons (``cv2.fillPoly`` ``shift``).
_SHIFT = 4


def smoothstep(values: np.ndarray) -> np.ndarray:
    """``3t^2 - 2t^3`` of ``values`` clipped to ``[0, 1]``: a ramp with flat ends (float32)."""
    t = np.clip(values, 0.0, 1.0).astype(np.float32, copy=False)
    return t * t * (3.0 - 2.0 * t)


def face_width(regions: FaceRegions) -> float:
    """Width of the face in pixels: the distance between the two cheeks (jaw ends)."""
    return regions.face_width


def signed_distance(inside: np.ndarray) -> np.ndarray:
    """Distance in pixels to the edge of the boolean region ``inside``; positive inside.

    The edge lies half-way between an inside and an outside pixel. Pixels beyond the array
    border count as neither (pad the array first if the region reaches the border).
    """
    binary = inside.astype(np.uint8)
    dist_in = cv2.distanceTransform(binary, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    dist_out = cv2.distanceTransform(1 - binary, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return np.where(inside, dist_in - 0.5, 0.5 - dist_out).astype(np.float32)


def feather(mask: np.ndarray, px: float) -> np.ndarray:
    """Soften the edge of ``mask`` (thresholded at 0.5) into a smooth ramp ``px`` pixels wide.

    The ramp is centred on the edge: it starts ``px / 2`` outside and reaches 1 ``px / 2``
    inside. The region is taken to continue beyond the array border.
    """
    inside = np.asarray(mask) > 0.5
    if px <= 0:
        return inside.astype(np.float32)
    pad = int(math.ceil(px)) + 1
    padded = cv2.copyMakeBorder(inside.astype(np.uint8), pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    distance = signed_distance(padded > 0)[pad:-pad, pad:-pad]
    return smoothstep(distance / px + 0.5)


def box_fade(shape_hw: tuple[int, int], px: float) -> np.ndarray:
    """A mask that is 0 on the outermost rows/columns and rises smoothly to 1 ``px`` inside.

    ``px`` is capped at a quarter of the smaller side so a small box keeps a solid middle.
    """
    height, width = shape_hw
    px = max(1.0, min(float(px), 0.25 * min(height, width)))
    ramp_y = smoothstep(np.minimum(np.arange(height), np.arange(height)[::-1]) / px)
    ramp_x = smoothstep(np.minimum(np.arange(width), np.arange(width)[::-1]) / px)
    return np.outer(ramp_y, ramp_x).astype(np.float32)


def ellipse_mask(shape_hw: tuple[int, int], feather_px: float) -> np.ndarray:
    """A feathered ellipse over the lower half of a face box of ``shape_hw`` (no regions)."""
    height, width = shape_hw
    inside = np.zeros((height, width), np.uint8)
    center = (int(round(0.5 * width * 16)), int(round(0.7 * height * 16)))
    axes = (int(round(0.36 * width * 16)), int(round(0.24 * height * 16)))
    cv2.ellipse(inside, center, axes, 0.0, 0.0, 360.0, 1, -1, cv2.LINE_8, _SHIFT)
    return feather(inside, feather_px)


def _fill(points: np.ndarray, shape_hw: tuple[int, int]) -> np.ndarray:
    """Boolean raster of the polygon ``points`` (pixel coordinates, sub-pixel accurate)."""
    canvas = np.zeros(shape_hw, np.uint8)
    fixed = np.round(points * (1 << _SHIFT)).astype(np.int32)
    cv2.fillPoly(canvas, [fixed], 1, cv2.LINE_8, _SHIFT)
    return canvas > 0


def _down_axis(regions: FaceRegions) -> np.ndarray:
    """Unit vector pointing from the forehead to the chin (follows head roll)."""
    axis = regions.chin - regions.forehead
    norm = float(np.linalg.norm(axis))
    return axis / norm if norm > 1e-6 else np.array([0.0, 1.0], np.float32)


def below_nose_ramp(
    regions: FaceRegions,
    shape_hw: tuple[int, int],
    offset_xy: tuple[float, float] = (0, 0),
    side_feather_px: float | None = None,
) -> np.ndarray:
    """0 at and above the bottom of the nose, rising smoothly to 1 at the top of the upper lip.

    "Above" is measured along the face's own forehead-to-chin axis, so it follows head roll.
    Beside the mouth, out on the cheeks, the ramp widens to ``side_feather_px`` (default 8%
    of the face width) so the top edge is as soft there as the rest of the mask.
    """
    height, width = shape_hw
    width_px = face_width(regions)
    if side_feather_px is None:
        side_feather_px = 0.08 * width_px
    down = _down_axis(regions).astype(np.float32)
    across = np.array([down[1], -down[0]], np.float32)
    origin = regions.nose_base.astype(np.float32)
    nose_points = np.concatenate([regions.nose_base[None], regions.nose_alae])
    start = float(np.max((nose_points - origin) @ down))
    # A squashed gap (head pitched down) still gets a ramp of a few pixels.
    lip_depth = float((regions.upper_lip_outer - origin) @ down)
    gap = max(lip_depth - start, 2.0, 0.02 * width_px)
    corners = regions.mouth_corners
    mouth_half_width = float(np.max(np.abs((corners - origin) @ across)))
    xs = np.arange(width, dtype=np.float32) + (offset_xy[0] - origin[0])
    ys = np.arange(height, dtype=np.float32) + (offset_xy[1] - origin[1])
    depth = ys[:, None] * down[1] + xs[None, :] * down[0]
    lateral = np.abs(ys[:, None] * across[1] + xs[None, :] * across[0])
    widen = smoothstep((lateral - mouth_half_width) / max(0.1 * width_px, 1.0))
    ramp_width = gap + widen * max(float(side_feather_px) - gap, 0.0)
    return smoothstep((depth - start) / ramp_width)


def lower_face_mask(
    regions: FaceRegions,
    shape_hw: tuple[int, int],
    offset_xy: tuple[float, float] = (0, 0),
    feather_px: float | None = None,
    dilate_px: float = 0.0,
) -> np.ndarray:
    """Soft mask of the part of the face a lip-sync generator redraws.

    The region is the face oval (grown by ``dilate_px``, so a dropping jaw stays covered)
    below the nose: its top edge runs between the nose and the upper lip out to the cheeks,
    its sides and bottom follow the jaw to the chin. The oval's edge is feathered over
    ``feather_px`` pixels (default: 8% of the face width) centred on the grown edge; the top
    edge ramps from 0 at the bottom of the nose to 1 at the top of the upper lip.

    Args:
        regions: the face's regions in frame pixels.
        shape_hw: ``(height, width)`` of the mask.
        offset_xy: frame position of the mask's top-left pixel.
        feather_px: width of the soft edge in pixels.
        dilate_px: how far to grow the face oval outwards, in pixels.
    """
    if feather_px is None:
        feather_px = 0.08 * face_width(regions)
    feather_px = max(float(feather_px), 1.0)
    dilate_px = max(float(dilate_px), 0.0)
    height, width = shape_hw
    pad = int(math.ceil(dilate_px + feather_px)) + 2
    oval = regions.oval - np.array(offset_xy, np.float32) + pad
    inside = _fill(oval, (height + 2 * pad, width + 2 * pad))
    distance = signed_distance(inside)[pad : pad + height, pad : pad + width]
    oval_mask = smoothstep((distance + dilate_px) / feather_px + 0.5)
    return oval_mask * below_nose_ramp(regions, shape_hw, offset_xy, feather_px)


def lower_face_skin(
    regions: FaceRegions,
    shape_hw: tuple[int, int],
    offset_xy: tuple[float, float] = (0, 0),
    lip_margin_px: float | None = None,
) -> np.ndarray:
    """Boolean mask of the skin of the lower face: inside the face oval, below the nose,
    outside the lips (grown by ``lip_margin_px``, default 4% of the face width).

    This is where a redrawn mouth and the original frame should share colour statistics.
    """
    if lip_margin_px is None:
        lip_margin_px = 0.04 * face_width(regions)
    shift = np.array(offset_xy, np.float32)
    oval = _fill(regions.oval - shift, shape_hw)
    lip_points = regions.lips_outer
    outward = lip_points - lip_points.mean(axis=0)
    outward /= np.maximum(np.linalg.norm(outward, axis=1, keepdims=True), 1e-6)
    lips = _fill(lip_points + lip_margin_px * outward - shift, shape_hw)
    return oval & ~lips & (below_nose_ramp(regions, shape_hw, offset_xy) > 0)


def face_mask(
    regions: FaceRegions,
    shape_hw: tuple[int, int],
    offset_xy: tuple[float, float] = (0, 0),
    feather_px: float | None = None,
) -> np.ndarray:
    """Soft mask of the whole face oval, its edge feathered over ``feather_px`` pixels
    (default 8% of the face width) inside the oval."""
    if feather_px is None:
        feather_px = 0.08 * face_width(regions)
    feather_px = max(float(feather_px), 1.0)
    height, width = shape_hw
    pad = int(math.ceil(feather_px)) + 2
    oval = regions.oval - np.array(offset_xy, np.float32) + pad
    inside = _fill(oval, (height + 2 * pad, width + 2 * pad))
    distance = signed_distance(inside)[pad : pad + height, pad : pad + width]
    return smoothstep(distance / feather_px)


def mouth_mask(
    regions: FaceRegions,
    shape_hw: tuple[int, int],
    offset_xy: tuple[float, float] = (0, 0),
    margin_px: float | None = None,
) -> np.ndarray:
    """Soft mask of the mouth: the outer lip loop grown by ``margin_px`` (default 10% of the
    face width), fading to 0 over that margin."""
    if margin_px is None:
        margin_px = 0.1 * face_width(regions)
    margin_px = max(float(margin_px), 1.0)
    inside = _fill(regions.lips_outer - np.array(offset_xy, np.float32), shape_hw)
    return smoothstep(signed_distance(inside) / margin_px + 1.0)


def _depth(regions: FaceRegions, shape_hw: tuple[int, int], offset_xy) -> np.ndarray:
    """Each pixel's position along the face's forehead-to-chin axis (pixels from the nose
    base; negative above it)."""
    height, width = shape_hw
    down = _down_axis(regions).astype(np.float32)
    origin = regions.nose_base.astype(np.float32)
    xs = np.arange(width, dtype=np.float32) + (offset_xy[0] - origin[0])
    ys = np.arange(height, dtype=np.float32) + (offset_xy[1] - origin[1])
    return ys[:, None] * down[1] + xs[None, :] * down[0]


def colour_distance(lab: np.ndarray, sample: np.ndarray) -> np.ndarray:
    """How far each pixel of the Lab image is from the pixels under ``sample`` (bool), in
    robust spreads (median and MAD per channel, floored so flat areas are not too strict)."""
    pixels = lab[sample]
    if len(pixels) < 8:
        return np.zeros(lab.shape[:2], np.float32)
    median = np.median(pixels, axis=0)
    spread = 1.4826 * np.median(np.abs(pixels - median), axis=0)
    spread = np.maximum(spread, np.array([4.0, 2.5, 2.5], np.float32))
    return np.sqrt((((lab - median) / spread) ** 2).sum(axis=2)).astype(np.float32)


def skin_distance(image: np.ndarray, regions: FaceRegions, offset_xy=(0, 0)) -> np.ndarray:
    """How far each pixel of ``image`` (RGB uint8) is from the face's own skin colour
    (sampled on the cheeks between the eyes and the nose base: the part of the face a hand
    or a microphone in front of the mouth rarely covers), in robust spreads."""
    shape = image.shape[:2]
    lab = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    return colour_distance(lab, _cheeks(regions, shape, offset_xy))


def _cheeks(regions: FaceRegions, shape: tuple[int, int], offset_xy) -> np.ndarray:
    depth = _depth(regions, shape, offset_xy)
    eye_depth = float(np.min(_depth_of(regions, regions.eyes)))
    oval = _fill(regions.oval - np.array(offset_xy, np.float32), shape)
    sample = oval & (depth > 0.6 * eye_depth) & (depth < 0.0)
    return sample if int(sample.sum()) >= 32 else oval


def _depth_of(regions: FaceRegions, points: np.ndarray) -> np.ndarray:
    down = _down_axis(regions)
    return (np.asarray(points) - regions.nose_base) @ down


def occluder_mask(
    image: np.ndarray,
    regions: FaceRegions,
    offset_xy: tuple[float, float] = (0, 0),
    threshold: float = 8.0,
    min_share: float = 0.03,
) -> np.ndarray:
    """Weight-free occlusion mask over ``image`` (a frame crop at ``offset_xy``): 0 on strong
    non-skin objects that cross the lower face from outside it (a dark handset, a
    microphone, fingers), 1 elsewhere, with a 2 px soft edge.

    An object is a connected region of pixels more than ``threshold`` robust spreads from
    the skin colour (and, on the lips, from the lips' colour) that reaches the face's edge
    (or the crop's border) and covers at least ``min_share`` of the lower face inside the
    face oval; only its part on or near the face is kept out. The lips and an open mouth,
    enclosed by skin, are never objects unless an object touches them. A beard that reaches
    the jaw line looks like an object to this rule: use the ``occlusion`` or ``parsing``
    masker for bearded faces.
    """
    shape = image.shape[:2]
    shift = np.array(offset_xy, np.float32)
    lab = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    not_skin = colour_distance(lab, _cheeks(regions, shape, offset_xy)) > threshold
    lips = _fill(regions.lips_outer - shift, shape)
    lip_ring = lips & ~_fill(regions.lips_inner - shift, shape)
    like_lips = colour_distance(lab, lip_ring) <= threshold
    strong = not_skin & ~(lips & like_lips)
    count, labels = cv2.connectedComponents(strong.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.ones(shape, np.float32)
    oval = _fill(regions.oval - shift, shape)
    lower = oval & (below_nose_ramp(regions, shape, offset_xy) > 0.05)
    outside = ~oval
    outside[[0, -1], :] = True
    outside[:, [0, -1]] = True
    touches = np.zeros(count, bool)
    touches[np.unique(labels[outside & strong])] = True
    in_lower = np.bincount(labels[lower & strong], minlength=count)
    objects = touches & (in_lower >= max(min_share * float(lower.sum()), 4.0))
    objects[0] = False
    # Kept out wherever a blender's (grown, feathered) lower-face mask can reach.
    reach = signed_distance(oval) > -0.1 * face_width(regions)
    occluded = objects[labels] & reach
    if not occluded.any():
        return np.ones(shape, np.float32)
    grown = cv2.dilate(occluded.astype(np.uint8), np.ones((3, 3), np.uint8))
    soft = cv2.GaussianBlur(grown.astype(np.float32), (5, 5), 1.0)
    return (1.0 - np.maximum(soft, occluded)).astype(np.float32)
