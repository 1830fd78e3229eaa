"""Rich rendering for the CLI: progress bars, summaries, one-line errors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from lipdub.errors import LipdubError
from lipdub.pipeline.dub import DubSummary

#: The summary lists the chosen face of at most this many shots.
MAX_SHOT_ROWS = 12

STAGE_LABELS = {"analyse": "Finding shots and faces", "dub": "Redrawing mouths"}

err_console = Console(stderr=True)


class RichProgress:
    """A progress callback that draws one bar per stage on stderr."""

    def __init__(self, console: Console | None = None) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console or err_console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}
        self.started = False

    def __enter__(self) -> RichProgress:
        return self  # the display starts with the first stage: an early error is one line

    def __exit__(self, *exc: object) -> None:
        if self.started:
            self.progress.stop()

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if not self.started:
            self.progress.start()
            self.started = True
        if stage not in self.tasks:
            label = STAGE_LABELS.get(stage, stage)
            self.tasks[stage] = self.progress.add_task(label, total=total)
        task = self.tasks[stage]
        if total is not None and done > total:
            total = done
        self.progress.update(task, completed=done, total=total)


def run_facts(summary: DubSummary, request: Any = None) -> dict[str, Any]:
    """What the summary adds to :class:`DubSummary`: the device and precision used, the fit
    policy, the face asked for, and the output file's real size and picture size."""
    facts: dict[str, Any] = {}
    if request is not None:
        facts["device"], facts["precision"] = _device_and_precision(request)
        facts["fit"] = f"{request.fit.long},{request.fit.short}"
        facts["face"] = str(request.face)
    try:
        facts["file_bytes"] = summary.output.stat().st_size
        from lipdub.media.probe import probe

        info = probe(summary.output)
        facts["file_width"], facts["file_height"] = info.width, info.height
    except (OSError, LipdubError):
        pass
    return facts


def _device_and_precision(request: Any) -> tuple[str, str]:
    """The device and precision the dub's neural parts ran with. When none of them loaded
    torch (the warp generator with ``--device auto`` or ``cpu``), everything ran on the CPU
    and torch is not imported just to say so (it takes seconds)."""
    if "torch" not in sys.modules:
        precision = str(request.precision or "auto")
        return "cpu", "fp32" if precision == "auto" else precision
    try:
        from lipdub.devices import resolve_device, resolve_precision

        device = resolve_device(request.device)
        return str(device), resolve_precision(request.precision, device)
    except Exception:  # noqa: BLE001 - only for the report
        return str(request.device), str(request.precision)


def human_size(count: int) -> str:
    """``1.3 MB`` for ``count`` bytes (powers of 1000)."""
    size = float(count)
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{count} bytes"


def summary_json(summary: DubSummary, request: Any = None) -> str:
    """The summary (and :func:`run_facts`) as one JSON object (``lipdub dub --json``)."""
    import dataclasses
    import json

    data = dataclasses.asdict(summary)
    data.update(run_facts(summary, request))

    def plain(value: Any) -> Any:
        if isinstance(value, Path):
            return str(value)
        if hasattr(value, "item"):  # numpy scalars
            return value.item()
        return str(value)

    return json.dumps(data, default=plain)


def summary_table(summary: DubSummary, request: Any = None) -> Table:
    """The final report of a dub (``request``, when given, adds device, precision, fit and
    face)."""
    facts = run_facts(summary, request)
    table = Table(title="lipdub summary", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    output = str(summary.output)
    if "file_bytes" in facts:
        output += f" ({human_size(facts['file_bytes'])})"
    table.add_row("output", output)
    table.add_row("generator", summary.generator)
    if "device" in facts:
        table.add_row("device", f"{facts['device']}, precision {facts['precision']}")
        table.add_row("fit", facts["fit"])
    width = facts.get("file_width") or summary.width
    height = facts.get("file_height") or summary.height
    table.add_row(
        "video",
        f"{width}x{height} @ {summary.fps:g} fps, "
        f"{summary.frames} frames ({summary.duration:.2f} s), {summary.shots} shot(s)",
    )
    table.add_row(
        "faces",
        f"{summary.dubbed_frames} frames redrawn, "
        f"{summary.no_face_frames} without a face (left unchanged)",
    )
    label = "speakers" if summary.face_mode == "speaker map" else f"--face {summary.face_mode}"
    if summary.shot_choices:  # the face chosen in each shot
        table.add_row(label, shot_choice_text(summary.shot_choices))
    if summary.skipped_frames:
        reasons = ", ".join(f"{why}: {n}" for why, n in summary.skip_reasons.items())
        table.add_row(
            "skipped",
            f"{summary.skipped_frames} frames with a face not redrawn (left unchanged): {reasons}",
        )
    stages = ", ".join(
        f"{name} {secs:.1f}s" for name, secs in summary.seconds.items() if name != "total"
    )
    table.add_row("time", f"{summary.total_seconds:.1f} s ({stages})")
    rtf = summary.duration / summary.total_seconds if summary.total_seconds else 0.0
    table.add_row(
        "speed",
        f"{summary.frames / max(summary.total_seconds, 1e-9):.1f} frames/s, {rtf:.2f}x real time",
    )
    return table


def shot_choice_text(choices: list) -> str:
    """One line per shot: the chosen track, its score and any note."""
    lines = []
    for choice in choices[:MAX_SHOT_ROWS]:
        if choice.track is None:
            lines.append(f"shot {choice.shot}: no face")
            continue
        text = f"shot {choice.shot}: track {choice.track}"
        if choice.score is not None:
            text += f" (score {choice.score:.2f})"
        if choice.note:
            text += f" - {choice.note}"
        lines.append(text)
    if len(choices) > MAX_SHOT_ROWS:
        lines.append(f"... and {len(choices) - MAX_SHOT_ROWS} more shots")
    return "\n".join(lines)
