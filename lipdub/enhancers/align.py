"""Aligning a face to a five-point template (FFHQ, ArcFace) and back.

Templates are normalised (multiply by the crop size); the points are in the order of
:meth:`~lipdub.faces.regions.FaceRegions.five_points`: image-left eye, image-right eye, nose
tip, image-left and image-right mouth corner.
"""

from __future__ import annotations

import cv2
import numpy as np

#: The FFHQ template of GFPGAN / CodeFormer / RestoreFormer / GPEN-512+ at 512 px, normalised.
FFHQ_512 = np.array(
    [[0.37691676, 0.46864664], [0.62285697, 0.46912813], [0.50123859, 0.61331904],
     [0.39308822, 0.72541100], [0.61150205, 0.72490465]], np.float32,
)  # fmt: skip
#: ArcFace 112 points shifted to a 128 square, normalised (GPEN-BFR-256's template).
ARCFACE_128 = np.array(
    [[0.36167656, 0.40387734], [0.63696719, 0.40235469], [0.50019687, 0.56044219],
     [0.38710391, 0.72160547], [0.61507734, 0.72034453]], np.float32,
)  # fmt: skip
TEMPLATES = {"ffhq_512": FFHQ_512, "arcface_128": ARCFACE_128}


def alignment(points: np.ndarray, template: np.ndarray, size: int) -> np.ndarray:
    """The ``(2, 3)`` similarity (rotation, uniform scale, shift) taking the five ``points``
    (frame pixels) closest to ``template`` scaled to a ``size`` square (least squares)."""
    source = np.asarray(points, np.float64)
    target = np.asarray(template, np.float64) * size
    src_mean, dst_mean = source.mean(axis=0), target.mean(axis=0)
    src, dst = source - src_mean, target - dst_mean
    # Least-squares similarity (Umeyama without reflection), closed form in 2-D.
    norm = float((src**2).sum())
    if norm < 1e-9:
        raise ValueError("the five points coincide")
    a = float((src * dst).sum()) / norm
    b = float((src[:, 0] * dst[:, 1] - src[:, 1] * dst[:, 0]).sum()) / norm
    rotation = np.array([[a, -b], [b, a]])
    shift = dst_mean - rotation @ src_mean
    return np.hstack([rotation, shift[:, None]]).astype(np.float64)


def warp_to_crop(frame: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """The ``size`` square crop of ``frame`` under ``matrix`` (edges replicated)."""
    return cv2.warpAffine(
        np.ascontiguousarray(frame), matrix, (size, size),
        flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE,
    )  # fmt: skip


def crop_to_box(
    crop: np.ndarray, matrix: np.ndarray, box: tuple[int, int, int, int], border: int = 0
) -> np.ndarray:
    """``crop`` (aligned by ``matrix``) mapped back onto the frame rectangle ``box``."""
    x1, y1, x2, y2 = box
    inverse = cv2.invertAffineTransform(matrix)
    shifted = inverse.copy()
    shifted[0, 2] -= x1
    shifted[1, 2] -= y1
    return cv2.warpAffine(
        np.ascontiguousarray(crop), shifted, (x2 - x1, y2 - y1), flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT if border == 0 else cv2.BORDER_REPLICATE, borderValue=0,
    )  # fmt: skip


def crop_footprint(matrix: np.ndarray, size: int, shape_hw: tuple[int, int]) -> tuple[int, ...]:
    """The frame box ``(x1, y1, x2, y2)`` the ``size`` crop covers, clipped to the frame."""
    inverse = cv2.invertAffineTransform(matrix)
    corners = np.array([[0, 0], [size, 0], [0, size], [size, size]], np.float64)
    mapped = corners @ inverse[:, :2].T + inverse[:, 2]
    height, width = shape_hw
    x1, y1 = np.floor(mapped.min(axis=0)).astype(int)
    x2, y2 = np.ceil(mapped.max(axis=0)).astype(int)
    return max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)


def crop_edge_weights(size: int, margin: float = 0.06) -> np.ndarray:
    """Float32 weights over a ``size`` crop: 1 inside, fading to 0 over ``margin`` of the
    side at the edges (so the crop's border never shows after pasting back)."""
    ramp = np.clip(np.minimum(np.arange(size), np.arange(size)[::-1]) / (margin * size), 0, 1)
    ramp = (ramp * ramp * (3 - 2 * ramp)).astype(np.float32)
    return np.outer(ramp, ramp)


class FaceTrack:
    """What the restorer remembers of one face between frames."""

    def __init__(self, matrix: np.ndarray) -> None:
        self.matrix = matrix
        self.age = 0
        #: The restorer's last (smoothed) change to the aligned crop, float32.
        self.change: np.ndarray | None = None
        #: The aligned crop that change was made for, float32.
        self.crop: np.ndarray | None = None


class AlignmentSmoother:
    """Smooths alignments over time per face (an exponential moving average of the matrix),
    so landmark jitter on a still head does not make the restored face shimmer.

    A change smaller than :attr:`hold` of the crop side (measured as how far the face's
    points move in the crop) keeps the previous alignment exactly: a still head gets a still
    crop. Each call is matched to the nearest remembered face track (translation within a
    fifth of the crop, scale within 10%); a jump beyond that (a cut, another face) starts a
    new track. Tracks not seen for :attr:`max_age` calls are forgotten.
    """

    max_age = 8
    hold = 0.01

    def __init__(self, weight: float, size: int) -> None:
        self.weight = float(weight)
        self.size = size
        self._tracks: list[FaceTrack] = []

    def __call__(self, matrix: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, FaceTrack]:
        """The smoothed ``matrix`` (fitted to the frame ``points``) and its face track."""
        for track in self._tracks:
            track.age += 1
        track = self._nearest(matrix)
        if track is None:
            track = FaceTrack(matrix)
            self._tracks.append(track)
        else:
            track.age = 0
            if self.weight > 0 and _moved(track.matrix, matrix, points) < self.hold * self.size:
                return track.matrix, track
            track.matrix = self.weight * track.matrix + (1.0 - self.weight) * matrix
        self._tracks = [t for t in self._tracks if t.age <= self.max_age]
        return track.matrix, track

    def _nearest(self, matrix: np.ndarray) -> FaceTrack | None:
        scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
        best, best_distance = None, 0.2 * self.size
        for track in self._tracks:
            distance = float(np.abs(track.matrix[:, 2] - matrix[:, 2]).max())
            other = float(np.sqrt(abs(np.linalg.det(track.matrix[:, :2]))))
            if distance < best_distance and abs(other - scale) < 0.1 * scale:
                best, best_distance = track, distance
        return best


def _moved(old: np.ndarray, new: np.ndarray, points: np.ndarray) -> float:
    """The largest distance, in crop pixels, between ``points`` mapped by either matrix."""
    homogeneous = np.hstack([np.asarray(points, np.float64), np.ones((len(points), 1))])
    return float(np.linalg.norm(homogeneous @ (new - old).T, axis=1).max())
