"""Rich rendering for the CLI: progress bars, summaries, one-line errors."""

from __future__ import annotations

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

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if stage not in self.tasks:
            label = STAGE_LABELS.get(stage, stage)
            self.tasks[stage] = self.progress.add_task(label, total=total)
        task = self.tasks[stage]
        if total is not None and done > total:
            total = done
        self.progress.update(task, completed=done, total=total)


def summary_table(summary: DubSummary) -> Table:
    """The final report of a dub."""
    table = Table(title="lipdub summary", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("output", str(summary.output))
    table.add_row("generator", summary.generator)
    table.add_row(
        "video",
        f"{summary.width}x{summary.height} @ {summary.fps:g} fps, "
        f"{summary.frames} frames ({summary.duration:.2f} s), {summary.shots} shot(s)",
    )
    table.add_row(
        "faces",
        f"{summary.dubbed_frames} frames redrawn, "
        f"{summary.no_face_frames} without a face (left unchanged)",
    )
    if any(c.score is not None or c.note not in (None, "one face") for c in summary.shot_choices):
        label = "speakers" if summary.face_mode == "speaker map" else f"--face {summary.face_mode}"
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
