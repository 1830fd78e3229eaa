"""``--enhancer gpen``: GPEN blind face restoration (yangxy; non-commercial) at 256, 512,
1024 or 2048 px as ONNX. GPEN-BFR-256 uses the ArcFace-128 template, the others FFHQ."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from lipdub.components import Enhancer
from lipdub.enhancers import align
from lipdub.enhancers.base import OnnxRestorer
from lipdub.hookspecs import hookimpl


class GPENEnhancer(OnnxRestorer):
    """GPEN-BFR; the crop size is read from the file (``size`` picks the default weights)."""

    name: ClassVar[str] = "gpen"
    description: ClassVar[str] = "GPEN-BFR face restoration (ONNX; 256, 512, 1024, 2048)"

    class Options(OnnxRestorer.Options):
        size: Literal[256, 512, 1024, 2048] = Field(512, description="GPEN-BFR model size.")

    options: Options

    def weights_name(self) -> str:
        return f"gpen-bfr-{self.options.size}"

    def template_for(self, size: int) -> np.ndarray:
        return align.ARCFACE_128 if size == 256 else align.FFHQ_512


@hookimpl
def register_enhancers(register: Callable[[type[Enhancer]], None]) -> None:
    register(GPENEnhancer)
