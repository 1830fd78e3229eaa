"""``--masker occlusion``: an XSeg occluder (DeepFaceLab lineage, as FaceFusion ships it).

Input: the aligned face, BGR ``x / 255``, NHWC ``(1, S, S, 3)`` (S = 256; NCHW files are read
too); output: ``[0, 1]``, 1 = visible face, 0 = occluder (a hand, a microphone) or background.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np

from lipdub.components import Masker
from lipdub.errors import CheckpointError
from lipdub.hookspecs import hookimpl
from lipdub.maskers.aligned import AlignedOnnxMasker
from lipdub.onnx.session import InputSpec, OnnxModel


class OcclusionMasker(AlignedOnnxMasker):
    """Keeps whatever covers the face (XSeg says so) out of the blend."""

    name: ClassVar[str] = "occlusion"
    description: ClassVar[str] = "XSeg occluder ONNX: hands, microphones in front stay visible"
    default_model: ClassVar[str] = "xseg-1"

    def check_model(self, model: OnnxModel) -> int:
        found = model.match([InputSpec("image", rank=4)], "XSeg occlusion")["image"]
        shape = found.shape
        self._channels_last = shape[-1] == 3
        if not self._channels_last and shape[1] != 3:
            raise CheckpointError(model.mismatch([InputSpec("image (1, S, S, 3)", rank=4)], "XSeg"))
        self._input = found.name
        side = shape[1] if self._channels_last else shape[2]
        return side if isinstance(side, int) and side > 0 else self.default_size

    def crop_mask(self, crop_bgr: np.ndarray) -> np.ndarray:
        tensor = crop_bgr.astype(np.float32)[None] / 255.0
        if not self._channels_last:
            tensor = tensor.transpose(0, 3, 1, 2)
        output = np.asarray(self.model.run({self._input: np.ascontiguousarray(tensor)})[0])
        if output.size != self.size * self.size:
            raise CheckpointError(
                f"{self.model.path.name}: expected a {self.size}x{self.size} mask output, "
                f"got {tuple(output.shape)}"
            )
        return np.clip(output.reshape(self.size, self.size), 0.0, 1.0).astype(np.float32)


@hookimpl
def register_maskers(register: Callable[[type[Masker]], None]) -> None:
    register(OcclusionMasker)
