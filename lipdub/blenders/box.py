"""The original Wav2Lip blender: paste the patch over its box, hard edges and all."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np

from lipdub.components import Blender
from lipdub.errors import PluginError
from lipdub.hookspecs import hookimpl
from lipdub.types import Box, Face, Patch


def clip_patch(frame_hw: tuple[int, int], patch: Patch) -> tuple[Box, np.ndarray] | None:
    """The patch box clipped to the frame with the matching part of the patch image.

    ``None`` when the box lies wholly outside the frame. A :class:`PluginError` says so when
    the image is not the size of its box.
    """
    x1, y1, x2, y2 = patch.box
    image = patch.image
    if image.shape[:2] != (y2 - y1, x2 - x1):
        raise PluginError(
            f"the generator returned a {image.shape[1]}x{image.shape[0]} patch "
            f"for a {x2 - x1}x{y2 - y1} box"
        )
    height, width = frame_hw
    cx1, cy1, cx2, cy2 = max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)
    if cx1 >= cx2 or cy1 >= cy2:
        return None
    return (cx1, cy1, cx2, cy2), image[cy1 - y1 : cy2 - y1, cx1 - x1 : cx2 - x1]


class BoxBlender(Blender):
    """Copies the patch over its box unchanged, as the original Wav2Lip does."""

    name: ClassVar[str] = "box"
    description: ClassVar[str] = "Hard paste of the whole patch box (original Wav2Lip)."

    def blend(self, frame: np.ndarray, patch: Patch, face: Face) -> np.ndarray:
        """``frame`` with ``patch.image`` pasted over ``patch.box`` (clipped to the frame).

        Modifies ``frame`` in place (a read-only frame is copied first) and returns it.
        """
        clipped = clip_patch(frame.shape[:2], patch)
        if clipped is None:
            return frame
        (x1, y1, x2, y2), image = clipped
        if not frame.flags.writeable:
            frame = frame.copy()
        frame[y1:y2, x1:x2] = image
        return frame


@hookimpl
def register_blenders(register: Callable[[type[Blender]], None]) -> None:
    """Register the box blender."""
    register(BoxBlender)
