"""``--enhancer codeformer``: CodeFormer (sczhou, S-Lab licence) as ONNX, with its fidelity
input (``weight`` or ``w``: 0 = most restored, 1 = most faithful to the input)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from pydantic import Field

from lipdub.components import Enhancer
from lipdub.enhancers.base import OnnxRestorer
from lipdub.hookspecs import hookimpl


class CodeFormerEnhancer(OnnxRestorer):
    """CodeFormer on the FFHQ-aligned 512 px face."""

    name: ClassVar[str] = "codeformer"
    description: ClassVar[str] = "CodeFormer face restoration (ONNX; option fidelity)"

    class Options(OnnxRestorer.Options):
        fidelity: float = Field(
            0.5, ge=0.0, le=1.0, description="0: most restored, 1: most faithful to the input."
        )

    options: Options

    def weights_name(self) -> str:
        return "codeformer"

    def fidelity(self) -> float:
        return self.options.fidelity


@hookimpl
def register_enhancers(register: Callable[[type[Enhancer]], None]) -> None:
    register(CodeFormerEnhancer)
