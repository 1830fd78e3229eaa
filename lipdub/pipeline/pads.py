"""``--pads`` checks: boxes that padding emptied, and generators that do not use the box."""

from __future__ import annotations

from collections.abc import Sequence

from lipdub import defaults
from lipdub.errors import InputError
from lipdub.types import Face

#: Narrowest face box (pixels) a generator can be given.
MIN_BOX_PX = 1.0


def check_padded_boxes(faces: Sequence[Face | None], pads: tuple[int, int, int, int]) -> None:
    """InputError when negative ``pads`` left a face without a box (nothing could be
    redrawn there, yet the dub would say it was)."""
    if min(pads) >= 0:
        return
    for index, face in enumerate(faces):
        if face is None:
            continue
        x1, y1, x2, y2 = face.box
        if x2 - x1 < MIN_BOX_PX or y2 - y1 < MIN_BOX_PX:
            given = " ".join(str(p) for p in pads)
            raise InputError(
                f"--pads {given} leave an empty face box (first at frame {index}); "
                "use smaller negative pads"
            )


def pads_note(generator_cls: type, pads: tuple[int, int, int, int]) -> str | None:
    """A note when ``--pads`` was given to a generator that ignores the face box."""
    if tuple(pads) == tuple(defaults.PADS) or getattr(generator_cls, "uses_pads", True):
        return None
    name = getattr(generator_cls, "name", "this generator")
    return f"note: generator {name} ignores --pads (it works from the face landmarks)"
