"""Checks of dub option values that need no media: each failure is one :class:`InputError`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from lipdub.errors import InputError

#: ``--fps`` range (frames per second).
MIN_FPS, MAX_FPS = 1.0, 240.0
#: Devices that need no torch to check.
_PLAIN_DEVICES = ("auto", "cpu")


def check_fps(fps: float | None) -> None:
    """``--fps``: finite, from :data:`MIN_FPS` to :data:`MAX_FPS`."""
    if fps is None:
        return
    if not math.isfinite(fps) or not MIN_FPS <= fps <= MAX_FPS:
        raise InputError(f"--fps must be a number from {MIN_FPS:g} to {MAX_FPS:g}, got {fps:g}")


def check_scene_threshold(threshold: float) -> None:
    """``--scene-threshold``: a finite number, not negative."""
    if not math.isfinite(threshold) or threshold < 0:
        raise InputError(f"--scene-threshold must be a number of 0 or more, got {threshold:g}")


def device_type(device: str | None) -> str:
    """``cpu``, ``cuda`` or ``mps`` for ``--device`` (``auto`` resolved); InputError for a
    device that is unknown or not available here (checked for every generator)."""
    name = (device or "auto").strip().lower()
    if name == "cpu":
        return "cpu"
    from lipdub.devices import resolve_device  # imports torch

    return resolve_device(name).type


def check_device_and_precision(device: str | None, precision: str) -> None:
    """``--device`` is valid here, and ``--precision fp16`` is not asked of a CPU (where it
    runs several times slower than fp32)."""
    name = (device or "auto").strip().lower()
    if name in _PLAIN_DEVICES and precision != "fp16":
        return
    kind = device_type(name)
    if precision == "fp16" and kind == "cpu":
        raise InputError(
            "--precision fp16 on the CPU is several times slower than fp32; "
            "use --precision fp32 or bf16 (or a GPU with --device cuda)"
        )


def check_dub_values(values: Mapping[str, Any]) -> None:
    """Every media-free check of a dub's option ``values`` (the dub options' names)."""
    check_fps(values.get("fps"))
    check_scene_threshold(values["scene_threshold"])
    precision = "fp32" if values.get("fp32") else values.get("precision") or "auto"
    check_device_and_precision(values.get("device"), precision)


def check_before_progress(request: Any) -> None:
    """The checks :func:`~lipdub.pipeline.dub.dub` starts with (inputs readable, output
    writable in a container lipdub writes), run before a progress display so that an error
    is the only line printed."""
    from lipdub.media.containers import container_for
    from lipdub.media.writer import check_output_path
    from lipdub.pipeline.dub import check_inputs, default_output

    check_inputs(request)
    output = request.output or default_output(request.video)
    check_output_path(output, [request.video, request.audio], request.overwrite)
    container_for(output)


def apply_box(values: dict[str, Any], shorthands: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``values`` with ``--box TOP BOTTOM LEFT RIGHT`` turned into the ``fixed-box`` tracker
    (its option added to ``shorthands``); InputError for a box of another size or another
    ``--tracker`` given with it."""
    from lipdub import defaults
    from lipdub.cli.argv import BOX_HELP

    box = values.get("box")
    if not box:
        return values
    if len(box) != 4:
        raise InputError(f"{BOX_HELP}; got {len(box)}")
    if values.get("tracker") not in (defaults.TRACKER, "fixed-box"):
        raise InputError(
            f"--box fixes the face box: it does not combine with --tracker {values['tracker']}"
        )
    shorthands.setdefault("tracker", {})["box"] = tuple(int(v) for v in box)
    return {**values, "tracker": "fixed-box"}
