"""``lipdub batch``: dub a folder of videos (or a manifest's list) with every dub option."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from lipdub.batch.executors import EXECUTORS, RaySettings, require_ray
from lipdub.batch.pairing import BatchItem, Pairing, pair_folder, read_manifest
from lipdub.batch.report import BatchReport, ItemResult, write_report
from lipdub.batch.runner import BatchObserver, run_batch
from lipdub.cli.dub_cmd import (
    apply_log_level,
    fallback_note,
    request_from_options,
    with_dub_options,
)
from lipdub.cli.render import STAGE_LABELS, err_console
from lipdub.errors import InputError, OutputError
from lipdub.pipeline.dub import DubRequest
from lipdub.provenance.marking import NO_MARK_WARNING

BATCH_STAGE_LABELS = {**STAGE_LABELS, "load": "Loading models"}
STATUS_STYLES = {
    "done": "green",
    "skipped": "dim",
    "failed": "bold red",
    "interrupted": "yellow",
    "not started": "dim",
}


def default_jobs(cpus: int | None = None) -> int:
    """One item at a time on small machines (a single dub already keeps two cores busy with
    its ffmpeg decoder and encoder); on bigger ones, overlap a few items."""
    cpus = cpus or os.cpu_count() or 1
    return 1 if cpus <= 4 else min(4, cpus // 4)


class RichBatchProgress(BatchObserver):
    """Draws an overall bar plus one bar per running item (its current stage) on stderr."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.progress = Progress(
            TextColumn("{task.description:<40}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            disable=quiet,
        )
        self.overall: TaskID | None = None
        self.title = "Batch"
        self.slots: dict[int, TaskID] = {}
        self.names: dict[int, str] = {}
        self.failed = 0

    def __enter__(self) -> RichBatchProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def print(self, text: str) -> None:
        if self.quiet:
            return
        self.progress.console.print(text, highlight=False, soft_wrap=True)

    def batch_started(self, total: int, jobs: int) -> None:
        plural = "s" if jobs > 1 else ""
        self.title = f"Batch ({jobs} job{plural})" if jobs else "Batch"
        self.overall = self.progress.add_task(self.title, total=total)

    def _update_overall(self) -> None:
        """``Batch (2 jobs): 2 running, 1 failed`` on the overall bar."""
        if self.overall is None:
            return
        counts = [f"{len(self.names)} running"] if self.names else []
        counts += [f"{self.failed} failed"] if self.failed else []
        description = f"{self.title}: {', '.join(counts)}" if counts else self.title
        self.progress.update(self.overall, description=description)

    def item_started(self, slot: int, item: BatchItem) -> None:
        self.names[slot] = item.name
        if slot not in self.slots:
            self.slots[slot] = self.progress.add_task("", total=None)
        self.progress.update(self.slots[slot], description=f"  {item.name}", completed=0)
        self._update_overall()

    def item_progress(self, slot: int, stage: str, done: int, total: int | None) -> None:
        label = BATCH_STAGE_LABELS.get(stage, stage)
        total = max(total, done) if total is not None else None
        self.progress.update(
            self.slots[slot],
            description=f"  {self.names[slot]}: {label}",
            completed=done,
            total=total,
        )

    def item_finished(self, slot: int, result: ItemResult) -> None:
        self.names.pop(slot, None)
        if slot in self.slots:
            self.progress.update(self.slots[slot], description="  (idle)", completed=0, total=None)
        self.item_settled(result)

    def item_settled(self, result: ItemResult) -> None:
        if self.overall is not None:
            self.progress.advance(self.overall)
        self.failed += int(result.status == "failed")
        self._update_overall()
        style = STATUS_STYLES[result.status]
        line = f"[{style}]{result.status}[/] {result.name}"
        if result.status == "done":
            line += f" -> {result.output} ({result.seconds:.1f} s)"
        elif result.reason:
            line += f": {result.reason}"
        if self.quiet and result.status == "failed":
            err_console.print(line, highlight=False, soft_wrap=True)
        self.print(line)

    def note(self, line: str) -> None:
        self.print(line)


def batch_table(report: BatchReport) -> Table:
    """The summary of a batch: one row per item."""
    table = Table(title="lipdub batch", title_justify="left")
    for column in ("item", "status", "time", "output / reason"):
        table.add_column(column, overflow="fold")
    for result in report.results:
        style = STATUS_STYLES[result.status]
        detail = str(result.output) if result.status == "done" else (result.reason or "")
        seconds = f"{result.seconds:.1f} s" if result.status in ("done", "failed") else ""
        table.add_row(result.name, f"[{style}]{result.status}[/]", seconds, detail)
    return table


def totals_line(report: BatchReport) -> str:
    """``2 done, 1 failed in 4.2 s`` (statuses with a count only)."""
    counts = ", ".join(f"{n} {status}" for status, n in report.counts().items() if n)
    builds = report.component_builds
    where = [f"{report.jobs} job(s)"] if report.jobs else []
    where += [f"on {report.executor}"] if report.executor != "local" else []
    where += [f"models loaded {builds}x"] if builds else []
    return f"{counts} in {report.seconds:.1f} s" + (f" ({'; '.join(where)})" if where else "")


def _pairing(
    video_dir: Path | None,
    audio_dir: Path | None,
    audio: Path | None,
    manifest: Path | None,
    out_dir: Path | None,
) -> Pairing:
    if manifest is not None:
        if video_dir is not None or audio_dir is not None or audio is not None:
            raise InputError(
                "--manifest lists the inputs: give no VIDEO_DIR, --audio-dir or --audio"
            )
        return read_manifest(manifest, out_dir)
    if video_dir is None:
        raise InputError("give VIDEO_DIR (with --audio-dir or --audio) or --manifest CSV")
    if out_dir is None:
        raise InputError("give the output folder: -o OUT_DIR")
    if out_dir.absolute() == video_dir.absolute():
        raise InputError("choose an output folder other than the video folder")
    return pair_folder(video_dir, out_dir, audio_dir=audio_dir, audio=audio)


def _prepare_output_folders(pairing: Pairing, out_dir: Path | None, report: Path | None) -> None:
    if out_dir is not None:
        if out_dir.exists() and not out_dir.is_dir():
            raise OutputError(f"output folder {out_dir} is a file")
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create output folder {out_dir} ({exc.strerror})") from None
    if report is not None and not report.absolute().parent.is_dir():
        raise OutputError(f"cannot write the report {report}: its folder does not exist")


@with_dub_options
def batch_command(
    video_dir: Path | None = typer.Argument(
        None, help="Folder of videos (and/or still images) to dub.", show_default=False
    ),
    audio_dir: Path | None = typer.Option(
        None, "--audio-dir", help="Folder of dubs, paired with the videos by file name (stem)."
    ),
    audio: Path | None = typer.Option(
        None, "--audio", "-a", help="One audio (or video with audio) for every video."
    ),
    manifest: Path | None = typer.Option(
        None,
        "--manifest",
        help="CSV with a header: video, audio, optional output and per-row dub options "
        "(generator, checkpoint, face, pads, fps, fit, ..., and KIND.KEY columns such as "
        "blender.feather). Paths are relative to the CSV.",
    ),
    out_dir: Path | None = typer.Option(
        None, "--output-dir", "-o", help="Folder for the dubs (OUT_DIR/<video stem>.mp4)."
    ),
    report: Path | None = typer.Option(
        None, "--report", help="Also write a machine-readable JSON report here."
    ),
    jobs: int | None = typer.Option(
        None,
        "--jobs",
        "-j",
        min=1,
        help="Items processed at once (default: 1 on machines with up to 4 cores; with "
        "--executor ray, as many as the cluster's resources hold).",
    ),
    executor: str = typer.Option(
        "local",
        "--executor",
        help="Where the items run: local (worker threads here) or ray (actors on a Ray "
        "cluster; needs `pip install 'lipdub\\[ray]'`).",
    ),
    address: str | None = typer.Option(
        None,
        "--address",
        help="--executor ray: the cluster to join (`auto`: the one this machine belongs to; "
        "HOST:6379). Default: start a local Ray instance for the run.",
    ),
    gpus_per_job: float | None = typer.Option(
        None,
        "--gpus-per-job",
        min=0,
        help="--executor ray: GPUs each worker reserves (fractions share one; default: 1 "
        "when the cluster has GPUs, else 0).",
    ),
    cpus_per_job: float = typer.Option(
        1.0, "--cpus-per-job", min=0, help="--executor ray: CPUs each worker reserves."
    ),
    **options: Any,
) -> None:
    """Dub every video in VIDEO_DIR (or every row of --manifest); finished outputs are skipped,
    so an interrupted batch resumes where it stopped."""
    apply_log_level(options)
    if executor not in EXECUTORS:
        raise InputError(f"--executor must be one of {', '.join(EXECUTORS)}")
    if executor == "ray":
        require_ray()
    elif address is not None or gpus_per_job is not None or cpus_per_job != 1.0:
        raise InputError("--address, --gpus-per-job and --cpus-per-job need --executor ray")
    pairing = _pairing(video_dir, audio_dir, audio, manifest, out_dir)
    _prepare_output_folders(pairing, out_dir, report)
    checked = request_from_options(Path("video"), Path("audio"), None, options)  # fail now
    if not checked.mark:  # --no-mark: every output of the batch is unmarked
        err_console.print(f"[yellow]warning:[/] {NO_MARK_WARNING}", highlight=False, soft_wrap=True)
    quiet = options["quiet"]
    always = fallback_note(checked)  # scripts must learn that they got the weight-free one
    if quiet and always:
        err_console.print(always, highlight=False, soft_wrap=True)

    def make_request(item: BatchItem) -> DubRequest:
        assert item.video is not None and item.audio is not None
        flags = [*(options.get("option") or []), *item.options.get("option", [])]
        row = {**options, **item.options, "option": flags}
        return request_from_options(item.video, item.audio, item.output, row)

    with RichBatchProgress(quiet=quiet) as observer:
        for path in pairing.unmatched_audio:
            observer.print(f"[yellow]warning:[/] audio without a video: {path}")
        result = run_batch(
            pairing.items,
            make_request,
            jobs=jobs or (default_jobs() if executor == "local" else None),
            observer=observer,
            unmatched_audio=pairing.unmatched_audio,
            executor=executor,
            ray=RaySettings(address, gpus_per_job, cpus_per_job, quiet=not options["verbose"]),
        )
    if report is not None:
        write_report(result, report)
    if not quiet:
        err_console.print(batch_table(result))
        err_console.print(totals_line(result), highlight=False)
    if result.interrupted:
        err_console.print(
            "finished outputs are kept; run the same command again to resume", highlight=False
        )
        raise typer.Exit(130)  # the app adds "interrupted: nothing partial was left behind"
    if not result.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``batch`` command."""
    app.command("batch")(batch_command)
