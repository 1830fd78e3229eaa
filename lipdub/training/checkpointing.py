"""``last.pt`` / ``best.pt``, resuming, and the scalar logs (CSV + TensorBoard events).

Both files hold a loadable network (see :mod:`lipdub.training.networks`) plus a ``training``
entry (step, optimiser states, best validation score, configuration): plain tensors and
Python values only, so they load with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import csv
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from lipdub.errors import CheckpointError, InputError, OutputError
from lipdub.media.filemode import apply_umask
from lipdub.training.tb_events import EventWriter

LAST = "last.pt"
BEST = "best.pt"


def save_atomic(path: Path, payload: dict[str, Any]) -> Path:
    """``torch.save`` to a temporary file, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    apply_umask(handle)  # the mode of a normally created file, not mkstemp's 0600
    os.close(handle)
    try:
        torch.save(payload, temp_name)
        os.replace(temp_name, path)
    except OSError as exc:
        Path(temp_name).unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path


def link_atomic(source: Path, path: Path) -> bool:
    """Make ``path`` a hard link to ``source`` in one rename; False where links are refused."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.link")
    try:
        temp.unlink(missing_ok=True)
        os.link(source, temp)
        os.replace(temp, path)
    except OSError:
        temp.unlink(missing_ok=True)
        return False
    return True


class CheckpointFiles:
    """Writes a run's ``best.pt`` and ``last.pt``.

    Both written at one step hold the same payload, so the second is a hard link to the first
    (one write of the networks and optimisers, not two). Every write replaces the file by a
    rename, so a later ``last.pt`` never changes a linked ``best.pt``.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        self._steps: dict[str, int] = {}

    def write(self, name: str, step: int, payload: Callable[[], dict[str, Any]]) -> None:
        """Write ``out/name`` at ``step``; ``payload`` is only built when it must be saved."""
        twin = next((n for n, at in self._steps.items() if n != name and at == step), None)
        if twin is None or not link_atomic(self.out / twin, self.out / name):
            save_atomic(self.out / name, payload())
        self._steps[name] = step


def load_training_state(out: Path) -> dict[str, Any]:
    """The payload of ``out/last.pt`` for ``--resume`` (one clear error when unusable)."""
    path = out / LAST
    if not path.is_file():
        raise InputError(f"--resume: {path} does not exist (nothing to resume)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - truncated, foreign or unsafe file
        raise CheckpointError(f"{path} is not a readable lipdub training checkpoint") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("training"), dict):
        raise CheckpointError(f"{path} holds no training state (not written by lipdub train)")
    return payload


def restore(model: torch.nn.Module, state: dict[str, Any], out: Path) -> None:
    """Load resumed weights into ``model`` (a clear error when they are another network)."""
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError):
        raise CheckpointError(
            f"{out / LAST} holds another network than this run builds (trained with another "
            "--extractor?); resume with the settings of that run"
        ) from None


def load_scaler(scaler: torch.amp.GradScaler, state: dict[str, Any] | None) -> None:
    """Restore an AMP gradient scaler (a run saved without AMP has no scaler state)."""
    if state and scaler.is_enabled():
        scaler.load_state_dict(state)


def plain(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with paths as strings (storable in a weights-only checkpoint)."""
    return {k: str(v) if isinstance(v, Path) else v for k, v in config.items()}


def prepare_out(out: Path, resume: bool) -> None:
    """Create ``out``; refuse to start a fresh run over an existing one."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} exists and is not a folder")
    if not resume and (out / LAST).exists():
        raise OutputError(f"{out} already holds a run ({LAST}); pass --resume or another --out")
    out.mkdir(parents=True, exist_ok=True)


class MetricsLog:
    """Scalars to ``out/metrics.csv`` (step, tag, value, wall_time) and ``out/tb/`` events."""

    def __init__(self, out: Path, enabled: bool = True) -> None:
        self.enabled = enabled
        if not enabled:
            return
        path = out / "metrics.csv"
        fresh = not path.exists()
        self._csv_file = open(path, "a", newline="", encoding="utf-8")  # noqa: SIM115
        self._csv = csv.writer(self._csv_file)
        if fresh:
            self._csv.writerow(["step", "tag", "value", "wall_time"])
        self._events = EventWriter(out / "tb")

    def log(self, step: int, values: dict[str, float]) -> None:
        """Record ``values`` (tag -> number) at ``step``."""
        if not self.enabled:
            return
        now = time.time()
        for tag, value in values.items():
            self._csv.writerow([step, tag, f"{float(value):.6g}", f"{now:.3f}"])
            self._events.add_scalar(tag, float(value), step)
        self._csv_file.flush()
        self._events.flush()

    def close(self) -> None:
        if self.enabled:
            self._csv_file.close()
            self._events.close()
