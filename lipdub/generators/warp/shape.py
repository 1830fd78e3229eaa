"""Target mouth shapes: a mesh around the lips and where its points move for a mouth pose.

The mesh is star-shaped around the mouth. It has :data:`SPOKES` spokes, one per point of the
lip contours (the inner and outer lip loops of :class:`FaceRegions` have matching point order),
and
rings: the inner lips, the outer lips, then rings part-way out to a fixed boundary that runs
below the chin, inside the cheeks and just under the nose. The boundary never moves, so the
warp is the identity on and outside it. The cavity between the inner lips is triangulated too,
so an opening mouth stretches (and a closing mouth squeezes away) whatever the source showed
there; :mod:`interior` paints over it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lipdub.faces.regions import LIP_POINTS, FaceRegions

SPOKES = LIP_POINTS
#: Spokes of the lower lip (corner at 0, lower lip 1..9, corner at 10, upper lip 11..19).
LOWER = np.arange(1, SPOKES // 2)
UPPER = np.arange(SPOKES // 2 + 1, SPOKES)
CORNERS = np.array([0, SPOKES // 2])
#: Fractions of the way from the outer lips to the boundary of the rings beyond the lips.
RING_FRACTIONS = (0.2, 0.4, 0.6, 0.8, 1.0)
RINGS = 2 + len(RING_FRACTIONS)


@dataclass(frozen=True)
class MouthPose:
    """A mouth shape: ``opening`` in ``[0, 1]`` and ``spread`` in ``[-1, 1]`` (< 0: rounded)."""

    opening: float = 0.0
    spread: float = 0.0


@dataclass(frozen=True)
class ShapeParams:
    """How far the mouth moves, relative to the face height (forehead to chin)."""

    #: Inner-lip gap at full opening.
    max_gap: float = 0.15
    #: Share of the gap made by raising the upper lip (the rest lowers the lower lip).
    upper_share: float = 0.1
    #: Chin drop as a share of the lower lip's drop.
    jaw_share: float = 0.6
    #: Corner movement at full spread, as a share of half the mouth width.
    spread_share: float = 0.12
    #: Corners move in by this share of half the mouth width at full opening.
    narrow_share: float = 0.06
    #: Boundary margin below the chin.
    chin_margin: float = 0.3


@dataclass(frozen=True)
class FaceAxes:
    """The face's own frame: ``origin`` at the mouth centre, ``x`` across the face (image
    left to right), ``y`` down towards the chin, ``height`` from forehead to chin in pixels."""

    origin: np.ndarray
    x: np.ndarray
    y: np.ndarray
    height: float

    @staticmethod
    def from_regions(regions: FaceRegions) -> FaceAxes:
        eyes = regions.eyes.astype(np.float64)
        across = eyes[1] - eyes[0]
        across = across / max(float(np.linalg.norm(across)), 1e-6)
        down = np.array([-across[1], across[0]])
        origin = regions.lips_inner.astype(np.float64).mean(axis=0)
        return FaceAxes(origin, across, down, max(regions.face_height, 1.0))

    def to_face(self, points: np.ndarray) -> np.ndarray:
        """Frame pixels to ``(u, v)`` face coordinates (pixels along ``x`` and ``y``)."""
        rel = np.asarray(points, np.float64) - self.origin
        return np.stack([rel @ self.x, rel @ self.y], axis=-1)

    def to_frame(self, coords: np.ndarray) -> np.ndarray:
        """``(u, v)`` face coordinates back to frame pixels."""
        coords = np.asarray(coords, np.float64)
        return self.origin + coords[..., :1] * self.x + coords[..., 1:] * self.y


def _boundary(axes: FaceAxes, regions: FaceRegions, outer: np.ndarray, chin_margin: float):
    """Boundary points (face coordinates) on the rays from the mouth centre through ``outer``."""
    cheeks = axes.to_face(regions.cheeks)
    lip_reach = np.abs(outer).max(axis=0)
    left = max(0.8 * abs(cheeks[0, 0]), 1.25 * lip_reach[0])
    right = max(0.8 * abs(cheeks[1, 0]), 1.25 * lip_reach[0])
    nose = axes.to_face(regions.nose_base[None])[0, 1]
    chin = axes.to_face(regions.chin[None])[0, 1]
    up = max(0.9 * abs(nose), 1.3 * max(-outer[:, 1].min(), 1.0))
    down = max(chin + chin_margin * axes.height, 1.5 * outer[:, 1].max())
    norms = np.maximum(np.linalg.norm(outer, axis=1, keepdims=True), 1e-6)
    direction = outer / norms
    semi_u = np.where(direction[:, 0] < 0, left, right)
    semi_v = np.where(direction[:, 1] < 0, up, down)
    radius = 1.0 / np.sqrt((direction[:, 0] / semi_u) ** 2 + (direction[:, 1] / semi_v) ** 2)
    radius = np.maximum(radius, 1.2 * norms[:, 0])
    return direction * radius[:, None]


@dataclass(frozen=True)
class MouthMesh:
    """Source and target vertex positions (frame pixels, ``(RINGS * SPOKES, 2)``), the
    triangles (vertex indices; cavity triangles first) and the face axes."""

    source: np.ndarray
    target: np.ndarray
    triangles: np.ndarray
    cavity_triangles: int
    axes: FaceAxes

    def ring(self, ring: int, which: str = "target") -> np.ndarray:
        """The ``SPOKES`` points of one ring."""
        points = self.target if which == "target" else self.source
        return points[ring * SPOKES : (ring + 1) * SPOKES]

    def cavity_polygon(self) -> np.ndarray:
        """The target inner-lip loop (frame pixels)."""
        return self.ring(0)


def _triangles() -> tuple[np.ndarray, int]:
    lower_chain = [0, *LOWER.tolist(), SPOKES // 2]
    upper_chain = [0, *UPPER[::-1].tolist(), SPOKES // 2]
    cavity: list[tuple[int, int, int]] = []
    for j in range(len(lower_chain) - 1):
        a, b = lower_chain[j], lower_chain[j + 1]
        c, d = upper_chain[j + 1], upper_chain[j]
        if a == d:
            cavity.append((a, b, c))
        elif b == c:
            cavity.append((a, b, d))
        else:
            cavity += [(a, b, c), (a, c, d)]
    rings: list[tuple[int, int, int]] = []
    for ring in range(RINGS - 1):
        for k in range(SPOKES):
            k2 = (k + 1) % SPOKES
            p00, p01 = ring * SPOKES + k, ring * SPOKES + k2
            p10, p11 = (ring + 1) * SPOKES + k, (ring + 1) * SPOKES + k2
            rings += [(p00, p01, p11), (p00, p11, p10)]
    return np.array(cavity + rings, np.int32), len(cavity)


TRIANGLES, CAVITY_TRIANGLES = _triangles()


def _smooth_weights() -> np.ndarray:
    """Per triangle: 1 where the displacement may be smoothed (beyond the lower lip), else 0."""
    weights = np.zeros(len(TRIANGLES), np.float32)
    for ring in range(2, RINGS - 1):
        for k in LOWER:
            start = CAVITY_TRIANGLES + 2 * (ring * SPOKES + k)
            weights[start : start + 2] = 1.0
    return weights


#: Triangles whose displacement is smoothed (see :func:`warp.warp_region`).
SMOOTH_WEIGHTS = _smooth_weights()


def _falloff(fraction: float) -> float:
    """How much of the lip movement a ring at ``fraction`` of the way out keeps."""
    t = min(max(fraction, 0.0), 1.0)
    return 1.0 - t * t * (3.0 - 2.0 * t)


def build_mesh(
    regions: FaceRegions, pose: MouthPose, params: ShapeParams | None = None
) -> MouthMesh:
    """The mesh of the face with ``regions`` moved to ``pose``."""
    params = params or ShapeParams()
    axes = FaceAxes.from_regions(regions)
    inner = axes.to_face(regions.lips_inner)
    outer = axes.to_face(regions.lips_outer)
    boundary = _boundary(axes, regions, outer, params.chin_margin)
    opening = float(np.clip(pose.opening, 0.0, 1.0))
    spread = float(np.clip(pose.spread, -1.0, 1.0))

    # Gap profile across the mouth: elliptical, 0 at the inner corners.
    half_inner = max(0.5 * abs(inner[SPOKES // 2, 0] - inner[0, 0]), 1.0)
    centre_u = 0.5 * (inner[SPOKES // 2, 0] + inner[0, 0])
    u = np.clip((inner[:, 0] - centre_u) / half_inner, -1.0, 1.0)
    profile = np.sqrt(np.maximum(1.0 - u * u, 0.0))
    # Source gap under each lower-lip point: down to it from the upper inner lip.
    upper_chain = inner[[0, *UPPER[::-1].tolist(), SPOKES // 2]]
    order = np.argsort(upper_chain[:, 0], kind="stable")
    upper_above = np.interp(inner[LOWER, 0], upper_chain[order, 0], upper_chain[order, 1])
    source_gap = inner[LOWER, 1] - upper_above
    target_gap = opening * params.max_gap * axes.height * profile

    move = np.zeros((SPOKES, 2))
    lower_drop = target_gap[LOWER] * (1.0 - params.upper_share) - source_gap
    move[LOWER, 1] = lower_drop
    move[UPPER, 1] = -params.upper_share * target_gap[UPPER]
    centre_drop = float(lower_drop[len(LOWER) // 2])
    # The corners drop a little as the jaw opens; closing leaves them where they are.
    move[CORNERS, 1] = 0.15 * max(centre_drop, 0.0)
    half_outer = 0.5 * abs(outer[SPOKES // 2, 0] - outer[0, 0])
    corner_shift = half_outer * (params.spread_share * spread - params.narrow_share * opening)
    move[:, 0] = u * corner_shift

    source_rings = [inner, outer]
    target_rings = [inner + move, outer + move * np.array([1.0, 1.0])]
    outer_move = move.copy()
    outer_move[UPPER, 1] *= 0.5
    target_rings[1] = outer + outer_move
    for fraction in RING_FRACTIONS:
        ring = outer + fraction * (boundary - outer)
        source_rings.append(ring)
        keep = _falloff(fraction)
        ring_move = outer_move * keep
        # The chin rides on the jaw: below the lips, keep jaw_share of the drop further out.
        jaw = params.jaw_share + (1.0 - params.jaw_share) * keep
        ring_move[LOWER, 1] = (
            outer_move[LOWER, 1] * min(jaw, 1.0) * _falloff(max(fraction - 0.35, 0.0) / 0.65)
        )
        target_rings.append(ring + ring_move)
    # Collapse ring-1 spread for the corners too: the boundary ring stays exactly in place.
    target_rings[-1] = source_rings[-1]
    source = axes.to_frame(np.concatenate(source_rings)).astype(np.float32)
    target = axes.to_frame(np.concatenate(target_rings)).astype(np.float32)
    return MouthMesh(source, target, TRIANGLES, CAVITY_TRIANGLES, axes)


def inner_gap(regions: FaceRegions) -> float:
    """Inner-lip gap at the middle of the mouth over the face height: the mouth opening."""
    return regions.mouth_opening
