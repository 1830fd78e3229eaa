"""The evaluation report: per-video rows and the mean ± std of every numeric column.

Written as JSON (``{"lipdub_version", "metrics", "settings", "videos": [...], "aggregate":
{column: {"mean", "std", "n"}}}``) and CSV (one row per video, then a ``mean`` and a ``std``
row). ``std`` is the population standard deviation over the videos that have the value.
Files are written to a temporary name and renamed, so a report is never half-written.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lipdub.media.filemode import apply_umask

#: Columns in report order; others (plugin metrics) follow in the order they appear.
COLUMN_ORDER = (
    "video", "audio", "reference", "fps", "frames", "face_frames",
    "lse_d", "lse_c", "av_offset", "sync_windows", "pri", "agreement_r", "agreement_lag",
    "lmd", "lmd_frames", "psnr", "ssim", "psnr_face", "ssim_face", "compared_frames", "fid",
)  # fmt: skip
#: Columns that describe a video rather than measure it (no mean is taken).
DESCRIPTIVE = {"video", "audio", "reference", "error", "fps"}

#: Which way is better, for the docs and the terminal table.
BETTER = {
    "lse_d": "lower", "lse_c": "higher", "pri": "lower", "agreement_r": "higher",
    "lmd": "lower", "psnr": "higher", "ssim": "higher", "psnr_face": "higher",
    "ssim_face": "higher", "fid": "lower",
}  # fmt: skip


def columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Every column of ``rows``, known ones first, ``error`` last."""
    present: list[str] = []
    for row in rows:
        present += [key for key in row if key not in present]
    ordered = [c for c in COLUMN_ORDER if c in present]
    ordered += [c for c in present if c not in ordered and c != "error"]
    return ordered + (["error"] if "error" in present else [])


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def aggregate(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, float | int]]:
    """``{column: {"mean", "std", "n"}}`` over the rows with a finite value in that column."""
    result: dict[str, dict[str, float | int]] = {}
    for column in columns(rows):
        if column in DESCRIPTIVE:
            continue
        values = [v for v in (_number(row.get(column)) for row in rows) if v is not None]
        if not values:
            continue
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        result[column] = {"mean": mean, "std": std, "n": len(values)}
    return result


def _clean(value: Any) -> Any:
    """JSON-safe values: NaN and infinities become null, numpy scalars plain numbers."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def report_dict(
    rows: Sequence[dict[str, Any]],
    metrics: Sequence[str],
    settings: dict[str, Any],
    curves: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The whole report as a JSON-ready dict; ``curves`` (per video, per-frame series by
    column, e.g. AVSu's) go into each video's entry under ``"curves"``."""
    from lipdub import __version__

    videos = [{key: _clean(row.get(key)) for key in columns([row])} for row in rows]
    for video, series in zip(videos, curves or [], strict=False):
        if series:
            video["curves"] = {
                column: [_clean(v) for v in values] for column, values in series.items()
            }
    return {
        "lipdub_version": __version__,
        "metrics": list(metrics),
        "settings": {key: _clean(value) for key, value in settings.items()},
        "videos": videos,
        "aggregate": aggregate(rows),
    }


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        apply_umask(handle)
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def csv_text(rows: Sequence[dict[str, Any]]) -> str:
    """Per-video rows, then ``mean`` and ``std`` rows (in the ``video`` column)."""
    names = columns(rows)
    stats = aggregate(rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)

    def cell(value: Any) -> Any:
        value = _clean(value)
        return "" if value is None else value

    for row in rows:
        writer.writerow([cell(row.get(name)) for name in names])
    for stat in ("mean", "std"):
        writer.writerow(
            [stat if name == "video" else cell(stats.get(name, {}).get(stat)) for name in names]
        )
    return buffer.getvalue()


def write_report(
    path: Path,
    rows: Sequence[dict[str, Any]],
    metrics: Sequence[str],
    settings: dict[str, Any],
    curves: Sequence[Mapping[str, Any]] | None = None,
) -> tuple[Path, Path]:
    """Write ``path`` (JSON, with the per-frame ``curves``) and the CSV beside it (same name,
    ``.csv``); both paths."""
    csv_path = path.with_suffix(".csv")
    report = report_dict(rows, metrics, settings, curves)
    _write_atomic(path, json.dumps(report, indent=2, default=str) + "\n")
    _write_atomic(csv_path, csv_text(rows))
    return path, csv_path


def format_value(value: Any) -> str:
    """A cell for the terminal table."""
    value = _clean(value)
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:.1f}"
    return str(value)
