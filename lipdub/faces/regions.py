"""Named face regions: the tracker-independent face geometry every consumer uses.

A tracker turns its own landmarks (468-point mediapipe mesh, 68-point iBUG, ...) into a
:class:`FaceRegions`; masks, the warp, the Wav2Lip crop box, smoothing and the eval metrics
read only these regions, never a tracker's landmark indices.

Conventions (frame pixels, ``(x, y)``, y down; "image-left" is the smaller x in a frontal,
unmirrored view, i.e. the subject's right):

* Every region has a fixed number of points in a fixed order, so all regions of a face are one
  ``(POINTS, 2)`` float32 array (:attr:`FaceRegions.points`) with named slices, and the same
  index means the same place on every face (smoothing and interpolation work point-wise).
* ``oval``: the face silhouette, closed loop of :data:`OVAL_POINTS`; index 0 is the top of
  the forehead, it runs down the image-right side to the chin at :data:`OVAL_CHIN` and back
  up the image-left side. Trackers whose landmarks stop at the brows estimate the forehead.
* ``jaw``: open path of :data:`JAW_POINTS` from the image-left cheek (index 0) round the chin
  (:data:`JAW_CHIN`) to the image-right cheek (last index); its ends are the cheeks.
* ``lips_outer`` / ``lips_inner``: closed loops of :data:`LIP_POINTS`, both in the same
  order (point ``k`` of the inner loop faces point ``k`` of the outer one): the image-left
  mouth corner at 0, along the LOWER lip (middle at :data:`LOWER_MID`) to the image-right
  corner at :data:`LIP_CORNER`, then back along the upper lip (middle at :data:`UPPER_MID`).
* single points: ``nose_tip``, ``nose_base`` (subnasale, just above the upper lip),
  ``nose_alae`` (outer edges of the nostrils: image-left, image-right) and ``eyes`` (eye
  centres: image-left, image-right).

:meth:`FaceRegions.build` resamples each region by arc length to its fixed count, section by
section between anchors (forehead and chin, mouth corners), so anchors land exactly on their
indices. A region given with exactly its canonical count is taken as it is (already in
canonical order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

OVAL_POINTS = 36
OVAL_CHIN = OVAL_POINTS // 2
JAW_POINTS = 21
JAW_CHIN = JAW_POINTS // 2
LIP_POINTS = 20
#: Index of the image-right mouth corner in either lip loop (the image-left one is 0).
LIP_CORNER = LIP_POINTS // 2
#: Middle of the lower / upper lip in either lip loop.
LOWER_MID = LIP_CORNER // 2
UPPER_MID = LIP_CORNER + LIP_CORNER // 2


def _layout() -> dict[str, slice]:
    sizes = {
        "oval": OVAL_POINTS,
        "jaw": JAW_POINTS,
        "lips_outer": LIP_POINTS,
        "lips_inner": LIP_POINTS,
        "nose_tip": 1,
        "nose_base": 1,
        "nose_alae": 2,
        "eyes": 2,
    }
    layout, start = {}, 0
    for name, size in sizes.items():
        layout[name] = slice(start, start + size)
        start += size
    return layout


#: Where each region lies in :attr:`FaceRegions.points`.
LAYOUT: dict[str, slice] = _layout()
#: Number of points of all regions together.
POINTS = LAYOUT["eyes"].stop


def resample_path(points: np.ndarray, count: int) -> np.ndarray:
    """``count`` points evenly spaced by arc length along the open polyline ``points``
    (first and last points kept); a path of zero length gives ``count`` copies of its start."""
    path = np.asarray(points, np.float64).reshape(-1, 2)
    if len(path) == 1 or count == 1:
        return np.repeat(path[:1], count, axis=0)
    lengths = np.linalg.norm(np.diff(path, axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(lengths)])
    if not np.isfinite(along[-1]) or along[-1] <= 0:
        return np.repeat(path[:1], count, axis=0)
    targets = np.linspace(0.0, along[-1], count)
    xs = np.interp(targets, along, path[:, 0])
    return np.stack([xs, np.interp(targets, along, path[:, 1])], axis=1)


def _sections(points: np.ndarray, anchors: list[int], counts: list[int]) -> np.ndarray:
    """Resample the path between consecutive ``anchors`` (indices into ``points``) to
    ``counts`` points each, sharing the anchor points; returns the joined path."""
    parts = []
    for start, end, count in zip(anchors[:-1], anchors[1:], counts, strict=True):
        section = resample_path(points[start : end + 1], count + 1)
        parts.append(section[:-1])
    parts.append(points[anchors[-1] : anchors[-1] + 1])
    return np.concatenate(parts)


def _loop(points: np.ndarray, split: int | None, count: int) -> np.ndarray:
    """A closed loop resampled to ``count`` points: ``points[0]`` at 0, ``points[split]`` at
    ``count // 2``, each half by arc length."""
    points = np.asarray(points, np.float64).reshape(-1, 2)
    split = len(points) // 2 if split is None else split
    if len(points) == count and split == count // 2:
        return points
    closed = np.concatenate([points, points[:1]])
    half = count // 2
    return _sections(closed, [0, split, len(points)], [half, count - half])[:-1]


def _path(points: np.ndarray, middle: int | None, count: int) -> np.ndarray:
    """An open path resampled to ``count`` points with ``points[middle]`` at ``count // 2``."""
    points = np.asarray(points, np.float64).reshape(-1, 2)
    middle = len(points) // 2 if middle is None else middle
    if len(points) == count and middle == count // 2:
        return points
    half = count // 2
    return _sections(points, [0, middle, len(points) - 1], [half, count - 1 - half])


@dataclass(frozen=True, eq=False)
class FaceRegions:
    """The named regions of one face as one ``(POINTS, 2)`` float32 array (see module doc)."""

    points: np.ndarray

    def __post_init__(self) -> None:
        points = np.asarray(self.points, np.float32)
        if points.shape != (POINTS, 2):
            raise ValueError(f"FaceRegions needs ({POINTS}, 2) points, got {points.shape}")
        object.__setattr__(self, "points", points)

    @classmethod
    def build(
        cls,
        *,
        oval: np.ndarray,
        jaw: np.ndarray,
        lips_outer: np.ndarray,
        lips_inner: np.ndarray,
        nose_tip: np.ndarray,
        nose_base: np.ndarray,
        nose_alae: np.ndarray,
        eyes: np.ndarray,
        oval_chin: int | None = None,
        jaw_chin: int | None = None,
        outer_corner: int | None = None,
        inner_corner: int | None = None,
    ) -> FaceRegions:
        """Regions from contours of any length in the canonical order and orientation.

        ``oval`` starts at the forehead top and has the chin at ``oval_chin``; ``jaw`` runs
        image-left cheek to image-right cheek with the chin at ``jaw_chin``; the lip loops
        start at the image-left corner, run along the lower lip and have the image-right
        corner at ``outer_corner`` / ``inner_corner``. Those indices default to the middle.
        """
        parts = {
            "oval": _loop(oval, oval_chin, OVAL_POINTS),
            "jaw": _path(jaw, jaw_chin, JAW_POINTS),
            "lips_outer": _loop(lips_outer, outer_corner, LIP_POINTS),
            "lips_inner": _loop(lips_inner, inner_corner, LIP_POINTS),
            "nose_tip": np.reshape(nose_tip, (1, 2)),
            "nose_base": np.reshape(nose_base, (1, 2)),
            "nose_alae": np.reshape(nose_alae, (2, 2)),
            "eyes": np.reshape(eyes, (2, 2)),
        }
        points = np.empty((POINTS, 2), np.float32)
        for name, part in parts.items():
            points[LAYOUT[name]] = part
        return cls(points)

    # -- regions -----------------------------------------------------------------------------

    def region(self, name: str) -> np.ndarray:
        """The points of the region ``name`` (a key of :data:`LAYOUT`), a view."""
        return self.points[LAYOUT[name]]

    @property
    def oval(self) -> np.ndarray:
        return self.region("oval")

    @property
    def jaw(self) -> np.ndarray:
        return self.region("jaw")

    @property
    def lips_outer(self) -> np.ndarray:
        return self.region("lips_outer")

    @property
    def lips_inner(self) -> np.ndarray:
        return self.region("lips_inner")

    @property
    def lips(self) -> np.ndarray:
        """Outer then inner lip loop, ``(2 * LIP_POINTS, 2)``."""
        return self.points[LAYOUT["lips_outer"].start : LAYOUT["lips_inner"].stop]

    @property
    def nose_tip(self) -> np.ndarray:
        return self.points[LAYOUT["nose_tip"].start]

    @property
    def nose_base(self) -> np.ndarray:
        """The subnasale: the bottom of the nose, just above the upper lip."""
        return self.points[LAYOUT["nose_base"].start]

    @property
    def nose_alae(self) -> np.ndarray:
        """Outer edges of the nostrils, image-left then image-right, ``(2, 2)``."""
        return self.region("nose_alae")

    @property
    def eyes(self) -> np.ndarray:
        """Eye centres, image-left then image-right, ``(2, 2)``."""
        return self.region("eyes")

    # -- named points ------------------------------------------------------------------------

    @property
    def forehead(self) -> np.ndarray:
        """The top of the face oval."""
        return self.oval[0]

    @property
    def chin(self) -> np.ndarray:
        return self.jaw[JAW_CHIN]

    @property
    def cheeks(self) -> np.ndarray:
        """The ends of the jaw contour, image-left then image-right, ``(2, 2)``."""
        return self.jaw[[0, -1]]

    @property
    def mouth_corners(self) -> np.ndarray:
        """Outer mouth corners, image-left then image-right, ``(2, 2)``."""
        return self.lips_outer[[0, LIP_CORNER]]

    @property
    def upper_lip_outer(self) -> np.ndarray:
        """Middle of the upper lip's outer edge."""
        return self.lips_outer[UPPER_MID]

    @property
    def upper_lip_inner(self) -> np.ndarray:
        return self.lips_inner[UPPER_MID]

    @property
    def lower_lip_inner(self) -> np.ndarray:
        return self.lips_inner[LOWER_MID]

    def five_points(self) -> np.ndarray:
        """``(5, 2)`` float32 alignment points in ArcFace/FFHQ order: image-left eye,
        image-right eye, nose tip, image-left mouth corner, image-right mouth corner."""
        return np.concatenate([self.eyes, self.nose_tip[None], self.mouth_corners])

    # -- sizes -------------------------------------------------------------------------------

    @property
    def face_height(self) -> float:
        """Forehead to chin, in pixels."""
        return float(np.linalg.norm(self.chin - self.forehead))

    @property
    def face_width(self) -> float:
        """Cheek to cheek, in pixels."""
        cheeks = self.cheeks
        return float(np.linalg.norm(cheeks[1] - cheeks[0]))

    @property
    def mouth_opening(self) -> float:
        """Inner-lip gap at the middle of the mouth over the face height."""
        gap = float(np.linalg.norm(self.upper_lip_inner - self.lower_lip_inner))
        return gap / max(self.face_height, 1e-6)

    def oval_box(self) -> tuple[float, float, float, float]:
        """The bounding box ``(x1, y1, x2, y2)`` of the face oval."""
        x1, y1 = self.oval.min(axis=0)
        x2, y2 = self.oval.max(axis=0)
        return float(x1), float(y1), float(x2), float(y2)

    def is_finite(self) -> bool:
        return bool(np.all(np.isfinite(self.points)))

    # -- transforms --------------------------------------------------------------------------

    def map(self, fn: Callable[[np.ndarray], np.ndarray]) -> FaceRegions:
        """New regions with every point moved by ``fn`` (``(N, 2)`` in, ``(N, 2)`` out)."""
        return FaceRegions(fn(self.points.copy()))

    def translated(self, dx: float, dy: float) -> FaceRegions:
        """Moved by ``(dx, dy)`` pixels (e.g. ``-x1, -y1`` into a crop at ``x1, y1``)."""
        return FaceRegions(self.points + np.float32([dx, dy]))

    def clipped(self, width: float, height: float) -> FaceRegions:
        """Every point moved into the ``width`` x ``height`` frame (a face cut by the frame
        edge keeps its regions inside the picture)."""
        return FaceRegions(np.clip(self.points, 0.0, np.float32([width, height])))

    def scaled(self, sx: float, sy: float | None = None) -> FaceRegions:
        """Scaled about the frame origin (e.g. into a resized crop)."""
        return FaceRegions(self.points * np.float32([sx, sx if sy is None else sy]))
