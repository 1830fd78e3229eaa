"""Plugin loading, isolation, and the views of the one registry (:mod:`lipdub.registry`).

Built-in components live in the modules of :data:`DEFAULT_PLUGINS` and are registered exactly
like third-party plugins, which are found through the ``lipdub`` entry-point group. Built-ins
load first, so they win any name clash. A third-party plugin that fails to import or to
register (it raises, registers an invalid item, or takes a name already taken) is skipped with
one :class:`RuntimeWarning` and listed by :func:`failed_plugins`; a built-in that fails is a
:class:`PluginError`. A hook implementation with no lipdub hook of its name (a misspelling such
as ``register_blender``) gets a warning.

Environment:
    ``LIPDUB_LOAD_PLUGINS``: comma-separated allow-list of third-party plugin names (entry-point
    names or distribution names); set it empty to load none.
    ``LIPDUB_DISABLE_PLUGIN_AUTOLOAD=1``: load no third-party plugins (for tests).
"""

from __future__ import annotations

import difflib
import importlib
import logging
import os
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from lipdub import hookspecs
from lipdub.cli import command_list
from lipdub.components import KINDS, Component
from lipdub.errors import PluginError
from lipdub.registry import Entry, Registry, registry_kinds

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "lipdub"
#: The distribution built-in plugins belong to.
BUILTIN_DISTRIBUTION = "lipdub"

DEFAULT_PLUGINS: tuple[str, ...] = (
    "lipdub.audio.mel",
    "lipdub.faces.mediapipe_tracker",
    "lipdub.faces.fixed_box",
    "lipdub.generators.wav2lip",
    "lipdub.generators.warp",
    "lipdub.blenders.mask",
    "lipdub.blenders.box",
    "lipdub.generators.wav2lip_onnx",
    "lipdub.enhancers.gfpgan",
    "lipdub.enhancers.codeformer",
    "lipdub.enhancers.gpen",
    "lipdub.enhancers.restoreformer",
    "lipdub.maskers.occlusion",
    "lipdub.maskers.parsing",
    "lipdub.weights.onnx_faces",
    "lipdub.weights.builtin",
    "lipdub.training.networks",
)

pm = pluggy.PluginManager("lipdub")
pm.add_hookspecs(hookspecs)

#: A registered component class and its plugin (``.cls``, ``.plugin``): a registry entry.
ComponentInfo = Entry

__all__ = [
    "KINDS",
    "ComponentInfo",
    "PluginInfo",
    "components",
    "entries",
    "failed_plugins",
    "get_component",
    "load_plugins",
    "plugin_infos",
    "register_commands",
    "register_plugin",
    "reset",
    "unregister_plugin",
]


@dataclass
class PluginInfo:
    """A plugin, where it comes from, the hooks it implements and what it registered."""

    name: str
    version: str | None
    builtin: bool
    #: The distribution (``pip`` package) that provides it.
    distribution: str | None = None
    hooks: list[str] = field(default_factory=list)
    #: Names of what it registered, by kind key (``{"blenders": ["soft"], "weights": [...]}``).
    registered: dict[str, list[str]] = field(default_factory=dict)
    #: ``"loaded"`` or ``"failed"`` (then :attr:`error` says why).
    status: str = "loaded"
    error: str | None = None

    @property
    def components(self) -> dict[str, list[str]]:
        """The component names it registered, by kind."""
        return {kind: names for kind, names in self.registered.items() if kind in KINDS}


_loaded = False
_registry = Registry()
_infos: dict[str, PluginInfo] = {}
_failed: dict[str, PluginInfo] = {}
_command_app: Any = None
_commands_done: set[str] = set()


def _allow_list() -> set[str] | None:
    value = os.environ.get("LIPDUB_LOAD_PLUGINS")
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def _lipdub_version() -> str:
    from lipdub import __version__

    return __version__


def load_plugins() -> None:
    """Register the built-ins and every installed (allowed) entry-point plugin, once."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    try:
        for module_name in DEFAULT_PLUGINS:
            _add_builtin(module_name)
    except BaseException:
        reset()
        raise
    if os.environ.get("LIPDUB_DISABLE_PLUGIN_AUTOLOAD", "") not in ("", "0"):
        return
    allowed = _allow_list()
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = entry_point.dist
        dist_name = dist.metadata["Name"] if dist is not None else None
        if allowed is not None and entry_point.name not in allowed and dist_name not in allowed:
            continue
        if pm.get_plugin(entry_point.name) is not None or entry_point.name in _failed:
            continue
        info = PluginInfo(
            name=entry_point.name,
            version=dist.version if dist is not None else None,
            builtin=False,
            distribution=dist_name,
        )
        try:
            plugin = entry_point.load()
        except Exception as exc:  # a broken plugin must not break lipdub
            _fail(info, _reason(exc), loading=True)
            continue
        try:
            _add(plugin, info)
        except PluginError as exc:
            _fail(info, str(exc))


def _add_builtin(module_name: str) -> None:
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        why = _reason(exc)
        raise PluginError(f"built-in plugin {module_name!r} failed to load: {why}") from exc
    info = PluginInfo(module_name, _lipdub_version(), True, BUILTIN_DISTRIBUTION)
    _add(module, info)


def _fail(info: PluginInfo, reason: str, loading: bool = False) -> None:
    """Record a skipped third-party plugin and warn once."""
    info.status = "failed"
    info.error = reason
    _failed[info.name] = info
    source = " ".join(part for part in (info.distribution, info.version) if part)
    who = f"lipdub plugin {info.name!r}" + (f" (from {source})" if info.distribution else "")
    if loading:
        message = f"{who} failed to load and was skipped ({reason})"
    else:
        own = f"plugin {info.name!r}"
        reason = reason.replace(f"{own} ", "it ", 1) if reason.startswith(f"{own} ") else reason
        message = f"{who} was skipped: {reason.removeprefix(f'{own}: ')}"
    warnings.warn(message, RuntimeWarning, stacklevel=3)


def _impls(plugin: Any) -> dict[str, Any]:
    """The plugin's ``register(...)``-style hook functions by kind key."""
    found = {}
    for key, kind in registry_kinds().items():
        caller = getattr(pm.hook, kind.hook, None)
        if not kind.via_register or caller is None:
            continue
        for impl in caller.get_hookimpls():
            if impl.plugin is plugin:
                found[key] = impl.function
    return found


def _unknown_hook_message(plugin: str, hook: str) -> str:
    known = [name for name in dir(hookspecs) if name.startswith("register_")]
    close = difflib.get_close_matches(hook, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"lipdub plugin {plugin!r} implements {hook!r}, which is not a lipdub hook{hint}"


def _add(plugin: Any, info: PluginInfo) -> None:
    """Register ``plugin`` with pluggy and its items with the registry, all or nothing."""
    name = info.name
    if name in _infos or pm.get_plugin(name) is not None:
        raise PluginError(f"a plugin named {name!r} is already registered")
    try:
        pm.register(plugin, name=name)
    except (pluggy.PluginValidationError, ValueError) as exc:
        raise PluginError(f"plugin {name!r} does not fit lipdub's hooks: {exc}") from None
    try:
        info.hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])
        for hook in info.hooks:
            if not getattr(pm.hook, hook).has_spec():  # a misspelling: never called
                if info.builtin:
                    raise PluginError(_unknown_hook_message(name, hook))
                warnings.warn(_unknown_hook_message(name, hook), RuntimeWarning, stacklevel=3)
        _registry.add(_registry.collect(name, _impls(plugin)))
    except BaseException:
        pm.unregister(plugin)
        raise
    _infos[name] = info


def register_plugin(
    plugin: Any, name: str, version: str | None = None, builtin: bool = False
) -> None:
    """Register a plugin object (usually a module) and what it registers.

    The built-ins (and installed plugins) are loaded first, so they keep their names; an
    invalid item or a name already taken raises :class:`PluginError` and registers nothing.
    """
    if not builtin:
        load_plugins()
    distribution = BUILTIN_DISTRIBUTION if builtin else None
    version = version or (_lipdub_version() if builtin else None)
    _add(plugin, PluginInfo(name, version, builtin, distribution))


def unregister_plugin(name: str) -> None:
    """Remove a plugin by name, with everything it registered (its commands included)."""
    plugin = pm.get_plugin(name)
    if plugin is not None:
        pm.unregister(plugin)
    removed = _registry.remove(name)
    if _command_app is not None:
        command_list.remove(_command_app, [e.value for e in removed if e.kind == "commands"])
    _infos.pop(name, None)
    _failed.pop(name, None)
    _commands_done.discard(name)


def register_commands(app: Any) -> None:
    """Run each plugin's ``register_commands(cli=app)`` once per process.

    The commands a plugin adds are attributed to it (the app's command lists are compared
    before and after its hook runs). A third-party plugin whose hook raises or adds a name
    already taken is skipped (its commands and components removed) with a warning. Calling
    again only puts back commands that something removed from the app's lists.
    """
    global _command_app
    load_plugins()
    if app is not _command_app:
        for entry in _registry.entries("commands").values():
            _registry.remove(entry.plugin, "commands")
        _command_app = app
        _commands_done.clear()
    command_list.ensure(app, [entry.value for entry in _registry.entries("commands").values()])
    for name, info in list(_infos.items()):
        if name in _commands_done:
            continue
        _commands_done.add(name)
        plugin = pm.get_plugin(name)
        for impl in pm.hook.register_commands.get_hookimpls():
            if impl.plugin is not plugin:
                continue
            try:
                _run_commands_hook(app, name, impl.function)
            except PluginError as exc:
                if info.builtin:
                    raise
                unregister_plugin(name)
                _fail(info, str(exc))
                break


def _run_commands_hook(app: Any, plugin: str, function: Any) -> None:
    before = command_list.snapshot(app)
    owners = {entry.name: entry.plugin for entry in _registry.entries("commands").values()}
    taken = {name: owners.get(name, "lipdub") for name in command_list.names(app)}
    try:
        function(cli=app)
    except Exception as exc:
        command_list.restore(app, before)
        raise PluginError(f"plugin {plugin!r}: register_commands raised {_reason(exc)}") from exc
    entries = []
    for info in command_list.added_since(app, before):
        name = command_list.command_name(info)
        if name in taken:
            command_list.restore(app, before)
            raise PluginError(
                f"plugin {plugin!r} registers command {name!r}, "
                f"a name already registered by {taken[name]!r}"
            )
        taken[name] = plugin
        entries.append(Entry("commands", name, info, plugin))
    _registry.add(entries)


def entries(kind: str) -> dict[str, Entry]:
    """Every registered item of ``kind`` (``"blenders"``, ``"weights"``, ``"eval_metrics"``,
    ``"training_networks"``, ``"commands"``...) by name, each with its plugin."""
    load_plugins()
    return _registry.entries(kind)


def components(kind: str) -> dict[str, ComponentInfo]:
    """The registered components of one kind (``"generators"``, ``"blenders"``, ...)."""
    if kind not in KINDS:
        raise KeyError(kind)
    return entries(kind)


def get_component(kind: str, name: str) -> type[Component]:
    """The class registered as ``name``; a :class:`PluginError` lists the choices if unknown."""
    available = components(kind)
    if name not in available:
        what = kind[:-1].replace("_", " ")
        choices = ", ".join(sorted(available)) or "none installed"
        raise PluginError(f"unknown {what} {name!r} (available: {choices})")
    return available[name].cls


def plugin_infos(include_failed: bool = False) -> list[PluginInfo]:
    """Every loaded plugin (and, if asked, every skipped one) with what it registered,
    built-ins first."""
    load_plugins()
    for info in _infos.values():
        found = _registry.of_plugin(info.name)
        info.registered = {kind: [e.name for e in items] for kind, items in found.items()}
    rows = [*_infos.values(), *(_failed.values() if include_failed else ())]
    return sorted(rows, key=lambda p: (not p.builtin, p.status != "loaded", p.name))


def failed_plugins() -> list[tuple[str, str]]:
    """Plugins that were skipped, as ``(name, reason)``."""
    load_plugins()
    return [(info.name, info.error or "") for info in _failed.values()]


def reset() -> None:
    """Forget every plugin (for tests); the next use loads them again."""
    global _loaded
    for name in [*_infos, *_failed]:
        unregister_plugin(name)
    _registry.clear()
    _commands_done.clear()
    _loaded = False
