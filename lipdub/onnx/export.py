"""Exporting a torch module to ONNX inside lipdub's environment (imports torch).

mediapipe 0.10.21 pins protobuf<5, so the ``onnx`` package cannot be installed beside it.
torch's TorchScript exporter writes the model itself; it imports ``onnx`` only to splice in
custom onnx-script functions, which lipdub's networks never use. Without ``onnx`` that step
is skipped here; with it, torch's own path runs unchanged.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

OPSET = 17


@contextlib.contextmanager
def _without_onnx_package() -> Iterator[None]:
    if importlib.util.find_spec("onnx") is not None:
        yield
        return
    from torch.onnx._internal.torchscript_exporter import onnx_proto_utils

    original = onnx_proto_utils._add_onnxscript_fn
    onnx_proto_utils._add_onnxscript_fn = lambda model_bytes, custom_opsets: model_bytes
    try:
        yield
    finally:
        onnx_proto_utils._add_onnxscript_fn = original


def export_onnx(
    module: Any,
    example_inputs: Sequence[Any],
    path: Path | str | None,
    *,
    input_names: Sequence[str],
    output_names: Sequence[str],
    dynamic_axes: Mapping[str, Mapping[int, str]] | None = None,
    opset: int = OPSET,
) -> bytes:
    """Export ``module`` (eval mode) with the TorchScript exporter; returns the model bytes
    and writes them to ``path`` when given."""
    import torch

    buffer = io.BytesIO()
    with _without_onnx_package(), warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(),
            tuple(example_inputs),
            buffer,
            dynamo=False,
            input_names=list(input_names),
            output_names=list(output_names),
            dynamic_axes={k: dict(v) for k, v in (dynamic_axes or {}).items()},
            opset_version=opset,
        )
    data = buffer.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data
