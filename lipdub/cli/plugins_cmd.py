"""``lipdub plugins``: what is installed, where it comes from and what each plugin registers."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lipdub.options import describe_options
from lipdub.plugins import KINDS, PluginInfo, components, plugin_infos
from lipdub.registry import VALUE_KINDS


def _component(cls: Any) -> dict[str, Any]:
    return {
        "name": cls.name,
        "description": getattr(cls, "description", "") or "",
        "options": [option.as_dict() for option in describe_options(cls)],
    }


def plugin_data(info: PluginInfo) -> dict[str, Any]:
    """One plugin as plain data (a row of the ``--json`` output)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for kind, names in info.components.items():
        registered = components(kind)
        found[kind] = [_component(registered[name].cls) for name in names if name in registered]
    data: dict[str, Any] = {
        "name": info.name,
        "distribution": info.distribution,
        "version": info.version,
        "builtin": info.builtin,
        "hooks": list(info.hooks),
        "components": found,
    }
    for kind in VALUE_KINDS:
        data[kind.column] = list(info.registered.get(kind.key, []))
    data["status"] = info.status
    data["error"] = info.error
    return data


def plugins_data(include_builtin: bool = True) -> list[dict[str, Any]]:
    """Installed plugins, skipped ones included (``"status": "failed"``), as plain data."""
    return [
        plugin_data(info)
        for info in plugin_infos(include_failed=True)
        if include_builtin or not info.builtin
    ]


def options_data() -> list[dict[str, Any]]:
    """Every option of every registered component (the ``--options --json`` output)."""
    rows = []
    for kind in KINDS:
        for name, entry in sorted(components(kind).items()):
            for option in describe_options(entry.cls):
                data = option.as_dict()
                rows.append(
                    {
                        "kind": entry.cls.kind,
                        "component": name,
                        "plugin": entry.plugin,
                        "option": data.pop("name"),
                        "allowed": _bounds(option.allowed(), option.type),
                        **data,
                    }
                )
    return rows


def _bounds(allowed: str, type_name: str) -> str:
    """The bounds and choices part of :meth:`OptionInfo.allowed` (without the type)."""
    return allowed.removeprefix(type_name).removeprefix(", ")


def _provides(row: dict[str, Any]) -> str:
    if row["status"] != "loaded":
        return f"[red]failed[/]: {escape(row['error'] or '')}"
    lines = []
    for kind, items in row["components"].items():
        lines.append(f"[bold]{kind.replace('_', ' ')}[/]:")
        for item in items:
            options = ", ".join(option["name"] for option in item["options"])
            text = f"  {escape(item['name'])}"
            text += f" - {escape(item['description'])}" if item["description"] else ""
            text += f" [dim](options: {escape(options)})[/]" if options else ""
            lines.append(text)
    for kind in VALUE_KINDS:
        if row[kind.column]:
            names = ", ".join(row[kind.column])
            lines.append(f"[bold]{kind.column.replace('_', ' ')}[/]: {escape(names)}")
    if row["hooks"]:
        lines.append(f"[dim]hooks: {', '.join(row['hooks'])}[/]")
    return "\n".join(lines) or "-"


def _plugins_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="lipdub plugins", title_justify="left", show_lines=True)
    table.add_column("plugin (distribution)", no_wrap=True)
    table.add_column("provides", overflow="fold")
    for row in rows:
        source = " ".join(part for part in (row["distribution"], row["version"]) if part)
        name = escape(row["name"]) + (f"\n[dim]{escape(source)}[/]" if source else "")
        table.add_row(name, _provides(row))
    return table


def _options_table(rows: list[dict[str, Any]]) -> Table:
    """One section per component: ``--option`` key, type, default, bounds and description."""
    table = Table(title="component options (--option KIND.KEY=VALUE)", title_justify="left")
    table.add_column("option", no_wrap=True)
    table.add_column("type", no_wrap=True)
    table.add_column("default", no_wrap=True)
    table.add_column("description", overflow="fold")
    current = None
    for row in rows:
        if (row["kind"], row["component"]) != current:
            if current is not None:
                table.add_section()
            current = (row["kind"], row["component"])
            table.add_row(f"[bold]{escape(row['kind'])} {escape(row['component'])}[/]", "", "", "")
        default = "none" if row["default"] is None else json.dumps(row["default"])
        text = escape(row["description"])
        if row["allowed"]:
            text += f" [dim]({escape(row['allowed'])})[/]"
        key = f"  {row['kind']}.{row['option']}"
        table.add_row(escape(key), escape(row["type"]), escape(default), text)
    return table


def plugins_command(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    all_plugins: bool = typer.Option(False, "--all", help="Include the built-in plugins."),
    options: bool = typer.Option(
        False, "--options", help="List every option of every component (--option KIND.KEY=V)."
    ),
) -> None:
    """List installed plugins: distribution, version, hooks and what each registers."""
    console = Console()
    if options:
        option_rows = options_data()
        if as_json:
            typer.echo(json.dumps(option_rows, indent=2))
        else:
            console.print(_options_table(option_rows))
        return
    rows = plugins_data(include_builtin=all_plugins)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if rows:
        console.print(_plugins_table(rows))
    else:
        console.print("no third-party plugins installed (--all shows the built-ins)")


def register(app: typer.Typer) -> None:
    """Add the ``plugins`` command."""
    app.command("plugins")(plugins_command)
