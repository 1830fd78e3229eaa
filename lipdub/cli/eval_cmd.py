"""``lipdub eval``: lip-sync and image-quality metrics of one video, a folder or a manifest."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lipdub import defaults
from lipdub.cli.render import RichProgress, err_console
from lipdub.errors import InputError, LipdubError
from lipdub.pipeline.progress import no_progress

#: Columns shown in the terminal table (the report files hold them all).
TABLE_COLUMNS = (
    "lse_d", "lse_c", "av_offset", "pri", "agreement_r", "agreement_lag", "lmd", "psnr",
    "ssim", "psnr_face", "ssim_face", "fid",
)  # fmt: skip


def default_report(target: Path) -> Path:
    """``<video>_eval.json`` beside a video or manifest; ``<folder>/lipdub_eval.json``."""
    if target.is_dir():
        return target / "lipdub_eval.json"
    return target.with_name(f"{target.stem}_eval.json")


def _check_report_path(path: Path, inputs: list[Path], overwrite: bool) -> Path:
    from lipdub.media.writer import check_output_path

    if path.suffix.lower() != ".json":
        raise InputError(f"the report {path} must end in .json (a .csv is written beside it)")
    check_output_path(path, inputs, overwrite)
    check_output_path(path.with_suffix(".csv"), inputs, overwrite)
    return path


def _metric_label(column: str) -> str:
    from lipdub.eval.report import BETTER

    return column + {"lower": " ↓", "higher": " ↑"}.get(BETTER.get(column, ""), "")


def results_table(rows: list[dict[str, Any]], aggregate: dict[str, dict[str, float]]) -> Table:
    """One column per video (metrics down the side, so it fits a terminal), then mean ± std
    when there are several videos."""
    from lipdub.eval.report import format_value

    table = Table(
        title="lipdub eval", caption="↓ lower is better, ↑ higher is better", title_justify="left"
    )
    table.add_column("metric", style="bold")
    for row in rows:
        table.add_column(Path(row["video"]).name, justify="right", overflow="fold")
    if len(rows) > 1:
        table.add_column("mean ± std", justify="right")
    table.add_row("faces", *(f"{r.get('face_frames', 0)}/{r.get('frames', 0)}" for r in rows))
    for column in (c for c in TABLE_COLUMNS if any(c in row for row in rows)):
        cells = [format_value(row.get(column)) for row in rows]
        if len(rows) > 1:
            stat = aggregate.get(column)
            cells.append("-" if stat is None else f"{stat['mean']:.3f} ± {stat['std']:.3f}")
        table.add_row(_metric_label(column), *cells)
    if any(row.get("error") for row in rows):
        table.add_row("error", *(f"[red]{row.get('error') or ''}[/]" for row in rows))
    return table


def eval_command(
    target: Path = typer.Argument(
        ..., help="A video, a folder of videos, or a manifest (.csv / .json with a video column)."
    ),
    audio: Path | None = typer.Option(
        None, "--audio", "-a", help="Audio to judge the lips against (default: the video's own)."
    ),
    reference: Path | None = typer.Option(
        None,
        "--reference",
        "-r",
        help="Ground-truth video (or folder) for LMD, PSNR, SSIM and FID.",
    ),
    metrics: str | None = typer.Option(
        None,
        "--metrics",
        "-m",
        help="Comma-separated: lse, pri, agreement, lmd, psnr, ssim, fid, or a plugin's "
        "(default: every built-in whose weights and inputs are there).",
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Report file (.json; a .csv is written beside it)."
    ),
    syncnet: Path | None = typer.Option(
        None, "--syncnet", help="The original SyncNet weights (syncnet_v2.model) for LSE and PRI."
    ),
    fid_weights: Path | None = typer.Option(
        None, "--fid-weights", help="TorchScript Inception (inception-2015-12-05.pt) for FID."
    ),
    avhubert: Path | None = typer.Option(
        None, "--avhubert", help="AV-HuBERT checkpoint for the avsu, avsm and avsv metrics."
    ),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Write PNG plots per video."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    tracker: str = typer.Option(
        defaults.TRACKER,
        "--tracker",
        help="Face tracker that finds the faces (see lipdub plugins).",
    ),
    vshift: int = typer.Option(15, "--vshift", help="AV offsets searched: ±this many frames."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing report."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or table."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="More log output."),
    debug: bool = typer.Option(False, "--debug", help="Tracebacks on errors."),
) -> None:
    """Score lip sync (LSE-C/LSE-D, PRI, mouth-audio agreement) and image quality (LMD, PSNR,
    SSIM, FID against --reference) and write a JSON + CSV report with PNG plots."""
    from lipdub.eval.inputs import collect_items
    from lipdub.eval.plots import write_plots
    from lipdub.eval.report import aggregate, write_report
    from lipdub.eval.run import EvalSettings, evaluate_items, skipped_metrics

    if verbose:
        logging.getLogger().setLevel(logging.INFO)
    if vshift < 0:
        raise InputError("--vshift must be 0 or more")
    items, several = collect_items(target, audio, reference)
    report = output or default_report(target)
    inputs = [p for item in items for p in (item.video, item.audio, item.reference) if p]
    _check_report_path(report, inputs, overwrite)
    settings = EvalSettings(
        metrics=None if metrics is None else metrics.split(","),
        syncnet=syncnet,
        fid_weights=fid_weights,
        device=device,
        vshift=vshift,
        tracker=tracker,
        metric_options={} if avhubert is None else {"avhubert": avhubert},
    )
    for note in skipped_metrics(settings, items):
        err_console.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)
    if quiet:
        chosen, results = evaluate_items(items, settings, no_progress, keep_going=several)
    else:
        with RichProgress() as progress:
            chosen, results = evaluate_items(items, settings, progress, keep_going=several)
    rows = [result.row for result in results]
    written = list(
        write_report(
            report,
            rows,
            chosen,
            {
                "vshift": vshift,
                "syncnet": str(syncnet or ""),
                "avhubert": str(avhubert or ""),
                "device": device,
                "tracker": tracker,
            },
            [result.curves for result in results],
        )
    )
    if plots:
        folder = report.with_name(f"{report.stem}_plots")
        for number, result in enumerate(results, start=1):
            stem = f"{number:03d}_{Path(result.row['video']).stem}" if several else report.stem
            written += write_plots(result, folder, stem)
    for result in results:
        for note in result.notes:
            err_console.print(
                f"[yellow]warning:[/] {escape(note)}", highlight=False, soft_wrap=True
            )
    if not quiet:
        Console().print(results_table(rows, aggregate(rows)))
        err_console.print("wrote " + ", ".join(str(p) for p in written), highlight=False)
    failed = [row for row in rows if row.get("error")]
    if failed:
        raise LipdubError(
            f"{len(failed)} of {len(rows)} videos could not be evaluated "
            f"(first: {failed[0]['error']}); the report lists them"
        )


def register(app: typer.Typer) -> None:
    """Add the ``eval`` command."""
    app.command("eval")(eval_command)
