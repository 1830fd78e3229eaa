"""The shared face-restorer: align to the model's template, restore, paste back the change.

Every restorer here follows the FaceFusion / facexlib ONNX conventions: one RGB image input
``(1, 3, S, S)`` in ``[-1, 1]`` (``S`` read from the file), an optional fidelity input
(``weight`` or ``w``, float64 ``(1,)``), and an RGB ``(1, 3, S, S)`` output in ``[-1, 1]``.

Only the restorer's *change* to the aligned crop is warped back (``frame + warp(restored -
crop)``): an identity restorer leaves the frame exactly as it was, and detail the model keeps
is not resampled twice. The change goes in only inside the chosen region's mask, faded out at
the crop's edge and scaled by ``strength``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from lipdub.blenders import masks
from lipdub.components import Enhancer, Restoration
from lipdub.enhancers import align
from lipdub.errors import CheckpointError
from lipdub.onnx.session import InputSpec, OnnxModel, open_model
from lipdub.types import Box, Face

#: Names a fidelity input may have (FaceFusion: ``weight``; other exports: ``w``).
WEIGHT_NAMES = ("weight", "w")


class OnnxRestorer(Enhancer):
    """A face-restoration ONNX model on the aligned face (subclasses name the model)."""

    #: The alignment template at the model's size (``ffhq_512`` or ``arcface_128``).
    template: ClassVar[str] = "ffhq_512"
    #: Input size used when the file's input size is dynamic.
    default_size: ClassVar[int] = 512

    class Options(Enhancer.Options):
        smoothing: float = Field(
            0.6,
            ge=0.0,
            le=0.95,
            description="Temporal smoothing of the face alignment (0: none), against flicker.",
        )
        flicker: float | None = Field(
            0.15,
            ge=0.0,
            description="The most the restorer may add to a pixel's frame-to-frame change, "
            "as a share of the dub's own change there (empty: no limit), against flicker.",
        )

    options: Options

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._model: OnnxModel | None = None
        self._image_input = ""
        self._weight_input: str | None = None
        self._output_index = 0
        self.size = self.default_size
        self._smoother: align.AlignmentSmoother | None = None

    # -- what subclasses say -------------------------------------------------------------
    def weights_name(self) -> str:
        """The registry name of the default weights (``lipdub models pull NAME``)."""
        return self.name

    def fidelity(self) -> float:
        """The value fed to a fidelity input, if the model has one."""
        return 1.0

    def template_for(self, size: int) -> np.ndarray:
        return align.TEMPLATES[self.template]

    # -- loading -------------------------------------------------------------------------
    def load(self) -> None:
        self.model  # noqa: B018

    @property
    def model(self) -> OnnxModel:
        if self._model is None:
            from lipdub.weights.registry import resolve_weights

            path = resolve_weights(self.weights_name(), self.checkpoint)
            model = open_model(path, self.device)
            specs = [
                InputSpec("image", rank=4, channels=3),
                InputSpec("weight", names=WEIGHT_NAMES, optional=True),
            ]
            found = model.match(specs, f"{self.name} face-restoration")
            image = found["image"]
            self._image_input = image.name
            self._weight_input = found["weight"].name if "weight" in found else None
            side = image.shape[-1]
            self.size = side if isinstance(side, int) and side > 0 else self.default_size
            self._output_index = _image_output(model, self.size)
            self._smoother = align.AlignmentSmoother(self.options.smoothing, self.size)
            self._model = model
        return self._model

    # -- inference -----------------------------------------------------------------------
    def restore_crop(self, crop: np.ndarray) -> np.ndarray:
        """The restored aligned crop (RGB uint8 ``(S, S, 3)`` in and out)."""
        model = self.model
        tensor = (crop.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None]
        feeds = {self._image_input: tensor.astype(model.input(self._image_input).dtype)}
        if self._weight_input is not None:
            dtype = model.input(self._weight_input).dtype
            feeds[self._weight_input] = np.array([self.fidelity()], dtype=dtype)
        output = model.run(feeds)[self._output_index]
        if output.ndim != 4 or output.shape[1:] != (3, self.size, self.size):
            raise CheckpointError(
                f"{model.path.name}: expected an image output (1, 3, {self.size}, {self.size}), "
                f"got {tuple(output.shape)}"
            )
        image = (np.clip(output[0].astype(np.float32), -1.0, 1.0) + 1.0) * 127.5
        return np.round(image.transpose(1, 2, 0)).astype(np.uint8)

    def enhance(self, frame: np.ndarray, face: Face) -> Restoration | None:
        regions = face.regions
        if regions is None or not regions.is_finite() or self.options.strength <= 0:
            return None
        self.model  # noqa: B018 - sets size and smoother
        assert self._smoother is not None
        points = regions.five_points()
        try:
            matrix = align.alignment(points, self.template_for(self.size), self.size)
        except ValueError:
            return None
        matrix, track = self._smoother(matrix, points)
        box = self._paste_box(frame, face, matrix)
        if box is None:
            return None
        crop = align.warp_to_crop(frame, matrix, self.size)
        change = self.restore_crop(crop).astype(np.float32) - crop.astype(np.float32)
        change = self._steady(track, crop, change)
        x1, y1, x2, y2 = box
        source = frame[y1:y2, x1:x2].astype(np.float32)
        image = np.clip(source + align.crop_to_box(change, matrix, box) + 0.5, 0, 255)
        edge = align.crop_to_box(align.crop_edge_weights(self.size), matrix, box)
        weights = self.region_weights(face, box) * edge * np.float32(self.options.strength)
        return Restoration(image=image.astype(np.uint8), box=box, weights=weights)

    def _steady(self, track: align.FaceTrack, crop: np.ndarray, change: np.ndarray) -> np.ndarray:
        """``change`` moved towards the track's last change so that, per pixel, it differs
        from it by at most ``flicker`` times the crop's own change since the last frame
        (plus 0.05 of a grey level): still content gets still detail, however the model
        reacts to sub-pixel jitter, and moving content is followed."""
        crop = crop.astype(np.float32)
        previous, previous_crop = track.change, track.crop
        limit = self.options.flicker
        if limit is not None and previous is not None and previous.shape == change.shape:
            assert previous_crop is not None
            allowed = limit * np.abs(crop - previous_crop) + 0.05
            change = previous + np.clip(change - previous, -allowed, allowed)
        track.change, track.crop = change, crop
        return change

    def region_weights(self, face: Face, box: Box) -> np.ndarray:
        """The chosen region's soft mask over ``box``."""
        assert face.regions is not None
        x1, y1, x2, y2 = box
        shape, offset = (y2 - y1, x2 - x1), (x1, y1)
        width = face.regions.face_width
        if self.options.region == "mouth":
            return masks.mouth_mask(face.regions, shape, offset)
        if self.options.region == "face":
            return masks.face_mask(face.regions, shape, offset)
        return masks.lower_face_mask(
            face.regions, shape, offset, feather_px=0.08 * width, dilate_px=0.03 * width
        )

    def _paste_box(self, frame: np.ndarray, face: Face, matrix: np.ndarray) -> Box | None:
        assert face.regions is not None
        height, width = frame.shape[:2]
        grow = 0.12 * face.regions.face_width
        ox1, oy1, ox2, oy2 = face.regions.oval_box()
        cx1, cy1, cx2, cy2 = align.crop_footprint(matrix, self.size, (height, width))
        x1, y1 = max(int(ox1 - grow), cx1, 0), max(int(oy1 - grow), cy1, 0)
        x2, y2 = min(int(ox2 + grow) + 1, cx2, width), min(int(oy2 + grow) + 1, cy2, height)
        return (x1, y1, x2, y2) if x2 > x1 and y2 > y1 else None

    def close(self) -> None:
        self._model = None


def _image_output(model: OnnxModel, size: int) -> int:
    """The output holding the image: the first declared ``(1, 3, S, S)`` (exports may have
    several outputs, in any order), else output 0."""

    def fits(dim: int | str | None, want: int) -> bool:
        return dim == want or not isinstance(dim, int)  # dynamic dims fit anything

    for index, shape in enumerate(model.output_shapes):
        if len(shape) == 4 and fits(shape[1], 3) and fits(shape[-1], size):
            return index
    return 0
