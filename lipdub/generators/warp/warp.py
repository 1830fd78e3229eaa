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
    ones = np.ones(tri_target.shape[:2] + (1,))
    homogeneous = np.concatenate([tri_target, ones], axis=2)  # (n, 3, 3) rows = points
    area = _signed_area(tri_target)
    source_area = _signed_area(tri_source)
    flipped = area * source_area < 0
    drawable = (np.abs(area) > _MIN_AREA) & ~flipped
    homogeneous[~drawable] = np.eye(3)
    # Solve homogeneous @ A^T = source for A (3 equations per coordinate).
    affine_t = np.linalg.solve(homogeneous, np.where(drawable[:, None, None], tri_source, 0.0))
    return np.transpose(affine_t, (0, 2, 1)).astype(np.float32), drawable


def triangle_index_map(
    target: np.ndarray, triangles: np.ndarray, drawable: np.ndarray, box: Box
) -> np.ndarray:
    """``(h, w)`` int32 image of ``box`` holding, per pixel, the index of the target triangle
    covering it (later triangles win on shared edges) or -1."""
    x1, y1, x2, y2 = box
    index_map = np.full((y2 - y1, x2 - x1), -1, np.int32)
    fixed = np.round((target - np.array([x1, y1], np.float32)) * (1 << _SHIFT)).astype(np.int32)
    for number in np.flatnonzero(drawable):
        cv2.fillConvexPoly(index_map, fixed[triangles[number]], int(number), cv2.LINE_8, _SHIFT)
    return index_map


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
    ys, xs = np.mgrid[y1:y2, x1:x2].astype(np.float32)
    inside = index_map >= 0
    chosen = affines[index_map[inside]]  # (n, 2, 3)
    px, py = xs[inside], ys[inside]
    map_x, map_y = xs.copy(), ys.copy()
    map_x[inside] = chosen[:, 0, 0] * px + chosen[:, 0, 1] * py + chosen[:, 0, 2]
    map_y[inside] = chosen[:, 1, 0] * px + chosen[:, 1, 1] * py + chosen[:, 1, 2]
    if smooth_sigma > 0 and smooth_weights is not None:
        dx, dy = map_x - xs, map_y - ys
        weight = np.zeros(index_map.shape, np.float32)
        weight[inside] = smooth_weights[index_map[inside]]
        weight = cv2.GaussianBlur(weight, (0, 0), smooth_sigma) * inside
        for field in (dx, dy):
            field += weight * (cv2.GaussianBlur(field, (0, 0), smooth_sigma) - field)
        map_x, map_y = xs + dx, ys + dy
    warped = cv2.remap(frame, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return warped, index_map
