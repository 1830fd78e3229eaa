"""Silence closure: in pauses of a face's driving audio the mouth is drawn closed, whatever
the generator.

Voice activity (:mod:`lipdub.audio.vad`) of each lane's driving audio gives per 10 ms a
closure weight: 1 inside every pause of at least ``min_pause_ms``, easing in over the end of
the sound before it and out just before the next sound (the lips part before speech starts).
After generation, a patch is blended by that weight toward a closed-mouth rendering of the
same source frame (the weight-free warp with the mouth closed), so a generator whose mouth
keeps moving in silence still shows closed lips there. The same blend scales lip movement
for generators that cannot do it themselves (``wav2lip``'s ``strength``).

Options (every generator's ``Options``): ``silence_closure`` (on by default;
``--no-silence-closure`` turns it off), ``min_pause_ms`` (200) and ``vad``
(``auto``/``silero``/``energy``/``both``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lipdub.audio.vad import FRAMES_PER_SECOND, pauses
from lipdub.faces.regions import LAYOUT, LIP_CORNER, FaceRegions
from lipdub.types import Box, Face, GeneratorInput, Patch

#: Default shortest pause that closes the mouth, milliseconds.
MIN_PAUSE_MS = 200.0
#: The lips close over this long before a pause starts (the end of the last sound), seconds.
CLOSING_S = 0.06
#: The lips part this long before the next sound, seconds.
OPENING_S = 0.02
#: Closing an open source mouth squeezes this share of the face height more than the tracked
#: gap (mouths at least ``SEAM_MIN_OPENING`` open).
SEAM_SHARE = 0.01
#: ... plus this share of the tracked gap (the contour of a wide-open mouth lies inside it).
SEAM_GAP_SHARE = 0.4
SEAM_MIN_OPENING = 0.02
#: Weights below this leave the patch as generated.
NEGLIGIBLE = 1e-3


def _ease(t: np.ndarray) -> np.ndarray:
    """Raised-cosine ease from 0 (t <= 0) to 1 (t >= 1)."""
    t = np.clip(t, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * t)


def closure_weights(
    probability: np.ndarray,
    min_pause_ms: float = MIN_PAUSE_MS,
    closing_s: float = CLOSING_S,
    opening_s: float = OPENING_S,
) -> np.ndarray:
    """Per 10 ms row of a speech probability, how closed the mouth must be, in ``[0, 1]``
    (float32): 1 in pauses of at least ``min_pause_ms``, with smooth ramps around them."""
    count = len(probability)
    weights = np.zeros(count, np.float32)
    closing = max(closing_s * FRAMES_PER_SECOND, 1e-6)
    opening = max(opening_s * FRAMES_PER_SECOND, 1e-6)
    for start, end in pauses(probability, min_pause_ms / 1000.0):
        # Full closure from ``start`` until ``opening`` before ``end`` (not at the file's end),
        # on the rows from the closing ramp's start to the pause's end (0 elsewhere).
        first = max(0, int(np.ceil(start - closing)))
        rows = np.arange(first, end, dtype=np.float64)
        rise = _ease((rows - (start - closing)) / closing) if start > 0 else np.ones(len(rows))
        fall = _ease((end - rows) / opening) if end < count else np.ones(len(rows))
        np.maximum(weights[first:end], np.minimum(rise, fall), out=weights[first:end])
    return weights


def weight_at(weights: np.ndarray | None, index: int, fps: float) -> float:
    """The closure weight of output frame ``index`` (sampled at the frame's middle)."""
    if weights is None or len(weights) == 0 or fps <= 0:
        return 0.0
    row = int(round((index + 0.5) / fps * FRAMES_PER_SECOND))
    return float(weights[min(max(row, 0), len(weights) - 1)])


def _overclosed(regions: FaceRegions) -> FaceRegions:
    """``regions`` with an open mouth's lower inner lip placed a little lower than tracked,
    so that closing it squeezes away the dark seam the landmark contour leaves."""
    if not regions.is_finite() or regions.mouth_opening < SEAM_MIN_OPENING:
        return regions
    eyes = regions.eyes.astype(np.float64)
    across = (eyes[1] - eyes[0]) / max(float(np.linalg.norm(eyes[1] - eyes[0])), 1e-6)
    down = np.array([-across[1], across[0]])
    points = regions.points.copy()
    lower = LAYOUT["lips_inner"].start + np.arange(1, LIP_CORNER)
    extra = (
        SEAM_SHARE * regions.face_height
        + SEAM_GAP_SHARE * regions.mouth_opening * regions.face_height
    )
    points[lower] += (extra * down).astype(np.float32)
    return FaceRegions(points)


def closed_patch(frame: np.ndarray, face: Face) -> Patch | None:
    """The source ``frame`` around ``face``'s mouth with the lips drawn closed, or None when the
    face has no usable regions."""
    from lipdub.generators.warp.generator import render_mouth
    from lipdub.generators.warp.shape import MouthPose

    if face.regions is None:
        return None
    patch = render_mouth(frame, _overclosed(face.regions), MouthPose(), teeth=False)
    return patch if patch.redrawn else None


def _union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def blend_toward_closed(frame: np.ndarray, face: Face, patch: Patch, amount: float) -> Patch:
    """``patch`` moved by ``amount`` (0: as it is, 1: fully) toward the closed-mouth source.

    The result covers the union of the patch's box and the closed rendering's; outside the
    closed mouth the target is the source frame itself.
    """
    amount = float(np.clip(amount, 0.0, 1.0))
    if amount <= NEGLIGIBLE:
        return patch
    closed = closed_patch(frame, face)
    if closed is None:
        return patch
    box = _union(patch.box, closed.box)
    x1, y1, x2, y2 = box
    target = frame[y1:y2, x1:x2].astype(np.float32)
    current = target.copy()
    px1, py1, px2, py2 = patch.box
    current[py1 - y1 : py2 - y1, px1 - x1 : px2 - x1] = patch.image
    cx1, cy1, cx2, cy2 = closed.box
    target[cy1 - y1 : cy2 - y1, cx1 - x1 : cx2 - x1] = closed.image
    mixed = current + amount * (target - current)
    image = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
    return Patch(image, box, patch.match_color, patch.redrawn, patch.note)


def settings_of(generator: Any) -> tuple[bool, float]:
    """``(enabled, min_pause_ms)`` from a generator's options (defaults for plugins whose
    ``Options`` do not derive from the base generator's)."""
    options = getattr(generator, "options", None)
    enabled = bool(getattr(options, "silence_closure", True))
    return enabled, float(getattr(options, "min_pause_ms", MIN_PAUSE_MS))


def vad_of(generator: Any) -> str | None:
    """The VAD method a dub with ``generator`` runs on its driving audio; None when silence
    closure is off (no VAD is run)."""
    enabled, _ = settings_of(generator)
    return str(getattr(getattr(generator, "options", None), "vad", "auto")) if enabled else None


def close_in_pauses(
    generator: Any, lanes: Sequence[Any], item: GeneratorInput, patch: Patch
) -> Patch:
    """The dub's hook between generation and blending: ``patch`` (for ``item``) drawn closed by
    the closure weight of the lane that drives ``item``'s face at ``item``'s frame."""
    enabled, min_pause_ms = settings_of(generator)
    if not enabled or not patch.redrawn:
        return patch
    if not 0 <= item.lane < len(lanes):
        return patch
    lane = lanes[item.lane]
    weights = lane.closure_weights(min_pause_ms)
    amount = weight_at(weights, item.index, lane.fps)
    return blend_toward_closed(item.frame, item.face, patch, amount)
