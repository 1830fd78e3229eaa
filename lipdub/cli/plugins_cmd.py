"""``lipdub plugins``: what is installed and what each plugin registers."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from lipdub.plugins import failed_plugins, plugin_infos


def plugins_data() -> list[dict]:
    """Installed plugins as plain data (the ``--json`` output)."""
    return [
        {
            "name": info.name,
            "version": info.version,
            "builtin": info.builtin,
            "components": {kind: sorted(names) for kind, names in info.components.items()},
        }
        for info in plugin_infos()
    ]


def plugins_command(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    all_plugins: bool = typer.Option(False, "--all", help="Include the built-in plugins."),
) -> None:
    """List installed plugins, their versions and the components they register."""
    data = plugins_data()
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    table = Table(title="lipdub plugins", title_justify="left")
    for column in ("plugin", "version", "components"):
        table.add_column(column)
    for row in data:
        if row["builtin"] and not all_plugins:
            continue
        parts = [f"{kind}: {', '.join(names)}" for kind, names in row["components"].items()]
        table.add_row(row["name"], row["version"] or "-", "\n".join(parts) or "-")
    console = Console()
    if table.row_count:
        console.print(table)
    else:
        console.print("no third-party plugins installed (--all shows the built-ins)")
    for name, reason in failed_plugins():
        console.print(f"[yellow]failed to load[/] {name}: {reason}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``plugins`` command."""
    app.command("plugins")(plugins_command)
