"""Invisible spread-spectrum watermark in the redrawn lower face.

The mark is a smooth pseudo-random luma pattern defined in *face coordinates* (origin at the
bottom of the nose, x along the eye line, unit = the distance between the eyes), so it
scales, shifts and rolls with the face and survives resizing. It is added, weighted by the
lower-face mask the blender redraws (minus the lips), in small blobs (:func:`support`) with
an RMS of about :data:`AMPLITUDE` grey levels over the masked face. The blobs leave room for
only a few independent patterns, so the bits of the code word
(:mod:`lipdub.provenance.payload`) are spread over time: each frame carries
:data:`SLOTS` of them, one per *slot* pattern, added with sign +1 or -1, after a fixed
schedule (:func:`slot_bits`: one bit per slot of the time code's period) indexed by the
frame's position in the time code, so the detector finds the schedule again with the
code's offset. The whole mark also flips sign in
time after a fixed +-1 *time code* (an m-sequence of :data:`SEGMENT`-frame chips), so the
picture itself, which hardly changes from frame to frame in face coordinates, cancels out of
the correlation.

Detection is blind (no original needed): the face is found again, the luma's local detail
(the frame minus its blur, weighted by its inverse local variance) is resampled into face
coordinates and correlated with every pattern, frame by frame
(:mod:`lipdub.provenance.detect` sums them over the time code at every phase, so any
excerpt of enough frames works).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from lipdub.blenders.masks import lower_face_mask
from lipdub.faces.regions import FaceRegions
from lipdub.provenance.payload import CODE_BITS

#: Face-coordinate window of the pattern canvas: across (u) and down (v), in eye distances.
U_RANGE = (-1.25, 1.25)
V_RANGE = (-0.35, 1.45)
#: Canvas size (rows, columns) over that window.
CANVAS = (72, 100)
#: Patterns (code bits) each frame carries; the ``CODE_BITS`` bits take turns in them.
SLOTS = 4
#: Seed of the pattern set and time code (fixed: it is what makes a mark lipdub's).
SEED = 0x11D0B
#: Correlation length of the patterns, in canvas pixels.
PATTERN_SIGMA = 2.2
#: Share of the canvas the mark covers (see :func:`support`) and the size of its blobs.
SUPPORT = 0.1
BLOB_SIGMA = 3.0
#: RMS amplitude of the mark over the masked face, in grey levels, and its largest change.
AMPLITUDE = 3.0
PEAK = 24.0
#: Blur (in eye distances) whose difference with the frame is the detail detection reads.
DETAIL_SIGMA = 3 * PATTERN_SIGMA * (U_RANGE[1] - U_RANGE[0]) / CANVAS[1]
#: Frames per chip of the time code.
SEGMENT = 1


def m_sequence(length: int = 5, taps: tuple[int, ...] = (5, 3)) -> np.ndarray:
    """The maximal-length +-1 sequence of the Fibonacci LFSR with ``taps`` (period
    ``2**length - 1``; every cyclic shift correlates with it to -1/period)."""
    state = [1] * length
    out = []
    for _ in range(2**length - 1):
        out.append(state[-1])
        bit = 0
        for tap in taps:
            bit ^= state[tap - 1]
        state = [bit, *state[:-1]]
    return np.where(np.array(out) > 0, 1.0, -1.0).astype(np.float32)


#: The +-1 chips of the time code; chip ``n`` covers frames ``n*SEGMENT`` to ``(n+1)*SEGMENT-1``.
TIME_CODE = m_sequence()
#: Frames after which the time code repeats.
PERIOD = SEGMENT * len(TIME_CODE)


def chips(indices: np.ndarray, phase: int = 0) -> np.ndarray:
    """The time-code sign of each frame index (shifted by ``phase`` frames)."""
    return TIME_CODE[((np.asarray(indices) + phase) // SEGMENT) % len(TIME_CODE)]


def slot_bits(indices: np.ndarray, phase: int = 0) -> np.ndarray:
    """Which code bit each slot of each frame index carries (shifted by ``phase`` frames),
    ``(frames, SLOTS)`` int: the bits in turn, ``SLOTS`` per chip of the time code, starting
    again every :data:`PERIOD` frames (so the offset that aligns the code aligns these too)."""
    chip = ((np.asarray(indices, np.int64).reshape(-1) + phase) // SEGMENT) % len(TIME_CODE)
    return (chip[:, None] * SLOTS + np.arange(SLOTS)) % CODE_BITS


#: Where a frontal face's mark goes in face coordinates (eye distances): the lower face, an
#: ellipse (centre, radii) cut off above ``BAND_TOP``, minus the lips and their margin.
FACE_ELLIPSE = ((0.05, 0.1), (0.95, 0.95))
LIPS_ELLIPSE = ((0.05, 0.15), (0.64, 0.55))
BAND_TOP = 0.1


@functools.cache
def typical_mask() -> np.ndarray:
    """:func:`canvas_mask` of a typical frontal face (float32 ``[0, 1]``), the band under
    and beside the lips: where the patterns are placed and made orthogonal, so that they
    stay independent where the mark really goes."""
    rows, cols = CANVAS
    u = U_RANGE[0] + (np.arange(cols) + 0.5) * np.ptp(U_RANGE) / cols
    v = V_RANGE[0] + (np.arange(rows) + 0.5) * np.ptp(V_RANGE) / rows
    uu, vv = np.meshgrid(u, v)

    def inside(ellipse: tuple[tuple[float, float], tuple[float, float]]) -> np.ndarray:
        (cu, cv), (ru, rv) = ellipse
        return ((uu - cu) / ru) ** 2 + ((vv - cv) / rv) ** 2 <= 1.0

    band = inside(FACE_ELLIPSE) & ~inside(LIPS_ELLIPSE) & (vv >= BAND_TOP)
    mask = cv2.GaussianBlur(band.astype(np.float32), (0, 0), 1.5)
    mask.setflags(write=False)
    return mask


@functools.cache
def support() -> np.ndarray:
    """Where on the canvas the mark may be (float32 ``[0, 1]``): smooth blobs covering
    :data:`SUPPORT` of the typical mask's band. Concentrating the same energy in fewer
    places gives a stronger mark there, which survives re-encoding far better (small
    changes fall in the encoder's dead zone and vanish), and the detector reads no noise
    from the places in between."""
    band = typical_mask()
    if SUPPORT >= 1.0:
        return band.copy()
    rng = np.random.default_rng(SEED + 1)
    field = cv2.GaussianBlur(rng.standard_normal(CANVAS).astype(np.float32), (0, 0), BLOB_SIGMA)
    level = float(np.quantile(field[band > 0.5], 1.0 - SUPPORT))
    return np.clip((field - level) / (0.25 * float(field.std())), 0.0, 1.0) * band


@functools.cache
def patterns() -> np.ndarray:
    """``(SLOTS, rows, cols)`` float32 patterns: band-limited noise on :func:`support`,
    orthonormalised over the typical mask (each has unit RMS there and no pattern leaks
    into another's correlation on a typical face)."""
    rng = np.random.default_rng(SEED)
    count = SLOTS
    noise = rng.standard_normal((count, *CANVAS)).astype(np.float32)
    bands = np.empty_like(noise)
    for k in range(count):
        low = cv2.GaussianBlur(noise[k], (0, 0), PATTERN_SIGMA)
        bands[k] = low - cv2.GaussianBlur(low, (0, 0), 3 * PATTERN_SIGMA)
    bands *= support()
    weight = np.sqrt(typical_mask()).reshape(-1, 1).astype(np.float64)
    flat, _ = np.linalg.qr(bands.reshape(count, -1).T.astype(np.float64) * weight)
    flat /= np.maximum(weight, 1e-3)
    bank = (flat.T * np.sqrt(flat.shape[0])).reshape(count, *CANVAS)
    bank = (bank * support()).astype(np.float32)
    bank.setflags(write=False)
    return bank


def face_frame(regions: FaceRegions) -> np.ndarray | None:
    """The 2x3 affine map from canvas pixels ``(col, row)`` to frame pixels for a face;
    None when the eyes are missing or too close together."""
    left, right = regions.eyes.astype(np.float64)
    across = right - left
    scale = float(np.linalg.norm(across))
    if not np.isfinite(scale) or scale < 4.0:
        return None
    across /= scale
    down = np.array([-across[1], across[0]])
    origin = regions.nose_base.astype(np.float64)
    du = (U_RANGE[1] - U_RANGE[0]) / CANVAS[1]
    dv = (V_RANGE[1] - V_RANGE[0]) / CANVAS[0]
    start = origin + scale * (U_RANGE[0] * across + V_RANGE[0] * down)
    return np.column_stack([scale * du * across, scale * dv * down, start])


#: Margin kept free around the lips (eye distances): they move, and the picture with them.
LIP_MARGIN = 0.1


def canvas_mask(regions: FaceRegions, matrix: np.ndarray) -> np.ndarray:
    """Where the mark goes, on the canvas: the blender's lower-face mask (no dilation) minus
    the lips and a soft margin around them (moving lips would swamp the correlation).

    Drawn at half the canvas resolution and scaled up (the mask is smooth; 4x cheaper)."""
    inverse = cv2.invertAffineTransform(matrix)
    half = (CANVAS[0] // 2, CANVAS[1] // 2)
    to_half = inverse * 0.5
    local = regions.map(lambda p: (p @ to_half[:, :2].T + to_half[:, 2]).astype(np.float32))
    mask = lower_face_mask(local, half)
    lips = np.zeros(half, np.uint8)
    cv2.fillPoly(lips, [np.round(local.lips_outer * 4).astype(np.int32)], 1, cv2.LINE_8, 2)
    grow = 2 * int(round(LIP_MARGIN * half[1] / np.ptp(U_RANGE))) + 1
    lips = cv2.dilate(lips, np.ones((grow, grow), np.uint8)).astype(np.float32)
    mask *= 1.0 - cv2.GaussianBlur(lips, (0, 0), 1.0)
    return cv2.resize(mask, (CANVAS[1], CANVAS[0]), interpolation=cv2.INTER_LINEAR)


def _roi(matrix: np.ndarray, height: int, width: int) -> tuple[int, int, int, int] | None:
    """The frame rectangle the canvas covers, clipped to the frame."""
    rows, cols = CANVAS
    corners = np.array([[0, 0, 1], [cols, 0, 1], [0, rows, 1], [cols, rows, 1]], np.float64)
    points = corners @ matrix.T
    x1, y1 = np.floor(points.min(axis=0)).astype(int)
    x2, y2 = np.ceil(points.max(axis=0)).astype(int) + 1
    x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)
    if x2 - x1 < 4 or y2 - y1 < 4:
        return None
    return x1, y1, x2, y2


def code_signs(bits: np.ndarray) -> np.ndarray:
    """``+1`` for a 1 bit, ``-1`` for a 0 bit (float32)."""
    return np.where(np.asarray(bits, bool), 1.0, -1.0).astype(np.float32)


class Embedder:
    """Adds the mark carrying ``code`` (a code word of ``CODE_BITS`` bits) to frames."""

    def __init__(self, code: np.ndarray, amplitude: float = AMPLITUDE) -> None:
        if len(code) != CODE_BITS:
            raise ValueError(f"a mark carries {CODE_BITS} code bits, got {len(code)}")
        signs = code_signs(code)[slot_bits(np.arange(PERIOD))] * chips(np.arange(PERIOD))[:, None]
        #: The signed pattern of each position in the time code, ``(PERIOD, rows, cols)``.
        self.canvases = np.tensordot(signs, patterns(), axes=1).astype(np.float32)
        self.amplitude = float(amplitude)

    def _scaled(self, mask: np.ndarray, index: int) -> np.ndarray:
        """Frame ``index``'s pattern under ``mask``, scaled to an RMS of ``amplitude`` over
        the masked face (where the mask is over 1/2), its peaks kept within :data:`PEAK`."""
        pattern = self.canvases[index % PERIOD] * mask
        inside = mask > 0.5
        rms = float(np.sqrt(np.mean(pattern[inside] ** 2))) if inside.any() else 0.0
        peak = float(np.max(np.abs(pattern)))
        if rms <= 1e-9 or peak <= 1e-9:
            return np.zeros_like(pattern)
        return pattern * min(self.amplitude / rms, PEAK / peak)

    def embed(self, frame: np.ndarray, regions: FaceRegions | None, index: int) -> np.ndarray:
        """``frame`` (RGB uint8; changed in place when writable) with the mark added to the
        lower face of ``regions`` as frame ``index`` of the dub; unchanged without a face."""
        placed = face_placement(regions, frame.shape[:2])
        if placed is None:
            return frame
        matrix, (x1, y1, x2, y2) = placed
        pattern = self._scaled(canvas_mask(regions, matrix), index)
        shifted = matrix.copy()
        shifted[:, 2] -= (x1, y1)
        delta = cv2.warpAffine(pattern, shifted, (x2 - x1, y2 - y1), flags=cv2.INTER_LINEAR)
        if not frame.flags.writeable:
            frame = frame.copy()
        region = frame[y1:y2, x1:x2]
        mixed = region.astype(np.float32) + delta[..., None]
        region[...] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
        return frame


def face_placement(
    regions: FaceRegions | None, shape_hw: tuple[int, int]
) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
    """The face's canvas-to-frame matrix and the frame area the mark covers; None without a
    usable face (shared by embedding and detection, so both see the same place)."""
    if regions is None or not regions.is_finite():
        return None
    matrix = face_frame(regions)
    if matrix is None:
        return None
    roi = _roi(matrix, *shape_hw)
    return None if roi is None else (matrix, roi)


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma of RGB pixels, float32."""
    values = rgb.astype(np.float32)
    return 0.299 * values[..., 0] + 0.587 * values[..., 1] + 0.114 * values[..., 2]


@dataclass
class FrameCorrelation:
    """One frame's correlations with every pattern, and how much each pair of patterns
    overlaps there (under the face mask and the detector's weights: the patterns are not
    independent on a face, so a bit's correlation also picks up its neighbours')."""

    values: np.ndarray
    overlap: np.ndarray


def correlate(frame: np.ndarray, regions: FaceRegions | None) -> FrameCorrelation | None:
    """One frame's correlation with every slot pattern (``SLOTS`` values, not yet multiplied
    by the time code); None when the frame has no usable face."""
    placed = face_placement(regions, frame.shape[:2])
    if placed is None:
        return None
    matrix, (x1, y1, x2, y2) = placed
    y = luma(frame[y1:y2, x1:x2])
    eye_distance = float(np.hypot(matrix[0, 0], matrix[1, 0])) * CANVAS[1] / np.ptp(U_RANGE)
    sigma = max(DETAIL_SIGMA * eye_distance, 1.0)
    detail = y - cv2.GaussianBlur(y, (0, 0), sigma)
    weight = 1.0 / (cv2.GaussianBlur(detail * detail, (0, 0), 2 * sigma) + 1.0)
    shifted = matrix.copy()
    shifted[:, 2] -= (x1, y1)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    size = (CANVAS[1], CANVAS[0])
    mask = canvas_mask(regions, matrix)
    sampled = cv2.warpAffine(detail * weight, shifted, size, flags=flags) * mask
    reach = cv2.warpAffine(weight, shifted, size, flags=flags) * mask * mask
    bank = patterns()
    values = bank.reshape(len(bank), -1) @ sampled.reshape(-1)
    # The patterns are smooth: their overlap is summed over every other canvas pixel.
    coarse = np.ascontiguousarray(bank[:, ::2, ::2]).reshape(len(bank), -1)
    overlap = 4.0 * (coarse * reach[::2, ::2].reshape(1, -1)) @ coarse.T
    return FrameCorrelation(values, overlap)
