"""Putting a generated patch back into its frame: the one place the dub calls the blender.

Stages that act on a redrawn face after generation (restoration, extra masks, marks) hook in
here, so the frame loop in :mod:`lipdub.pipeline.dub` stays one call per face.
"""

from __future__ import annotations

import numpy as np

from lipdub.pipeline.components import Components
from lipdub.types import Face, Patch


def compose(parts: Components, frame: np.ndarray, patch: Patch, face: Face) -> np.ndarray:
    """``frame`` with ``patch`` (redrawn for ``face``) blended in by the dub's blender."""
    return parts.blender.blend(frame, patch, face)
