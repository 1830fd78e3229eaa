"""Piecewise-affine image warp over a triangle mesh.

Each target triangle is filled with the affine image of its source triangle (backward mapping:
every target pixel looks up where it came from, so there are no holes). Shared edges map the
same way from both sides, so the warp is continuous: no tears. Pixels outside every triangle
keep their source position.
"""

from __future__ import annotations

import cv2
import numpy as np

from lipdub.types import Box

#: Sub-pixel bits used when rasterising triangles.
_SHIFT = 4
#: Target triangles with less area than this (pixels^2) are skipped (collapsed cavity).
_MIN_AREA = 0.05


def _signed_area(triangles: np.ndarray) -> np.ndarray:
    edge1 = triangles[:, 1] - triangles[:, 0]
    edge2 = triangles[:, 2] - triangles[:, 0]
    return 0.5 * (edge1[:, 0] * edge2[:, 1] - edge1[:, 1] * edge2[:, 0])


def backward_affines(
    source: np.ndarray, target: np.ndarray, triangles: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per triangle the ``2x3`` affine taking target points to source points, and whether to
    draw it: not when the target triangle has (almost) no area or is flipped."""
    tri_target = target[triangles].astype(np.float64)  # (n, 3, 2)
    tri_source = source[triangles].astype(np.float64)
    area = _signed_area(tri_target)
    source_area = _signed_area(tri_source)
    flipped = area * source_area < 0
    drawable = (np.abs(area) > _MIN_AREA) & ~flipped
    # The affine maps target vertex k to source vertex k. In coordinates relative to vertex
    # 0 it is the 2x2 matrix M with M @ [e1 e2] = [f1 f2] (e, f: target, source edges), so
    # M = [f1 f2] @ inv([e1 e2]), written out (a closed form: no per-triangle solver).
    e1, e2 = tri_target[:, 1] - tri_target[:, 0], tri_target[:, 2] - tri_target[:, 0]
    f1, f2 = tri_source[:, 1] - tri_source[:, 0], tri_source[:, 2] - tri_source[:, 0]
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    inv_det = np.where(drawable, 1.0 / np.where(drawable, det, 1.0), 0.0)
    inverse = (
        np.stack([np.stack([e2[:, 1], -e2[:, 0]], -1), np.stack([-e1[:, 1], e1[:, 0]], -1)], -2)
        * inv_det[:, None, None]
    )  # rows: the inverse of [e1 e2]
    edges = np.stack([f1, f2], -1)  # (n, 2, 2), columns f1 f2
    linear = edges @ inverse
    offset = tri_source[:, 0] - np.einsum("nij,nj->ni", linear, tri_target[:, 0])
    affines = np.concatenate([linear, offset[:, :, None]], axis=2)
    affines[~drawable] = 0.0
    return affines.astype(np.float32), drawable


def triangle_index_map(
    target: np.ndarray, triangles: np.ndarray, drawable: np.ndarray, box: Box
) -> np.ndarray:
    """``(h, w)`` int32 image of ``box`` holding, per pixel, the index of the target triangle
    covering it (later triangles win on shared edges) or -1."""
    x1, y1, x2, y2 = box
    index_map = np.full((y2 - y1, x2 - x1), -1, np.int32)
    fixed = np.round((target - np.array([x1, y1], np.float32)) * (1 << _SHIFT)).astype(np.int32)
    numbers = np.flatnonzero(drawable)
    for number, corners in zip(numbers.tolist(), fixed[triangles[numbers]], strict=True):
        cv2.fillConvexPoly(index_map, corners, number, cv2.LINE_8, _SHIFT)
    return index_map


#: Blurs wider than this (sigma, pixels) run on a grid this many times coarser per sigma.
_FULL_RES_SIGMA = 3.0


def smooth_blur(field: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of a smooth float32 ``field`` (``(h, w)``, or ``(h, w, channels)`` each
    blurred alike) with ``sigma`` pixels, at a cost that does not grow with ``sigma``: wide
    blurs run on a coarser grid (each cell at most ``sigma / _FULL_RES_SIGMA`` pixels) and are
    interpolated back."""
    step = int(sigma // _FULL_RES_SIGMA)
    height, width = field.shape[:2]
    if step < 2 or min(height, width) < 4 * step:
        return cv2.GaussianBlur(field, (0, 0), sigma)
    small_size = (max(1, round(width / step)), max(1, round(height / step)))
    small = cv2.resize(field, small_size, interpolation=cv2.INTER_AREA)
    scale = width / small_size[0]
    # Area-averaging already blurs by about a box of one cell (variance cell^2 / 12).
    small_sigma = float(np.sqrt(max(sigma**2 - scale**2 / 12.0, 0.25))) / scale
    small = cv2.GaussianBlur(small, (0, 0), small_sigma)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def warp_region(
    frame: np.ndarray,
    source: np.ndarray,
    target: np.ndarray,
    triangles: np.ndarray,
    box: Box,
    smooth_weights: np.ndarray | None = None,
    smooth_sigma: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The pixels of ``box`` after moving mesh vertices from ``source`` to ``target``.

    With ``smooth_sigma`` > 0 the displacement is Gaussian-smoothed (``smooth_sigma`` pixels)
    over each triangle in proportion to its ``smooth_weights`` entry, with a soft transition;
    this removes the creases of the piecewise-affine map away from the lips. Returns the
    warped crop (uint8, box-sized) and the triangle index map.
    """
    affines, drawable = backward_affines(source, target, triangles)
    index_map = triangle_index_map(target, triangles, drawable, box)
    x1, y1, x2, y2 = box
    xs = np.arange(x1, x2, dtype=np.float32)[None, :]
    ys = np.arange(y1, y2, dtype=np.float32)[:, None]
    # Per triangle the displacement (A - I) p + b; one extra all-zero row for pixels outside
    # every triangle (index -1 picks it), so the whole box is computed without masking.
    moves = affines.astype(np.float32).copy()
    moves[:, 0, 0] -= 1.0
    moves[:, 1, 1] -= 1.0
    moves = np.concatenate([moves, np.zeros((1, 2, 3), np.float32)]).reshape(-1, 6)
    index = np.where(index_map >= 0, index_map, len(affines))
    coefficient = np.take(moves, index, axis=0)  # (h, w, 6): each pixel's triangle's row
    dx = coefficient[..., 0] * xs + coefficient[..., 1] * ys + coefficient[..., 2]
    dy = coefficient[..., 3] * xs + coefficient[..., 4] * ys + coefficient[..., 5]
    if smooth_sigma > 0 and smooth_weights is not None:
        inside = index_map >= 0
        weights = np.append(np.asarray(smooth_weights, np.float32), np.float32(0.0))
        # The weights and both displacement fields blurred in one call, as three channels.
        blurred = smooth_blur(np.dstack([np.take(weights, index), dx, dy]), smooth_sigma)
        weight = blurred[..., 0] * inside
        dx += weight * (blurred[..., 1] - dx)
        dy += weight * (blurred[..., 2] - dy)
    map_x, map_y = dx + xs, dy + ys
    warped = cv2.remap(frame, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return warped, index_map
