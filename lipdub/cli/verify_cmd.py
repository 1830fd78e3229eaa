"""``lipdub verify FILE``: is this video marked as a lipdub (manifest, watermark, tags)?

Exit 0 when any mark is found, 1 when none is.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lipdub import defaults
from lipdub.provenance.manifest import DIGITAL_SOURCE_TYPE
from lipdub.provenance.verify import DEFAULT_MAX_FRAMES, VerifyReport

#: Exit code when no mark was found.
UNMARKED = 1


def _manifest_text(report: VerifyReport) -> str:
    found = report.manifest
    if found.state == "absent":
        return "absent"
    parts = [found.state]
    if found.claim_generator:
        parts.append(f"by {found.claim_generator}")
    if found.actions:
        parts.append("actions " + ", ".join(found.actions))
    if DIGITAL_SOURCE_TYPE in found.digital_source_types:
        parts.append("compositeWithTrainedAlgorithmicMedia")
    if found.parameters:
        parts.append(", ".join(f"{key} {value}" for key, value in found.parameters.items()))
    if found.signer:
        parts.append(f"signer {found.signer}")
    if found.ingredients:
        parts.append("from " + ", ".join(found.ingredients))
    if found.state == "invalid" and found.failures:
        parts.append("failures: " + ", ".join(found.failures[:3]))
    return "; ".join(parts)


def _watermark_text(report: VerifyReport) -> str:
    mark = report.watermark
    if mark is None:
        return f"not checked ({report.watermark_note})"
    state = "found" if mark.found else "not found"
    text = f"{state} (confidence z = {mark.confidence:.1f} over {mark.frames} face frames)"
    if mark.found:
        version = mark.version or "(version bits unreadable)"
        text += f"; payload lipdub {version}"
    return text


def _tags_text(report: VerifyReport) -> str:
    if not report.tags:
        return "none"
    return "; ".join(f"{key}: {value}" for key, value in report.tags.items())


def verify_command(
    file: Path = typer.Argument(..., help="The video to check."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable report on stdout."),
    tracker: str = typer.Option(defaults.TRACKER, "--tracker", help="Face tracker."),
    max_frames: int = typer.Option(
        DEFAULT_MAX_FRAMES, "--max-frames", min=1, help="Frames read to look for the watermark."
    ),
) -> None:
    """Check FILE for lipdub's marks: C2PA manifest, invisible watermark, metadata tags.

    Exit 0 when a mark is found, 1 when none is."""
    from lipdub.plugins import get_component
    from lipdub.provenance.verify import verify

    finder = get_component("face_trackers", tracker)()
    try:
        report = verify(file, finder, max_frames)
    finally:
        finder.close()
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        table = Table(title=f"lipdub verify: {escape(file.name)}", title_justify="left")
        table.add_column("mark", style="bold")
        table.add_column("result", overflow="fold")
        table.add_row("manifest", escape(_manifest_text(report)))
        table.add_row("watermark", escape(_watermark_text(report)))
        table.add_row("tags", escape(_tags_text(report)))
        verdict = (
            "marked as synthetic media (" + ", ".join(report.marks) + ")"
            if report.marked
            else "no lipdub mark found"
        )
        table.add_row("verdict", verdict)
        Console().print(table)
    if not report.marked:
        raise typer.Exit(UNMARKED)


def register(app: typer.Typer) -> None:
    """Add the ``verify`` command."""
    app.command("verify")(verify_command)
