"""``--enhancer restoreformer``: RestoreFormer++ (default) or RestoreFormer v1 (wzhouxiff,
Apache-2.0) as ONNX. Their exports have many outputs; the image is the ``(1, 3, S, S)`` one."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal

from pydantic import Field

from lipdub.components import Enhancer
from lipdub.enhancers.base import OnnxRestorer
from lipdub.hookspecs import hookimpl


class RestoreFormerEnhancer(OnnxRestorer):
    """RestoreFormer on the FFHQ-aligned 512 px face."""

    name: ClassVar[str] = "restoreformer"
    description: ClassVar[str] = "RestoreFormer++ / RestoreFormer face restoration (ONNX)"

    class Options(OnnxRestorer.Options):
        variant: Literal["plus-plus", "v1"] = Field("plus-plus", description="Which release.")

    options: Options

    def weights_name(self) -> str:
        return "restoreformer-plus-plus" if self.options.variant == "plus-plus" else "restoreformer"


@hookimpl
def register_enhancers(register: Callable[[type[Enhancer]], None]) -> None:
    register(RestoreFormerEnhancer)
