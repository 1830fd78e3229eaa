"""Bookkeeping of a typer app's command list: what a registration added, putting it back.

Commands and groups are the ``CommandInfo``/``TyperInfo`` objects in ``app.registered_commands``
and ``app.registered_groups``; they are compared by identity. A leaf module: it imports nothing
of lipdub.
"""

from __future__ import annotations

from typing import Any

Snapshot = tuple[list[Any], list[Any]]


def snapshot(app: Any) -> Snapshot:
    """Copies of the app's command and group lists."""
    return list(app.registered_commands), list(app.registered_groups)


def restore(app: Any, before: Snapshot) -> None:
    """Put the app's lists back as they were at :func:`snapshot`."""
    app.registered_commands[:] = before[0]
    app.registered_groups[:] = before[1]


def _contains(items: list[Any], info: Any) -> bool:
    return any(item is info for item in items)


def added_since(app: Any, before: Snapshot) -> list[Any]:
    """Commands and groups added after ``before`` was taken."""
    commands = [c for c in app.registered_commands if not _contains(before[0], c)]
    groups = [g for g in app.registered_groups if not _contains(before[1], g)]
    return commands + groups


def _is_group(info: Any) -> bool:
    return hasattr(info, "typer_instance")


def command_name(info: Any) -> str:
    """The name a command or group is invoked by (typer's rule: the callback's name, ``_``
    as ``-``, unless one was given)."""
    name = getattr(info, "name", None)
    if isinstance(name, str) and name:
        return name
    if _is_group(info):
        inner = getattr(getattr(info, "typer_instance", None), "info", None)
        name = getattr(inner, "name", None)
        return name if isinstance(name, str) else ""
    callback = getattr(info, "callback", None)
    return callback.__name__.lower().replace("_", "-") if callback is not None else ""


def names(app: Any) -> list[str]:
    """The names of every command and group of the app."""
    return [command_name(info) for info in [*app.registered_commands, *app.registered_groups]]


def ensure(app: Any, infos: list[Any]) -> None:
    """Append each of ``infos`` the app's lists lack (after something restored an old list)."""
    for info in infos:
        target = app.registered_groups if _is_group(info) else app.registered_commands
        if not _contains(target, info):
            target.append(info)


def remove(app: Any, infos: list[Any]) -> None:
    """Take ``infos`` out of the app's lists."""
    for target in (app.registered_commands, app.registered_groups):
        target[:] = [item for item in target if not _contains(infos, item)]
