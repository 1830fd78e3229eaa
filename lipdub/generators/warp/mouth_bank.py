"""Real mouth interiors for the warp generator, taken from frames of the same shot.

At the start of a shot the bank picks, from the tracked face regions of all its frames, a few
frames whose mouths are open, spread over the range of openings and widths seen. As those
frames stream past, their mouth interiors are stored in a canonical frame: face axes, one
scale per face height, anchored at the middle of the upper inner lip (the upper teeth move
with the head, not the jaw). For an output mouth the entry whose opening and width best match
is mapped onto the target mouth (same anchor, scaled by the mouth widths) and used instead of
the painted interior where it is valid; below it, a larger target opening keeps the painted
cavity. Shots without an open-mouth frame (or before one has streamed past) keep the painted
interior.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from lipdub.faces.regions import FaceRegions
from lipdub.generators.warp.shape import SPOKES, UPPER, FaceAxes
from lipdub.types import Face

#: Mouths at least this open (inner-lip gap over face height) can lend their interior.
MIN_OPENING = 0.03
#: Frames kept per shot.
MAX_ENTRIES = 12
#: Canonical canvas: pixels per face height, and the extent around the anchor (face heights).
SCALE = 200.0
LEFT, RIGHT, TOP, BOTTOM = -0.25, 0.25, -0.04, 0.26
#: An entry is of the same face when its mouth was this many face heights from the target's,
#: and the face heights differ by less than this share.
SAME_FACE_REACH = 0.75
SAME_FACE_SIZE = 0.3
#: Width ratios (target / entry) beyond these are clipped.
MAX_SCALE_CHANGE = 1.3


@dataclass(frozen=True)
class MouthShape:
    """Inner-lip opening and width over the face height."""

    opening: float
    width: float

    def distance(self, other: MouthShape) -> float:
        return abs(self.opening - other.opening) + 0.5 * abs(self.width - other.width)


@dataclass(frozen=True)
class MouthEntry:
    """One real mouth interior on the canonical canvas, with its inner-lip polygon there."""

    image: np.ndarray
    polygon: np.ndarray
    shape: MouthShape
    #: Where the mouth was in its frame (anchor, pixels) and the face height there.
    anchor: np.ndarray
    face_height: float


def mouth_anchor(inner: np.ndarray) -> np.ndarray:
    """The middle of the upper inner lip (the upper-lip spokes' mean), frame pixels."""
    return np.asarray(inner, np.float64)[UPPER[len(UPPER) // 2 - 1 : len(UPPER) // 2 + 2]].mean(0)


def shape_of(inner: np.ndarray, axes: FaceAxes) -> MouthShape:
    """The :class:`MouthShape` of an inner-lip loop (frame pixels) in a face's axes."""
    coords = axes.to_face(inner)
    half = SPOKES // 2
    width = abs(coords[half, 0] - coords[0, 0]) / axes.height
    lower = coords[1:half, 1].max()
    upper = coords[half + 1 :, 1].min()
    return MouthShape(max(float(lower - upper) / axes.height, 0.0), float(width))


def _canvas_size() -> tuple[int, int]:
    return int(round((RIGHT - LEFT) * SCALE)), int(round((BOTTOM - TOP) * SCALE))


def _canvas_to_frame(axes: FaceAxes, anchor: np.ndarray, scale: float) -> np.ndarray:
    """``2x3`` affine from canvas pixels to frame pixels for a face (``scale``: canvas pixels
    per frame pixel)."""
    # canvas (cx, cy) -> face units (u, v) = (cx / S + LEFT, cy / S + TOP) heights
    # frame = anchor + (u * x + v * y) * height_px
    step = 1.0 / scale
    x, y = axes.x * step, axes.y * step
    origin = anchor + (LEFT * axes.x + TOP * axes.y) * SCALE * step
    return np.float32([[x[0], y[0], origin[0]], [x[1], y[1], origin[1]]])


def capture(frame: np.ndarray, regions: FaceRegions) -> MouthEntry:
    """The mouth of ``regions`` in ``frame`` on the canonical canvas."""
    axes = FaceAxes.from_regions(regions)
    inner = regions.lips_inner.astype(np.float64)
    to_frame = _canvas_to_frame(axes, mouth_anchor(inner), SCALE / axes.height)
    width, height = _canvas_size()
    image = cv2.warpAffine(
        frame,
        to_frame,
        (width, height),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    to_canvas = cv2.invertAffineTransform(to_frame)
    polygon = inner @ to_canvas[:, :2].T + to_canvas[:, 2]
    anchor = mouth_anchor(inner)
    return MouthEntry(image, polygon.astype(np.float32), shape_of(inner, axes), anchor, axes.height)


class MouthBank:
    """Real open mouths of the current shot (see the module docstring)."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._wanted: Counter[tuple[float, ...]] = Counter()
        self.entries: list[MouthEntry] = []

    def begin_shot(self, faces: Sequence[Face | None]) -> None:
        """Forget the last shot; choose which of this shot's frames to keep (known by their
        face box: the faces of a long shot are made afresh each time they are read)."""
        self.entries = []
        self._wanted = Counter()
        shapes = array("d")  # opening, width, frame: a long shot's faces are not all kept
        for frame, face in enumerate(faces):
            if face is None or face.regions is None or not face.regions.is_finite():
                continue
            regions = face.regions
            shape = shape_of(regions.lips_inner, FaceAxes.from_regions(regions))
            if shape.opening >= MIN_OPENING:
                shapes.extend((shape.opening, shape.width, frame))
        if not shapes:
            return
        openings, widths, frames = np.frombuffer(shapes).reshape(-1, 3).T
        order = np.lexsort((widths, openings))
        picks = np.unique(np.linspace(0, len(order) - 1, self.max_entries).round().astype(int))
        chosen = [faces[int(frames[order[k]])] for k in picks]
        self._wanted = Counter(tuple(face.box) for face in chosen if face is not None)

    def observe(self, frame: np.ndarray, face: Face) -> None:
        """Store ``face``'s mouth when it is one of the chosen frames."""
        if self._wanted[face.box] > 0 and face.regions is not None:
            self.entries.append(capture(frame, face.regions))
            self._wanted[face.box] -= 1

    def best(self, target: MouthShape, anchor: np.ndarray, face_height: float) -> MouthEntry | None:
        """The stored entry closest to ``target`` from the same face (a mouth near ``anchor``,
        frame pixels, of a similar size: other faces of the shot are not used), or None."""
        same_face = [
            entry
            for entry in self.entries
            if np.linalg.norm(entry.anchor - anchor) < SAME_FACE_REACH * face_height
            and abs(entry.face_height / face_height - 1.0) < SAME_FACE_SIZE
        ]
        if not same_face:
            return None
        return min(same_face, key=lambda entry: entry.shape.distance(target))


def place(
    entry: MouthEntry,
    axes: FaceAxes,
    inner: np.ndarray,
    corner: np.ndarray,
    shape_hw: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """``entry`` mapped onto the target inner-lip loop ``inner`` (frame pixels) over a window
    whose top-left pixel is at frame position ``corner``: the image (float32 RGB) and the
    polygon of the entry's own opening there (window pixels)."""
    target = shape_of(inner, axes)
    ratio = target.width / max(entry.shape.width, 1e-6)
    ratio = float(np.clip(ratio, 1.0 / MAX_SCALE_CHANGE, MAX_SCALE_CHANGE))
    to_frame = _canvas_to_frame(axes, mouth_anchor(inner), SCALE / (axes.height * ratio))
    to_frame[:, 2] -= corner
    height, width = shape_hw
    image = cv2.warpAffine(
        entry.image,
        cv2.invertAffineTransform(to_frame),
        (width, height),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    ).astype(np.float32)
    polygon = entry.polygon.astype(np.float64) @ to_frame[:, :2].T + to_frame[:, 2]
    return image, polygon.astype(np.float32)
