"""Safe loading and checking of Wav2Lip-family checkpoints.

Checkpoints are read with ``torch.load(weights_only=True)``: a file that would need to run
pickled code is refused, never executed. A state dict is then compared with the known public
layouts (``layouts/checkpoint_layouts.json``) so a wrong file gets a message saying what it is.
"""

from __future__ import annotations

import json
import pickletools
import re
import warnings
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from lipdub.errors import CheckpointError

#: What each known layout holds, as said to the user.
LAYOUT_DESCRIPTIONS: dict[str, str] = {
    "wav2lip": "wav2lip generator",
    "syncnet_color": "syncnet_color (lip-sync expert)",
    "wav2lip_disc_qual": "wav2lip_disc_qual (visual-quality discriminator)",
    "syncnet_v2": "syncnet_v2 (SyncNet for the LSE metrics)",
}

#: Share of a layout's (key, shape) pairs a state dict must have to be said to "look like" it.
_LOOKS_LIKE_THRESHOLD = 0.9
_SHOWN_KEYS = 3


@cache
def layouts() -> dict[str, list[tuple[str, tuple[int, ...]]]]:
    """The known checkpoint layouts: name -> ordered ``(key, shape)`` pairs."""
    text = resources.files("lipdub.models").joinpath("layouts/checkpoint_layouts.json").read_text()
    return {
        name: [(key, tuple(shape)) for key, shape in entries]
        for name, entries in json.loads(text).items()
    }


_SAFE_MODULES = ("torch", "collections", "_codecs")


def _pickled_global(path: Path, max_ops: int = 100_000) -> str | None:
    """The first non-torch global a plain pickle file refers to, found by parsing (not running)."""
    strings: list[str] = []
    try:
        with open(path, "rb") as handle:
            for count, (opcode, arg, _) in enumerate(pickletools.genops(handle)):
                if count > max_ops:
                    return None
                if isinstance(arg, str):
                    strings.append(arg)
                name = None
                if opcode.name in ("GLOBAL", "INST") and isinstance(arg, str):
                    name = arg.replace(" ", ".")
                elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
                    name = f"{strings[-2]}.{strings[-1]}"
                if name and not name.startswith(_SAFE_MODULES):
                    return name
    except Exception:  # not a (complete) pickle: no verdict
        return None
    return None


def _load_error(path: Path, exc: BaseException) -> CheckpointError:
    message = str(exc)
    found = re.search(r"GLOBAL ([\w.]+)", message)
    name = found.group(1) if found else None
    if name is None and "Unsupported global" not in message:
        name = _pickled_global(path)
    if name is not None or "Unsupported global" in message:
        what = f" ({name})" if name else ""
        return CheckpointError(
            f"{path} holds pickled code or objects{what} that lipdub refuses to run; "
            "only plain tensor checkpoints are loaded"
        )
    if "central directory" in message or isinstance(exc, EOFError):
        return CheckpointError(f"{path} is truncated or corrupted (re-download it)")
    return CheckpointError(f"{path} is not a PyTorch checkpoint (unreadable as one)")


def _is_tensor_dict(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and len(value) > 0
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items())
    )


def read_state_dict(path: Path | str) -> dict[str, torch.Tensor]:
    """The state dict stored in ``path`` (bare, or wrapped as ``{"state_dict": ...}``).

    Never executes pickled code; strips the ``module.`` prefix that ``nn.DataParallel`` adds.
    Raises :class:`CheckpointError` with a one-line reason otherwise.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist or is not a file")
    try:
        with open(path, "rb") as handle:
            head = handle.read(64).lstrip()
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    if not head:
        raise CheckpointError(f"{path} is empty (re-download it)")
    if head[:1] == b"<":
        raise CheckpointError(f"{path} is a web page, not a checkpoint (a failed download?)")
    try:
        with warnings.catch_warnings():  # e.g. "Detected pickle protocol 4": noise for users
            warnings.simplefilter("ignore", UserWarning)
            loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # the unpickler can fail in many ways on hostile or odd input
        raise _load_error(path, exc) from None

    state = loaded
    if isinstance(loaded, Mapping) and isinstance(loaded.get("state_dict"), Mapping):
        state = loaded["state_dict"]
    if not _is_tensor_dict(state):
        raise CheckpointError(f"{path} is not a network checkpoint (it holds no state dict)")
    return {key.removeprefix("module."): tensor for key, tensor in state.items()}


def _match(
    state_dict: Mapping[str, torch.Tensor], layout: list[tuple[str, tuple[int, ...]]]
) -> tuple[list[str], list[str], list[tuple[str, tuple[int, ...], tuple[int, ...]]]]:
    expected = dict(layout)
    missing = [key for key in expected if key not in state_dict]
    unexpected = [key for key in state_dict if key not in expected]
    mismatched = [
        (key, shape, tuple(state_dict[key].shape))
        for key, shape in expected.items()
        if key in state_dict and tuple(state_dict[key].shape) != shape
    ]
    return missing, unexpected, mismatched


def _keys(keys: list[str]) -> str:
    shown = ", ".join(keys[:_SHOWN_KEYS])
    return f"{shown}, ..." if len(keys) > _SHOWN_KEYS else shown


def identify_layout(state_dict: Mapping[str, torch.Tensor]) -> str | None:
    """The known layout ``state_dict`` matches or nearly matches, if any."""
    best, best_score = None, 0.0
    pairs = {(key, tuple(tensor.shape)) for key, tensor in state_dict.items()}
    for name, layout in layouts().items():
        common = len(pairs & set(layout))
        score = common / max(len(layout), len(pairs))
        if score > best_score:
            best, best_score = name, score
    return best if best_score >= _LOOKS_LIKE_THRESHOLD else None


def check_layout(
    state_dict: Mapping[str, torch.Tensor], layout_name: str, source: str = "checkpoint"
) -> None:
    """Raise :class:`CheckpointError` unless ``state_dict`` has exactly the layout's keys/shapes.

    The message counts missing, unexpected and mis-shaped keys (naming the first few) and says
    which other known network the file looks like. ``source`` names the file in the message.
    """
    missing, unexpected, mismatched = _match(state_dict, layouts()[layout_name])
    if not (missing or unexpected or mismatched):
        return
    problems = []
    if missing:
        noun = "key" if len(missing) == 1 else "keys"
        problems.append(f"{len(missing)} {noun} missing ({_keys(missing)})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected ({_keys(unexpected)})")
    if mismatched:
        key, want, got = mismatched[0]
        noun = "shape mismatch" if len(mismatched) == 1 else "shape mismatches"
        problems.append(f"{len(mismatched)} {noun} ({key} expected {list(want)} got {list(got)})")
    message = f"{source} is not a {LAYOUT_DESCRIPTIONS.get(layout_name, layout_name)}: "
    other = identify_layout(state_dict)
    if other is not None and other != layout_name:
        message += f"it looks like a {LAYOUT_DESCRIPTIONS.get(other, other)} checkpoint ("
        message += ", ".join(problems) + ")"
    else:
        message += ", ".join(problems)
    raise CheckpointError(message)


def _network_factories() -> dict[str, Callable[[], nn.Module]]:
    from lipdub.models.discriminator import QualityDiscriminator
    from lipdub.models.syncnet import SyncNetColor
    from lipdub.models.wav2lip import Wav2Lip

    return {
        "wav2lip": Wav2Lip,
        "syncnet_color": SyncNetColor,
        "wav2lip_disc_qual": QualityDiscriminator,
    }


def load_network(path: Path | str, layout_name: str, device: str = "cpu") -> nn.Module:
    """Read, check and load a checkpoint of ``layout_name`` into its network, in eval mode."""
    factories = _network_factories()
    if layout_name not in factories:
        raise ValueError(f"no network for layout {layout_name!r} (have {', '.join(factories)})")
    path = Path(path)
    state_dict = read_state_dict(path)
    check_layout(state_dict, layout_name, source=path.name)
    model = factories[layout_name]()
    model.load_state_dict(state_dict, strict=True)
    return model.to(device).eval()


def load_wav2lip(path: Path | str, device: str = "cpu") -> nn.Module:
    """The :class:`~lipdub.models.wav2lip.Wav2Lip` generator stored in ``path``, in eval mode."""
    return load_network(path, "wav2lip", device=device)


def save_checkpoint(model: nn.Module, path: Path | str, global_step: int = 0) -> Path:
    """Write ``model`` in the public format ``{"state_dict", "optimizer": None, "global_step"}``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state_dict = {key: value.detach().cpu() for key, value in model.state_dict().items()}
    torch.save({"state_dict": state_dict, "optimizer": None, "global_step": global_step}, path)
    return path


def _he_scale(module: nn.Module, shape: tuple[int, ...]) -> float:
    """He-normal standard deviation for a convolution weight of ``shape``."""
    taps = int(np.prod(shape[2:]))
    if isinstance(module, nn.ConvTranspose2d):
        stride = int(np.prod(module.stride))
        fan_in = shape[0] * taps / stride  # each output sees ~1/stride of the taps
    else:
        fan_in = shape[1] * taps
    return float(np.sqrt(2.0 / max(fan_in, 1)))


def seed_weights(model: nn.Module, seed: int) -> nn.Module:
    """Fill every parameter and buffer of ``model`` with deterministic random values.

    Convolutions get He-scaled normal weights (halved inside residual branches so activations
    stay in range through the deep stacks), batch norms non-trivial affine parameters and
    running statistics. Values come from ``numpy.random.RandomState(seed)`` in ``state_dict``
    order, so they are the same on every platform.
    """
    rng = np.random.RandomState(seed)
    modules = dict(model.named_modules())
    new_state: dict[str, torch.Tensor] = {}
    for key, tensor in model.state_dict().items():
        shape = tuple(tensor.shape)
        owner_name, _, kind = key.rpartition(".")
        owner = modules[owner_name]
        if kind == "num_batches_tracked":
            values = np.asarray(1000 + seed)
        elif kind == "running_mean":
            values = rng.normal(0.0, 0.1, shape)
        elif kind == "running_var":
            values = rng.uniform(0.5, 1.5, shape)
        elif kind == "bias":
            values = rng.normal(0.0, 0.05, shape)
        elif isinstance(owner, nn.modules.batchnorm._BatchNorm):
            values = rng.uniform(0.8, 1.2, shape)
        else:
            values = rng.normal(0.0, _he_scale(owner, shape), shape)
            block = modules.get(owner_name.removesuffix(".conv_block.0"))
            if getattr(block, "residual", False):
                values *= 0.5
        new_state[key] = torch.as_tensor(values, dtype=tensor.dtype).reshape(tensor.shape)
    model.load_state_dict(new_state, strict=True)
    return model


def calibrate_batch_norm(model: nn.Module, *inputs: torch.Tensor) -> nn.Module:
    """Set every batch norm's running statistics to those of one forward pass on ``inputs``.

    Keeps randomly seeded deep networks in a sensible range (no saturated sigmoid output).
    Runs in float64 so the statistics are the same, to float32 precision, on every machine.
    """
    dtype = next(model.parameters()).dtype
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [norm.momentum for norm in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average: one batch gives exactly its statistics
    model.train().double()
    with torch.no_grad():
        model(*(tensor.double() for tensor in inputs))
    model.to(dtype)
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum
    return model.eval()


def seeded_wav2lip(seed: int = 0) -> nn.Module:
    """A :class:`~lipdub.models.wav2lip.Wav2Lip` with deterministic random weights, in eval mode.

    For tests and benchmarks (no public weights can be used there): seeded weights, batch-norm
    statistics calibrated on seeded random inputs so the output responds to face and audio.
    """
    from lipdub.models.wav2lip import Wav2Lip

    model = seed_weights(Wav2Lip(), seed)
    rng = np.random.RandomState(seed + 1)
    mel = torch.from_numpy(rng.uniform(-4, 4, (4, 1, 80, 16)).astype(np.float32))
    faces = torch.from_numpy(rng.uniform(0, 1, (4, 6, 96, 96)).astype(np.float32))
    faces[:, :3, 48:] = 0.0
    return calibrate_batch_norm(model, mel, faces)
