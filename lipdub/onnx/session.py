"""One ONNX Runtime session per model file, with the execution provider chosen by ``--device``.

:func:`open_model` loads a file once (sessions are shared by every component that uses the
same file on the same device), checks its inputs against what the caller expects and turns
every loading problem into a one-line :class:`~lipdub.errors.CheckpointError`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lipdub.errors import CheckpointError, InputError

_DEVICE = re.compile(r"(auto|cpu|cuda)(:(\d+))?")
_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64}


@dataclass(frozen=True)
class InputSpec:
    """An input the caller needs: one of ``names`` (any name if empty) with ``rank`` dims."""

    role: str
    names: tuple[str, ...] = ()
    rank: int | None = None
    #: Size of dimension 1 (channels for NCHW), when it must be fixed.
    channels: int | None = None
    optional: bool = False

    def describe(self) -> str:
        names = "/".join(repr(n) for n in self.names) if self.names else "any name"
        rank = f", rank {self.rank}" if self.rank else ""
        channels = f", {self.channels} channels" if self.channels else ""
        return f"{self.role} ({names}{rank}{channels})"


@dataclass(frozen=True)
class ModelInput:
    """One input of a loaded model."""

    name: str
    shape: tuple[int | str | None, ...]
    type: str

    @property
    def dtype(self) -> Any:
        return _DTYPES.get(self.type, np.float32)


def providers_for(device: str) -> tuple[list[Any], str]:
    """The ONNX Runtime providers for ``--device`` and the device's name for messages."""
    import onnxruntime as ort

    name = (device or "auto").strip().lower()
    match = _DEVICE.fullmatch("cpu" if name == "mps" else name)  # no Metal provider: CPU
    if match is None:
        raise InputError(f"--device: unknown device {device!r} for ONNX models (use cpu or cuda)")
    kind, index = match.group(1), int(match.group(3) or 0)
    available = ort.get_available_providers()
    has_cuda = "CUDAExecutionProvider" in available
    if kind == "cuda" and not has_cuda:
        raise InputError(
            f"--device {device!r}: this onnxruntime has no CUDA provider "
            "(install onnxruntime-gpu, or use --device cpu)"
        )
    if kind == "cuda" or (kind == "auto" and has_cuda):
        provider = ("CUDAExecutionProvider", {"device_id": index})
        return [provider, "CPUExecutionProvider"], f"cuda:{index}"
    return ["CPUExecutionProvider"], "cpu"


def thread_count() -> int:
    """Intra-op threads: the CPUs this process may use (``LIPDUB_ONNX_THREADS`` overrides)."""
    env = os.environ.get("LIPDUB_ONNX_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class OnnxModel:
    """A loaded ONNX model: its session, inputs and outputs."""

    def __init__(self, session: Any, path: Path, device: str) -> None:
        self.session = session
        self.path = path
        self.device = device
        self.inputs = [
            ModelInput(i.name, tuple(_dim(d) for d in i.shape), i.type)
            for i in session.get_inputs()
        ]
        self.outputs = [o.name for o in session.get_outputs()]
        self.output_shapes = [tuple(_dim(d) for d in o.shape) for o in session.get_outputs()]

    def input(self, name: str) -> ModelInput:
        return next(i for i in self.inputs if i.name == name)

    def run(self, feeds: Mapping[str, np.ndarray], outputs: Sequence[str] | None = None) -> list:
        """The outputs (all, or those named) for ``feeds``; a runtime failure is one line."""
        try:
            return self.session.run(list(outputs) if outputs else None, dict(feeds))
        except Exception as exc:  # onnxruntime raises its own untyped errors
            why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CheckpointError(f"{self.path.name}: the model failed to run: {why}") from exc

    def match(self, specs: Sequence[InputSpec], what: str) -> dict[str, ModelInput]:
        """The model's input for each spec's role; :class:`CheckpointError` naming what was
        expected and what the file has otherwise."""
        found: dict[str, ModelInput] = {}
        free = list(self.inputs)
        for spec in specs:
            hit = next((i for i in free if _fits(i, spec)), None)
            if hit is None:
                if spec.optional:
                    continue
                raise CheckpointError(self.mismatch(specs, what))
            found[spec.role] = hit
            free.remove(hit)
        if free:
            raise CheckpointError(self.mismatch(specs, what))
        return found

    def mismatch(self, specs: Sequence[InputSpec], what: str) -> str:
        expected = ", ".join(spec.describe() for spec in specs)
        actual = ", ".join(f"{i.name!r} {list(i.shape)}" for i in self.inputs) or "none"
        return (
            f"{self.path.name} is not a {what} model: expected inputs {expected}; it has {actual}"
        )


def _dim(value: Any) -> int | str | None:
    return value if isinstance(value, int | str) or value is None else None


def _fits(model_input: ModelInput, spec: InputSpec) -> bool:
    if spec.names and model_input.name not in spec.names:
        return False
    if spec.rank is not None and len(model_input.shape) != spec.rank:
        return False
    if spec.channels is not None:
        size = model_input.shape[1] if len(model_input.shape) > 1 else None
        if isinstance(size, int) and size != spec.channels:
            return False
    return True


_sessions: dict[tuple[str, float, str], OnnxModel] = {}


def open_model(path: Path | str, device: str = "auto") -> OnnxModel:
    """The model at ``path`` on ``device`` (one session per file and device, shared)."""
    import onnxruntime as ort

    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"ONNX model {path} does not exist or is not a file")
    providers, device_name = providers_for(device)
    key = (str(path.resolve()), path.stat().st_mtime, device_name)
    if key in _sessions:
        return _sessions[key]
    options = ort.SessionOptions()
    options.intra_op_num_threads = thread_count()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), options, providers=providers)
    except Exception as exc:
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        why = re.sub(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ", "", why)
        why = re.sub(r"Load model from .* failed: ?", "", why)
        raise CheckpointError(f"{path.name} is not a usable ONNX model ({why[:160]})") from exc
    model = OnnxModel(session, path, device_name)
    _sessions[key] = model
    return model


def forget_models() -> None:
    """Drop every cached session (frees their memory)."""
    _sessions.clear()
