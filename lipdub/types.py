"""Small data types passed between the pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lipdub.faces.regions import FaceRegions

#: A pixel rectangle ``(x1, y1, x2, y2)``; ``x2``/``y2`` are exclusive.
Box = tuple[int, int, int, int]


@dataclass
class Face:
    """One face in one frame, in frame pixel coordinates.

    ``box`` is the tracked (smoothed) face box. ``regions`` are the named face regions (oval,
    jaw, lips, nose, eyes: see :mod:`lipdub.faces.regions`) that every consumer uses; the
    tracker fills them from its own landmarks, ``None`` when it found no landmarks.
    ``landmarks`` are the tracker's raw points as ``(N, 2)`` float32 ``(x, y)`` in its own
    layout (468 for the mediapipe mesh, 68 for iBUG, ...), for tracker-specific uses only.
    ``detector_box`` is the raw box of a detector whose boxes a generator was trained on
    (S3FD for Wav2Lip), when the tracker has one: ``wav2lip_box`` then pads it exactly.
    """

    box: tuple[float, float, float, float]
    landmarks: np.ndarray | None = None
    score: float = 1.0
    regions: FaceRegions | None = None
    detector_box: tuple[float, float, float, float] | None = None

    def int_box(self, width: int, height: int) -> Box:
        """The box rounded to integers and clipped to a ``width`` x ``height`` frame."""
        x1, y1, x2, y2 = self.box
        ix1 = int(np.clip(round(x1), 0, width - 1))
        iy1 = int(np.clip(round(y1), 0, height - 1))
        ix2 = int(np.clip(round(x2), ix1 + 1, width))
        iy2 = int(np.clip(round(y2), iy1 + 1, height))
        return ix1, iy1, ix2, iy2

    @property
    def area(self) -> float:
        x1, y1, x2, y2 = self.box
        return max(0.0, x2 - x1) * max(0.0, y2 - y1)


@dataclass
class Patch:
    """A generated image to be put back into a frame at ``box`` (RGB uint8, box-sized).

    ``match_color`` tells blenders whether to colour-match the patch to the frame; generators
    that keep the source's own pixels (such as ``warp``) set it to False. A generator that
    could not redraw the face sets ``redrawn`` to False and says why in ``note`` (e.g. "face
    too small"): the frame is then left as it is and not counted as dubbed.
    """

    image: np.ndarray
    box: Box
    match_color: bool = True
    redrawn: bool = True
    note: str | None = None


@dataclass
class GeneratorInput:
    """Everything a generator needs to redraw the mouth of one face in one output frame.

    ``frame`` is the full source frame (RGB uint8, read-only), ``audio`` the window of audio
    features for this output frame as ``(window_frames, dim)`` float32, ``index`` the output
    frame number and ``source_index`` the source frame it shows. ``lane`` numbers the face
    being redrawn among the dub's faces (more than one with ``--audio-for``).
    """

    frame: np.ndarray
    face: Face
    audio: np.ndarray
    index: int
    source_index: int
    shot: int = 0
    lane: int = 0
