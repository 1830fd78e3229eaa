"""The inside of an open mouth: a real interior from the shot where there is one, else a
painted dark, slightly red cavity with a hint of teeth.

With a :class:`~lipdub.generators.warp.mouth_bank.MouthBank`, the real mouth of the shot that
best matches the target's opening and width is placed over the cavity (see
:mod:`~lipdub.generators.warp.mouth_bank`). Painted colours come from the face itself (the lips
for the cavity, the brightest skin for the teeth level), so the painted mouth follows the
shot's lighting. Edges are anti-aliased.
"""

from __future__ import annotations

import cv2
import numpy as np

from lipdub.generators.warp.mouth_bank import MouthBank, mouth_anchor, place, shape_of
from lipdub.generators.warp.shape import SPOKES, MouthMesh

#: Supersampling factor for the cavity's edge coverage.
_SUPERSAMPLE = 4
#: Cavity colour relative to the lip colour, at the lips and deep inside.
_CAVITY_EDGE = np.array([0.55, 0.32, 0.30], np.float32)
_CAVITY_DEEP = np.array([0.20, 0.09, 0.08], np.float32)
#: Teeth tint relative to neutral grey.
_TEETH_TINT = np.array([1.0, 0.96, 0.88], np.float32)


def _smoothstep(values: np.ndarray) -> np.ndarray:
    t = np.clip(values, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _coverage(polygon: np.ndarray, shape_hw: tuple[int, int]) -> np.ndarray:
    """Fraction (float32) of each pixel inside ``polygon`` (pixel-centre coordinates)."""
    height, width = shape_hw
    big = np.zeros((height * _SUPERSAMPLE, width * _SUPERSAMPLE), np.uint8)
    scaled = (polygon + 0.5) * _SUPERSAMPLE - 0.5
    cv2.fillPoly(big, [np.round(scaled * 16).astype(np.int32)], 255, cv2.LINE_8, 4)
    small = cv2.resize(big, (width, height), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32) / 255.0


def _distance_to(polyline: np.ndarray, shape_hw: tuple[int, int]) -> np.ndarray:
    """Distance in pixels of every pixel to ``polyline``."""
    canvas = np.full(shape_hw, 255, np.uint8)
    cv2.polylines(canvas, [np.round(polyline * 16).astype(np.int32)], False, 0, 1, cv2.LINE_8, 4)
    return cv2.distanceTransform(canvas, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def _luma(pixels: np.ndarray) -> np.ndarray:
    return pixels @ np.array([0.299, 0.587, 0.114], np.float32)


def lip_colour(crop: np.ndarray, mesh: MouthMesh, offset: np.ndarray) -> np.ndarray:
    """Mean RGB (float32 0-255) of the lips (between the inner and outer lip loops)."""
    canvas = np.zeros(crop.shape[:2], np.uint8)
    outer = np.round((mesh.ring(1) - offset) * 16).astype(np.int32)
    inner = np.round((mesh.ring(0) - offset) * 16).astype(np.int32)
    cv2.fillPoly(canvas, [outer], 1, cv2.LINE_8, 4)
    cv2.fillPoly(canvas, [inner], 0, cv2.LINE_8, 4)
    pixels = crop[canvas > 0]
    if len(pixels) < 4:
        return np.array([150.0, 80.0, 80.0], np.float32)
    return pixels.reshape(-1, 3).astype(np.float32).mean(axis=0)


def _tooth_pattern(signed_across: np.ndarray) -> np.ndarray:
    """Brightness factor with soft dark gaps between teeth (the incisors are widest)."""
    # Tooth edges at these fractions of the half mouth width: incisors, laterals, canines...
    edges = np.array([0.0, 0.3, 0.52, 0.7], np.float32)
    distance = np.min(np.abs(np.abs(signed_across)[..., None] - edges), axis=-1)
    return 1.0 - 0.1 * np.exp(-((distance / 0.03) ** 2))


def _teeth_layer(
    to_upper: np.ndarray,
    to_lower: np.ndarray,
    signed_across: np.ndarray,
    opening_px: float,
    height_px: float,
    level: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Synthetic teeth: colour (float RGB), weight of the upper row and of the upper band
    region (the strip under the upper lip where upper teeth would show)."""
    across = np.abs(signed_across)
    strength = float(_smoothstep(np.array((opening_px / height_px - 0.015) / 0.035)))
    teeth_height = min(0.45 * opening_px, 0.05 * height_px)
    soft = max(0.6, 0.15 * teeth_height)
    band = _smoothstep((teeth_height - to_upper) / soft + 0.5)
    # Upper teeth show broad in front and fade into the shadow of the cheeks.
    upper = band * (1.0 - _smoothstep((across - 0.5) / 0.4)) * strength
    lower = _smoothstep((0.4 * teeth_height - to_lower) / soft + 0.5)
    lower *= (1.0 - _smoothstep((across - 0.25) / 0.4)) * 0.35 * strength
    lower *= _smoothstep(np.array((opening_px / height_px - 0.06) / 0.04))
    under_lip = 0.82 + 0.18 * _smoothstep(to_upper / max(0.3 * teeth_height, 0.5))
    shade = (
        under_lip * (1.0 - 0.35 * _smoothstep((across - 0.4) / 0.6)) * _tooth_pattern(signed_across)
    )
    colour = level * _TEETH_TINT * shade[..., None]
    weight = np.maximum(upper, lower)
    return colour, weight, band


def paint_cavity(
    crop: np.ndarray,
    mesh: MouthMesh,
    offset: np.ndarray,
    teeth: bool = True,
    source_crop: np.ndarray | None = None,
    bank: MouthBank | None = None,
) -> np.ndarray:
    """``crop`` (RGB uint8, its top-left pixel at frame position ``offset``) with the mouth
    opening of ``mesh`` painted in.

    With ``source_crop`` (the unwarped source pixels of the same box), where the source mouth
    was open the real mouth interior just under the upper lip (upper teeth, which move with
    the head, not the jaw) is kept instead of synthetic teeth. With ``bank``, its best match
    replaces the painting wherever the real mouth it came from was open.
    """
    polygon = mesh.cavity_polygon() - offset
    height_px = mesh.axes.height
    x1 = max(int(np.floor(polygon[:, 0].min())) - 2, 0)
    y1 = max(int(np.floor(polygon[:, 1].min())) - 2, 0)
    x2 = min(int(np.ceil(polygon[:, 0].max())) + 3, crop.shape[1])
    y2 = min(int(np.ceil(polygon[:, 1].max())) + 3, crop.shape[0])
    if x2 - x1 < 2 or y2 - y1 < 2:
        return crop
    corner = np.array([x1, y1], np.float32)
    local = polygon - corner
    shape_hw = (y2 - y1, x2 - x1)
    alpha = _coverage(local, shape_hw)
    if float(alpha.max()) < 0.05:
        return crop

    half = SPOKES // 2
    to_upper = _distance_to(local[[0, *range(SPOKES - 1, half - 1, -1)]], shape_hw)
    to_lower = _distance_to(local[: half + 1], shape_hw)
    gap = to_upper + to_lower + 1e-3
    ys, xs = np.mgrid[0 : shape_hw[0], 0 : shape_hw[1]].astype(np.float32)
    centre = 0.5 * (local[0] + local[half])
    half_width = max(0.5 * float(np.linalg.norm(local[half] - local[0])), 1.0)
    signed_across = (xs - centre[0]) * mesh.axes.x[0] + (ys - centre[1]) * mesh.axes.x[1]
    signed_across = np.clip(signed_across / half_width, -1.0, 1.0)
    across = np.abs(signed_across)

    lips = lip_colour(crop, mesh, offset)
    near_lip = np.exp(-np.minimum(to_upper, to_lower) / np.maximum(0.2 * gap, 0.5))
    shade = (1.0 - 0.35 * across**2)[..., None]
    paint = lips * (_CAVITY_DEEP + near_lip[..., None] * (_CAVITY_EDGE - _CAVITY_DEEP)) * shade

    if teeth:
        region = crop[y1:y2, x1:x2].reshape(-1, 3).astype(np.float32)
        bright = float(np.percentile(_luma(region), 90))
        level = float(np.clip(max(bright, 0.8 * _luma(lips[None])[0]) * 1.12, 90.0, 245.0))
        inside = alpha > 0.5
        opening_px = float(np.percentile(gap[inside], 90)) if inside.any() else 0.0
        colour, weight, band = _teeth_layer(
            to_upper, to_lower, signed_across, opening_px, height_px, level
        )
        if source_crop is not None:
            real, real_weight = _source_interior(source_crop, mesh, offset, corner, shape_hw)
            real_weight = real_weight * band
            # Where the source shows its own teeth, draw no synthetic ones below them.
            reach = 2 * int(np.ceil(0.05 * height_px)) + 1
            covered = cv2.dilate(real_weight, np.ones((reach, 1), np.uint8))
            weight = weight * (1.0 - covered)
            paint = paint + real_weight[..., None] * (real - paint)
        paint = paint + weight[..., None] * (colour - paint)

    entry = None
    if bank is not None:
        inner = mesh.ring(0, "source")
        entry = bank.best(shape_of(mesh.ring(0), mesh.axes), mouth_anchor(inner), height_px)
    if entry is not None:
        real, opening = place(entry, mesh.axes, mesh.ring(0), offset + corner, shape_hw)
        valid = _soft_inside(opening, shape_hw, height_px)
        paint = paint + valid[..., None] * (real - paint)

    blur = max(0.35, 0.004 * height_px)
    alpha = cv2.GaussianBlur(alpha, (0, 0), blur)[..., None]
    out = crop.copy()
    patch = out[y1:y2, x1:x2].astype(np.float32)
    out[y1:y2, x1:x2] = np.clip(patch + alpha * (paint - patch) + 0.5, 0, 255).astype(np.uint8)
    return out


def _source_interior(
    source_crop: np.ndarray,
    mesh: MouthMesh,
    offset: np.ndarray,
    corner: np.ndarray,
    shape_hw: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """The source's own mouth interior, moved with the upper lip, over the cavity window at
    ``corner`` (crop coordinates), and where it is valid (inside the source opening)."""
    half = SPOKES // 2
    upper = list(range(half + 1, SPOKES))
    shift = (mesh.ring(0)[upper] - mesh.ring(0, "source")[upper]).mean(axis=0)
    height, width = shape_hw
    # dst(p) = src(p + corner - shift): the source interior follows the upper lip.
    inverse = np.float32([[1, 0, corner[0] - shift[0]], [0, 1, corner[1] - shift[1]]])
    real = cv2.warpAffine(
        source_crop,
        inverse,
        (width, height),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    ).astype(np.float32)
    source_polygon = mesh.ring(0, "source") - offset - corner + shift
    inside = _coverage(source_polygon, shape_hw)
    # Stay clear of the source lips' edge (the mesh contour is not pixel-exact) and fade in.
    margin = max(1, int(round(0.012 * mesh.axes.height)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))
    weight = cv2.GaussianBlur(cv2.erode(inside, kernel), (0, 0), 0.5 * margin)
    return real, weight


def _soft_inside(polygon: np.ndarray, shape_hw: tuple[int, int], height_px: float) -> np.ndarray:
    """Coverage of ``polygon``, kept clear of its edge (landmark contours are not pixel-exact)
    and faded in."""
    canvas = np.zeros(shape_hw, np.uint8)
    cv2.fillPoly(canvas, [np.round(polygon * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    inside = canvas.astype(np.float32) / 255.0
    margin = max(1, int(round(0.008 * height_px)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))
    return cv2.GaussianBlur(cv2.erode(inside, kernel), (0, 0), 0.5 * margin)
