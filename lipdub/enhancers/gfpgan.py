"""``--enhancer gfpgan``: GFPGAN v1.2 / v1.3 / v1.4 (TencentARC, Apache-2.0) as ONNX."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal

from pydantic import Field

from lipdub.components import Enhancer
from lipdub.enhancers.base import OnnxRestorer
from lipdub.hookspecs import hookimpl


class GFPGANEnhancer(OnnxRestorer):
    """GFPGAN on the FFHQ-aligned 512 px face."""

    name: ClassVar[str] = "gfpgan"
    description: ClassVar[str] = "GFPGAN face restoration (ONNX; v1.2, v1.3, v1.4)"

    class Options(OnnxRestorer.Options):
        version: Literal["1.2", "1.3", "1.4"] = Field("1.4", description="GFPGAN release.")

    options: Options

    def weights_name(self) -> str:
        return f"gfpgan-{self.options.version}"


@hookimpl
def register_enhancers(register: Callable[[type[Enhancer]], None]) -> None:
    register(GFPGANEnhancer)
