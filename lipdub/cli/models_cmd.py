"""``lipdub models list | pull NAME | path NAME``."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lipdub.cli.render import err_console
from lipdub.errors import WeightsMissingError
from lipdub.weights.registry import cached_path, get_spec, local_path, pull, weight_specs

models_app = typer.Typer(help="Public checkpoints: list, download (pull) and locate them.")


@models_app.command("list")
def list_models(as_json: bool = typer.Option(False, "--json", help="Machine-readable.")) -> None:
    """List known checkpoints and whether they are in the local cache."""
    rows = []
    spec_sizes = {spec.name: spec.size_text for spec in weight_specs().values()}
    for spec in weight_specs().values():
        local = local_path(spec)
        rows.append(
            {
                "name": spec.name,
                "file": spec.filename or f"{spec.repos[0]} (model repository)",
                "size": spec.size or None,
                "sha256": spec.sha256 or None,
                "sources": spec.sources(),
                "cached": local is not None,
                "path": str(local) if local else None,
                "description": spec.description,
            }
        )
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="lipdub models", title_justify="left")
    for column in ("name", "file", "size", "cached", "what"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["name"],
            row["file"],
            spec_sizes[row["name"]],
            "yes" if row["cached"] else "no",
            row["description"],
        )
    Console().print(table)


@models_app.command("pull")
def pull_model(
    name: str = typer.Argument(..., help="A name from `lipdub models list`."),
    force: bool = typer.Option(False, "--force", help="Download again even if cached."),
) -> None:
    """Download a checkpoint into the cache and verify its SHA-256."""
    spec = get_spec(name)
    path = pull(name, force=force)  # offline: one error line within seconds
    if spec.licence:
        if spec.sources():
            err_console.print(f"[dim]source: {escape(', '.join(spec.sources()))}[/]")
        err_console.print(f"[dim]licence: {escape(spec.licence)}[/]")
    if not spec.sha256 and not spec.snapshot:
        err_console.print(f"[dim]no digest was published for {spec.filename}: size checked only[/]")
    typer.echo(str(path))


@models_app.command("path")
def model_path(name: str = typer.Argument(..., help="A name from `lipdub models list`.")) -> None:
    """Print where a checkpoint is cached (error if it has not been pulled)."""
    spec = get_spec(name)
    path = local_path(spec)
    if path is None:
        where = "the Hugging Face cache" if spec.snapshot else str(cached_path(spec))
        raise WeightsMissingError(
            f"{spec.name} is not downloaded: run `lipdub models pull {spec.name}` "
            f"(it would be stored in {where})"
        )
    typer.echo(str(path))


def register(app: typer.Typer) -> None:
    """Add the ``models`` command group."""
    app.add_typer(models_app, name="models")
