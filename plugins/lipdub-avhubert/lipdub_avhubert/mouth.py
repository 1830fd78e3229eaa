"""AV-HuBERT's video input: aligned 88 x 88 grey mouth crops, from lipdub's face regions.

The official pipeline (``align_mouth.py``) maps five stable dlib points (nose tip, the four eye
corners) of landmarks smoothed over 12 frames to a mean face in a 256 x 256 frame with a
similarity transform, crops 96 x 96 around the mean of the mouth points, converts to grey and
centre-crops 88 x 88, then normalises ``(x / 255 - 0.421) / 0.165``. lipdub's regions have eye
centres rather than corners, so the stable points here are the two eye centres (the means of
the mean face's corner pairs 36/39 and 42/45) and the nose tip (point 33); the mouth centre is
the mean of the outer and inner lip contours (points 48-67 in dlib's layout).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

import cv2
import numpy as np
from lipdub.faces.regions import FaceRegions

FACE_SIZE = 256
ROI_SIZE = 96
CROP_SIZE = 88
WINDOW = 12
MEAN, STD = 0.421, 0.165
#: The mean face's image-left eye centre, image-right eye centre and nose tip (256 x 256).
MEAN_FACE_STABLE = np.array([[102.645, 94.655], [156.105, 94.05], [128.87, 137.30]])


def _points(regions: FaceRegions | None) -> tuple[np.ndarray, np.ndarray] | None:
    if regions is None:
        return None
    stable = np.vstack([regions.eyes, regions.nose_tip]).astype(np.float64)
    return stable, np.asarray(regions.lips, dtype=np.float64)


def _interpolate(series: list[np.ndarray | None]) -> np.ndarray | None:
    """Missing frames filled linearly; leading and trailing gaps copy the nearest detection."""
    known = [i for i, value in enumerate(series) if value is not None]
    if not known:
        return None
    stacked = np.stack([series[i] for i in known])  # type: ignore[misc]
    flat = stacked.reshape(len(known), -1)
    filled = np.empty((len(series), flat.shape[1]))
    for column in range(flat.shape[1]):
        filled[:, column] = np.interp(np.arange(len(series)), known, flat[:, column])
    return filled.reshape((len(series),) + stacked.shape[1:])


def similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2 x 3 least-squares similarity transform (rotation, scale, shift) source -> target."""
    src_mean, dst_mean = source.mean(axis=0), target.mean(axis=0)
    src, dst = source - src_mean, target - dst_mean
    covariance = dst.T @ src / len(source)
    u, s, vt = np.linalg.svd(covariance)
    sign = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])
    rotation = u @ sign @ vt
    scale = np.trace(np.diag(s) @ sign) / max(src.var(axis=0).sum(), 1e-12)
    matrix = np.zeros((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


def _crop(image: np.ndarray, centre: np.ndarray) -> np.ndarray:
    half = ROI_SIZE // 2
    height, width = image.shape[:2]
    x = int(round(min(max(centre[0], half), width - half)))
    y = int(round(min(max(centre[1], half), height - half)))
    return image[y - half : y + half, x - half : x + half]


def normalise(grey_rois: np.ndarray) -> np.ndarray:
    """(T, 96, 96) uint8 grey crops -> (T, 88, 88) float32 model input."""
    offset = (ROI_SIZE - CROP_SIZE) // 2
    centre = grey_rois[:, offset : offset + CROP_SIZE, offset : offset + CROP_SIZE]
    return ((centre.astype(np.float32) / 255.0 - MEAN) / STD).astype(np.float32)


def mouth_rois(frames: Iterable[np.ndarray], regions: Sequence[FaceRegions | None]) -> np.ndarray:
    """(T, 88, 88) normalised grey mouth crops of RGB ``frames`` (T = ``len(regions)``; extra
    frames are ignored) with their face ``regions`` (None where no face was found); a video
    without any face gives whole frames resized."""
    count = len(regions)
    frames = itertools.islice(frames, count)
    if not count:
        return np.zeros((0, CROP_SIZE, CROP_SIZE), np.float32)
    found = [_points(r) for r in regions]
    stable = _interpolate([None if f is None else f[0] for f in found])
    lips = _interpolate([None if f is None else f[1] for f in found])
    grey = []
    if stable is None or lips is None:
        for frame in frames:
            small = cv2.resize(frame, (ROI_SIZE, ROI_SIZE), interpolation=cv2.INTER_AREA)
            grey.append(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
        return normalise(np.stack(grey))
    matrix = similarity(stable[: min(WINDOW, count)].mean(axis=0), MEAN_FACE_STABLE)
    for t, frame in enumerate(frames):
        if t + WINDOW <= count or t == 0:  # the official code keeps the last transform at the end
            matrix = similarity(stable[t : t + WINDOW].mean(axis=0), MEAN_FACE_STABLE)
        warped = cv2.warpAffine(
            frame, matrix, (FACE_SIZE, FACE_SIZE), flags=cv2.INTER_LINEAR, borderValue=0
        )
        centre = (lips[t] @ matrix[:, :2].T + matrix[:, 2]).mean(axis=0)
        grey.append(cv2.cvtColor(np.ascontiguousarray(_crop(warped, centre)), cv2.COLOR_RGB2GRAY))
    return normalise(np.stack(grey))
