"""``lipdub faces VIDEO``: list the face tracks (who is where, who speaks) and write a contact
sheet, so a user can pick ``--face``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from lipdub import defaults
from lipdub.errors import InputError
from lipdub.media.writer import check_output_path
from lipdub.pipeline.components import parse_option_flags
from lipdub.pipeline.face_list import list_faces, write_sheet
from lipdub.plugins import get_component


def faces_command(
    video: Path = typer.Argument(..., help="Video (any format ffmpeg reads) or a still image."),
    tracker: str = typer.Option(defaults.TRACKER, "--tracker", help="Face tracker."),
    option: list[str] | None = typer.Option(
        None, "--option", "-O", help="A tracker option, tracker.KEY=VALUE; repeatable."
    ),
    sheet: Path | None = typer.Option(
        None, "--sheet", help="Contact sheet PNG (default: <video>_faces.png beside the input)."
    ),
    no_sheet: bool = typer.Option(False, "--no-sheet", help="Write no contact sheet."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable list on stdout."),
    scene_threshold: float = typer.Option(
        defaults.SCENE_THRESHOLD, "--scene-threshold", help="Shot-cut sensitivity."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing sheet."),
) -> None:
    """List the face tracks of VIDEO: id, shots, frames, size and speaking score."""
    settings = parse_option_flags(option or [])
    unknown = sorted(set(settings) - {"tracker"})
    if unknown:
        raise InputError(f"lipdub faces takes only tracker options, not {', '.join(unknown)}")
    sheet_path = None
    if not no_sheet:
        sheet_path = sheet or video.with_name(f"{video.stem}_faces.png")
        check_output_path(sheet_path, [video], overwrite)
    cls = get_component("face_trackers", tracker)
    finder = cls(settings.get("tracker"))
    try:
        listing = list_faces(video, finder, scene_threshold)
    finally:
        finder.close()
    if sheet_path is not None and listing.rows:
        write_sheet(listing, sheet_path)
    elif sheet_path is not None:
        sheet_path = None
    if as_json:
        payload = {
            "video": str(video),
            "frames": listing.frames,
            "shots": listing.shots,
            "has_audio": listing.has_audio,
            "sheet": None if sheet_path is None else str(sheet_path),
            "tracks": [row.to_json() for row in listing.rows],
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    table = Table(title=f"faces in {video.name}", title_justify="left")
    for column in ("track", "shots", "frames", "mean size", "speaking score"):
        table.add_column(column)
    for row in listing.rows:
        score = "-" if row.speaking_score is None else f"{row.speaking_score:.2f}"
        table.add_row(
            str(row.id),
            ", ".join(str(s) for s in row.shots),
            str(row.frames),
            f"{row.mean_size:.0f} px",
            score,
        )
    console = Console()
    console.print(table)
    if not listing.rows:
        console.print("no face found")
    if not listing.has_audio:
        console.print("the video has no audio stream: no speaking scores")
    if sheet_path is not None:
        console.print(f"contact sheet: {sheet_path}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the ``faces`` command."""
    app.command("faces")(faces_command)
