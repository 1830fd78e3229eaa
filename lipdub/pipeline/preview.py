"""``lipdub --preview``: dub the first seconds only, with the blend mask's outline drawn.

A quick look before a long run: which face was chosen, and where the new mouth goes. The
preview is a real dub (same components and options) of the first :data:`PREVIEW_SECONDS`
of the audio, written beside the output as ``NAME.preview.EXT``; the dub's blender is
wrapped so that every redrawn frame also shows the mask outline (green) and the generator's
box (yellow). A still image gives a one-frame preview.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from lipdub import defaults
from lipdub.blenders.box import clip_patch
from lipdub.components import Blender
from lipdub.media.audio import load_audio, write_wav
from lipdub.pipeline.fit import FitPolicy
from lipdub.pipeline.request import DubRequest, DubSummary
from lipdub.types import Face, Patch

#: Seconds of audio a preview dubs.
PREVIEW_SECONDS = 3.0
MASK_COLOR = (0, 255, 0)
BOX_COLOR = (255, 220, 0)
#: Line width: 2 px survives the encoder's halved colour resolution.
LINE_PX = 2
#: Mask weight the outline follows.
OUTLINE_LEVEL = 0.5


def preview_path(output: Path) -> Path:
    """``NAME.preview.EXT`` beside ``output``."""
    return output.with_name(f"{output.stem}.preview{output.suffix}")


class OutlinedBlender:
    """Blends like ``inner``, then draws the outline of its mask and the patch box."""

    def __init__(self, inner: Blender) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def blend(
        self, frame: np.ndarray, patch: Patch, face: Face, limit: np.ndarray | None = None
    ) -> np.ndarray:
        if limit is not None:
            frame = self.inner.blend(frame, patch, face, limit=limit)  # type: ignore[call-arg]
        else:
            frame = self.inner.blend(frame, patch, face)
        return draw_outline(frame, patch, face, self.inner)

    def close(self) -> None:
        self.inner.close()


def draw_outline(frame: np.ndarray, patch: Patch, face: Face, blender: Any) -> np.ndarray:
    """``frame`` with the blend mask's outline (when the blender has a mask) and the box."""
    import cv2

    clipped = clip_patch(frame.shape[:2], patch)
    if clipped is None:
        return frame
    box = clipped[0]
    frame = np.ascontiguousarray(frame) if frame.flags.writeable else frame.copy()
    x1, y1, x2, y2 = box
    cv2.rectangle(frame, (x1, y1), (x2 - 1, y2 - 1), BOX_COLOR, LINE_PX)
    mask_of = getattr(blender, "mask", None)
    if callable(mask_of):
        inside = (np.asarray(mask_of(face, box)) >= OUTLINE_LEVEL).astype(np.uint8)
        contours, _ = cv2.findContours(inside, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(frame, contours, -1, MASK_COLOR, LINE_PX, offset=(x1, y1))
    return frame


def preview(request: DubRequest, progress: Any, notify: Any = None) -> DubSummary:
    """Dub the first :data:`PREVIEW_SECONDS` of ``request`` to its preview path, outlined."""
    from lipdub.pipeline.components import choose_generator
    from lipdub.pipeline.dub import components_for, default_output, dub

    output = preview_path(request.output or default_output(request.video))
    rate = defaults.ANALYSIS_SAMPLE_RATE
    wav = load_audio(request.audio, rate)[: int(PREVIEW_SECONDS * rate)]
    choice = choose_generator(request.generator, request.checkpoint)
    components = components_for(request, choice.name)
    components.blender = OutlinedBlender(components.blender)  # type: ignore[assignment]
    with tempfile.TemporaryDirectory(prefix="lipdub-preview-") as folder:
        clip = write_wav(Path(folder) / "preview.wav", wav, rate)
        short = dataclasses.replace(
            request,
            audio=clip,
            output=output,
            fit=FitPolicy(request.fit.long, "trim"),  # the preview ends with its audio
            analysis_cache=False,  # a partial first pass must not stand in for the whole
        )
        try:
            return dub(short, progress, components=components, notify=notify)
        finally:
            components.close()
