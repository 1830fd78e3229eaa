"""PNG plots of one evaluated video: per-frame sync confidence, mouth opening vs loudness."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from lipdub.eval.run import VideoResult
from lipdub.media.filemode import apply_umask

DPI = 100


def _figure(rows: int) -> object:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt.subplots(rows, 1, figsize=(9, 3.2 * rows), dpi=DPI, squeeze=False)


def _save(fig: object, path: Path) -> Path:
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".png", dir=path.parent)
    apply_umask(handle)
    os.close(handle)
    try:
        fig.tight_layout()  # type: ignore[attr-defined]
        fig.savefig(temp, format="png")  # type: ignore[attr-defined]
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    finally:
        plt.close(fig)  # type: ignore[arg-type]
    return path


def plot_sync(result: VideoResult, path: Path) -> Path | None:
    """Per-window SyncNet confidence over time, and mean distance per AV offset."""
    if result.framewise_confidence is None or result.mean_dists is None:
        return None
    fig, axes = _figure(2)  # type: ignore[misc]
    seconds = np.asarray(result.window_frames) / result.fps
    axes[0, 0].plot(seconds, result.framewise_confidence, color="tab:blue", lw=1.2)
    axes[0, 0].axhline(0, color="grey", lw=0.6)
    axes[0, 0].set(
        xlabel="time (s)",
        ylabel="confidence",
        title=f"per-frame sync confidence (LSE-C {result.row.get('lse_c', float('nan')):.2f})",
    )
    vshift = (len(result.mean_dists) - 1) // 2
    offsets = vshift - np.arange(len(result.mean_dists))
    axes[1, 0].plot(offsets, result.mean_dists, marker="o", ms=3, color="tab:orange")
    axes[1, 0].set(
        xlabel="AV offset (frames)",
        ylabel="mean distance",
        title=f"min distance {result.row.get('lse_d', float('nan')):.2f} "
        f"at offset {result.row.get('av_offset')}",
    )
    return _save(fig, path)


def plot_mouth(result: VideoResult, path: Path) -> Path | None:
    """Mouth opening and audio loudness per frame on a shared time axis."""
    if result.openings is None or result.loudness is None:
        return None
    fig, axes = _figure(1)  # type: ignore[misc]
    axis = axes[0, 0]
    seconds = np.arange(len(result.openings)) / result.fps
    axis.plot(seconds, result.openings, color="tab:red", lw=1.2, label="mouth opening")
    axis.set(xlabel="time (s)", ylabel="inner-lip gap / face height")
    twin = axis.twinx()
    twin.plot(seconds, result.loudness, color="tab:blue", lw=0.8, alpha=0.7, label="loudness")
    twin.set_ylabel("speech-band level (dB)")
    r, lag = result.row.get("agreement_r", float("nan")), result.row.get("agreement_lag")
    axis.set_title(f"mouth opening vs loudness (r {r:.2f} at lag {lag} frames)")
    lines = axis.get_lines() + twin.get_lines()
    axis.legend(lines, [line.get_label() for line in lines], loc="upper right", fontsize=8)
    return _save(fig, path)


def plot_curves(result: VideoResult, path: Path) -> Path | None:
    """Per-frame series of plugin metrics (e.g. the AV-HuBERT similarities) over time."""
    if not result.curves:
        return None
    fig, axes = _figure(1)  # type: ignore[misc]
    axis = axes[0, 0]
    for column, values in result.curves.items():
        mean = result.row.get(column, float("nan"))
        label = f"{column} (mean {mean:.3f})" if isinstance(mean, float) else column
        axis.plot(np.arange(len(values)), values, lw=1.0, label=label)
    axis.set(xlabel="frame (at the metric's rate)", ylabel="value", title="per-frame curves")
    axis.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def write_plots(result: VideoResult, folder: Path, stem: str) -> list[Path]:
    """The plots that ``result`` has data for, as ``folder/<stem>_sync.png``, ``_mouth.png``
    and ``_curves.png``."""
    written = [
        plot_sync(result, folder / f"{stem}_sync.png"),
        plot_mouth(result, folder / f"{stem}_mouth.png"),
        plot_curves(result, folder / f"{stem}_curves.png"),
    ]
    return [path for path in written if path is not None]
