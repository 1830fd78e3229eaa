"""Defaults for command-line options from ``$XDG_CONFIG_HOME/lipdub/config.toml``.

Top-level keys set defaults of the dub options (``lipdub VIDEO``, ``lipdub dub`` and
``lipdub batch``); a ``[COMMAND]`` table (``[dub]``, ``[batch]``, ``[eval]``, ...) sets that
command's own. Keys are option names without the dashes (``scene-threshold`` or
``scene_threshold``). Flags on the command line always win. ``LIPDUB_CONFIG`` names another
file; ``LIPDUB_CONFIG=`` (empty) reads none.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from lipdub.errors import InputError

CONFIG_ENV = "LIPDUB_CONFIG"
#: Commands whose defaults the top-level keys set.
DUB_COMMANDS = ("dub", "batch")


def config_path() -> Path | None:
    """The config file to read (it may not exist); None when ``LIPDUB_CONFIG`` is empty."""
    configured = os.environ.get(CONFIG_ENV)
    if configured is not None:
        return Path(configured).expanduser() if configured.strip() else None
    base = os.environ.get("XDG_CONFIG_HOME", "").strip()
    root = Path(base) if base else Path.home() / ".config"
    return root / "lipdub" / "config.toml"


def read_config(path: Path) -> dict[str, Any]:
    """The TOML table in ``path`` (empty when the file does not exist); one-line errors."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise InputError(f"config {path}: cannot read it ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"config {path}: not valid TOML ({exc})") from None


def default_map(group: Any, table: dict[str, Any], path: Path) -> dict[str, dict[str, Any]]:
    """click's ``default_map`` for the commands of ``group`` from a config ``table``;
    InputError for a key that is no option of its command."""
    shared = {k: v for k, v in table.items() if not isinstance(v, dict)}
    sections = {k: v for k, v in table.items() if isinstance(v, dict)}
    result: dict[str, dict[str, Any]] = {}
    for name in DUB_COMMANDS:
        if name in group.commands and shared:
            result[name] = _defaults_for(group.commands[name], name, shared, path)
    for name, values in sections.items():
        if name not in group.commands:
            known = ", ".join(sorted(group.commands))
            raise InputError(f"config {path}: [{name}] is not a lipdub command ({known})")
        own = _defaults_for(group.commands[name], name, values, path)
        result[name] = {**result.get(name, {}), **own}
    return result


def _defaults_for(command: Any, name: str, values: dict[str, Any], path: Path) -> dict[str, Any]:
    params = {p.name: p for p in command.params if p.name}
    out: dict[str, Any] = {}
    for key, value in values.items():
        param_name = key.strip().lstrip("-").replace("-", "_")
        param = params.get(param_name)
        if param is None or getattr(param, "param_type_name", "") == "argument":
            raise InputError(f"config {path}: {key!r} is not an option of lipdub {name}")
        if getattr(param, "multiple", False) and not isinstance(value, list):
            value = [value]
        if isinstance(value, list):
            value = [str(v) if not isinstance(v, bool) else v for v in value]
        out[param_name] = value
    return out


def load_default_map(group: Any) -> dict[str, dict[str, Any]] | None:
    """The ``default_map`` from the user's config file (None without one)."""
    path = config_path()
    if path is None:
        return None
    table = read_config(path)
    return default_map(group, table, path) if table else None
