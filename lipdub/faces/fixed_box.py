"""``fixed-box``: one face at a constant box in every frame (``--box TOP BOTTOM LEFT RIGHT``).

Wav2Lip's last resort when no detector finds the face: the box (pixels; ``-1`` = the frame's
edge) is the face crop in every frame, used as a detector box so that ``--pads`` grow it as
Wav2Lip does. It has no landmarks: the ``mask`` blender blends an ellipse, and generators
that need face regions (``warp``) cannot redraw such faces.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import Field, field_validator

from lipdub.components import FaceTracker
from lipdub.hookspecs import hookimpl
from lipdub.types import Face


class FixedBoxTracker(FaceTracker):
    """The same face box in every frame."""

    name: ClassVar[str] = "fixed-box"
    description: ClassVar[str] = "A constant face box (--box TOP BOTTOM LEFT RIGHT); no landmarks."

    class Options(FaceTracker.Options):
        box: tuple[int, int, int, int] = Field(
            (-1, -1, -1, -1),
            description="TOP BOTTOM LEFT RIGHT in pixels; -1 is the frame's edge.",
        )

        @field_validator("box")
        @classmethod
        def _at_least_minus_one(cls, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
            if any(value < -1 for value in box):
                raise ValueError("values must be pixels (0 or more) or -1 for the frame's edge")
            return box

    def box_in(self, width: int, height: int) -> tuple[float, float, float, float] | None:
        """``(x1, y1, x2, y2)`` inside a ``width`` x ``height`` frame (None: empty there)."""
        top, bottom, left, right = self.options.box
        y1 = 0 if top == -1 else min(top, height)
        y2 = height if bottom == -1 else min(bottom, height)
        x1 = 0 if left == -1 else min(left, width)
        x2 = width if right == -1 else min(right, width)
        if x2 <= x1 or y2 <= y1:
            return None
        return float(x1), float(y1), float(x2), float(y2)

    def detect(self, frame: np.ndarray) -> list[Face]:
        """The configured box as the only face (none when it misses the frame)."""
        box = self.box_in(frame.shape[1], frame.shape[0])
        return [] if box is None else [Face(box=box, score=1.0, detector_box=box)]


@hookimpl
def register_face_trackers(register: Any) -> None:
    """Register the fixed-box tracker."""
    register(FixedBoxTracker)
