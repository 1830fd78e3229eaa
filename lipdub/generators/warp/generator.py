"""The ``warp`` generator: moves the lower lip, jaw and lip corners of the source face to the
mouth shape of the audio and paints the mouth opening. Needs no trained weights."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from lipdub.components import Generator
from lipdub.errors import InputError
from lipdub.faces.regions import FaceRegions
from lipdub.generators.warp.articulation import OPENING, SPREAD
from lipdub.generators.warp.interior import paint_cavity
from lipdub.generators.warp.mouth_bank import MouthBank
from lipdub.generators.warp.shape import SMOOTH_WEIGHTS, MouthPose, ShapeParams, build_mesh
from lipdub.generators.warp.warp import warp_region
from lipdub.types import Box, GeneratorInput, Patch

#: The patch box reaches this share of the face height beyond the warped region, so that the
#: blender's fade towards the box edge never touches moved pixels.
BOX_MARGIN = 0.15
#: Faces shorter than this (pixels, forehead to chin) are left as they are.
MIN_FACE_PX = 12.0
#: Smoothing of the displacement below the lower lip, as a share of the face height.
SMOOTH_SIGMA = 0.04


def pose_from_audio(window: np.ndarray) -> MouthPose:
    """The mouth pose for one video frame: the mean of its ``articulation`` rows (closed when
    the window is empty)."""
    rows = np.asarray(window, np.float32)
    if rows.ndim != 2 or rows.shape[0] == 0 or rows.shape[1] <= SPREAD:
        return MouthPose()
    mean = rows.mean(axis=0)
    return MouthPose(opening=float(mean[OPENING]), spread=float(mean[SPREAD]))


def _unchanged(frame: np.ndarray, points: np.ndarray, note: str) -> Patch:
    """The source pixels around ``points`` (or the whole frame if none is finite), marked as
    not redrawn because of ``note``."""
    height, width = frame.shape[:2]
    finite = points[np.all(np.isfinite(points), axis=1)]
    if len(finite) == 0:
        return Patch(frame.copy(), (0, 0, width, height), False, redrawn=False, note=note)
    x1 = int(np.clip(np.floor(finite[:, 0].min()), 0, width - 1))
    y1 = int(np.clip(np.floor(finite[:, 1].min()), 0, height - 1))
    x2 = int(np.clip(np.ceil(finite[:, 0].max()) + 1, x1 + 1, width))
    y2 = int(np.clip(np.ceil(finite[:, 1].max()) + 1, y1 + 1, height))
    box = (x1, y1, x2, y2)
    return Patch(frame[y1:y2, x1:x2].copy(), box, False, redrawn=False, note=note)


def render_mouth(
    frame: np.ndarray,
    regions: FaceRegions,
    pose: MouthPose,
    params: ShapeParams | None = None,
    teeth: bool = True,
    bank: MouthBank | None = None,
) -> Patch:
    """A patch of ``frame`` around the lower face with the mouth moved to ``pose``.

    Pixels outside the lips, jaw and chin region equal the source frame. Faces smaller than
    :data:`MIN_FACE_PX` (forehead to chin) or with unusable regions are left unchanged, in a
    patch marked ``redrawn=False`` with the reason in its ``note``.
    """
    params = params or ShapeParams()
    height, width = frame.shape[:2]
    points = regions.points
    if not regions.is_finite():
        return _unchanged(frame, points, "unusable landmarks")
    if regions.face_height < MIN_FACE_PX:
        return _unchanged(frame, points, "face too small")
    with np.errstate(divide="ignore", invalid="ignore"):
        mesh = build_mesh(regions, pose, params)
    if not (np.all(np.isfinite(mesh.source)) and np.all(np.isfinite(mesh.target))):
        return _unchanged(frame, points, "unusable landmarks")
    reach = np.concatenate([mesh.source, mesh.target])
    margin = BOX_MARGIN * mesh.axes.height
    x1 = int(np.clip(np.floor(reach[:, 0].min() - margin), 0, width - 1))
    y1 = int(np.clip(np.floor(reach[:, 1].min() - margin), 0, height - 1))
    x2 = int(np.clip(np.ceil(reach[:, 0].max() + margin), x1 + 1, width))
    y2 = int(np.clip(np.ceil(reach[:, 1].max() + margin), y1 + 1, height))
    box: Box = (x1, y1, x2, y2)
    crop, _ = warp_region(
        frame,
        mesh.source,
        mesh.target,
        mesh.triangles,
        box,
        smooth_weights=SMOOTH_WEIGHTS,
        smooth_sigma=SMOOTH_SIGMA * mesh.axes.height,
    )
    source_crop = frame[box[1] : box[3], box[0] : box[2]]
    crop = paint_cavity(crop, mesh, np.array(box[:2], np.float32), teeth, source_crop, bank)
    return Patch(image=crop, box=box, match_color=False)


class WarpGenerator(Generator):
    """Weight-free lip sync: a piecewise-affine warp of the lower face driven by the
    ``articulation`` audio features, with a painted mouth interior."""

    name: ClassVar[str] = "warp"
    description: ClassVar[str] = "Weight-free: warps the lower face to audio loudness/formants."
    audio_extractor: ClassVar[str] = "articulation"
    #: Four 10 ms rows: the mouth pose is averaged over one 25 fps frame.
    audio_window_seconds: ClassVar[float] = 0.04
    needs_weights: ClassVar[bool] = False
    default_weights: ClassVar[str | None] = None
    batch_size: ClassVar[int] = 8
    uses_pads: ClassVar[bool] = False  # works from the face regions, not the padded box

    class Options(Generator.Options):
        max_opening: float = Field(
            0.15,
            ge=0.0,
            le=0.4,
            description="Inner-lip gap at full opening, as a share of the face height "
            "(the lip-movement strength).",
        )
        jaw: float = Field(
            0.6, ge=0.0, le=1.0, description="Chin drop as a share of the lower lip's drop."
        )
        teeth: bool = Field(True, description="Paint a hint of teeth in an open mouth.")
        strength: float = Field(1.0, ge=0.0, le=2.0, description="Scales the lip movement.")
        real_mouth: bool = Field(
            True, description="Use real mouth interiors from open-mouth frames of the shot."
        )

    options: Options

    def __init__(
        self,
        checkpoint: Path | None = None,
        device: str = "cpu",
        precision: str = "auto",
        options: Any = None,
        **values: Any,
    ) -> None:
        if checkpoint is not None:
            raise InputError("generator 'warp' uses no weights; drop --checkpoint")
        super().__init__(None, device, precision, options, **values)
        self.params = ShapeParams(max_gap=self.options.max_opening, jaw_share=self.options.jaw)
        self.teeth = self.options.teeth
        self.bank = MouthBank() if self.options.real_mouth else None

    def begin_shot(self, shot: int, faces: Sequence[Any]) -> None:
        """Choose the shot's open-mouth frames whose interiors the bank keeps."""
        if self.bank is not None:
            self.bank.begin_shot(faces)

    def generate(self, items: Sequence[GeneratorInput]) -> list[Patch]:
        """One patch per item: the lower face of ``item.frame`` moved to its audio's pose."""
        patches = []
        if self.bank is not None:
            for item in items:
                self.bank.observe(item.frame, item.face)
        for item in items:
            frame = item.frame
            regions = item.face.regions
            if regions is None:
                box = item.face.int_box(frame.shape[1], frame.shape[0])
                image = frame[box[1] : box[3], box[0] : box[2]].copy()
                patches.append(Patch(image, box, False, redrawn=False, note="no landmarks"))
                continue
            pose = pose_from_audio(item.audio)
            pose = MouthPose(min(pose.opening * self.options.strength, 1.0), pose.spread)
            patches.append(render_mouth(frame, regions, pose, self.params, self.teeth, self.bank))
        return patches
