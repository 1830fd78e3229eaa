"""Plugin loading and the component registry.

Built-in components live in the modules of :data:`DEFAULT_PLUGINS` and are registered exactly
like third-party plugins, which are found through the ``lipdub`` entry-point group.

Environment:
    ``LIPDUB_LOAD_PLUGINS``: comma-separated allow-list of third-party plugin names (entry-point
    names or distribution names); set it empty to load none.
    ``LIPDUB_DISABLE_PLUGIN_AUTOLOAD=1``: load no third-party plugins (for tests).
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from lipdub import hookspecs
from lipdub.components import KINDS, Component
from lipdub.errors import PluginError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "lipdub"

DEFAULT_PLUGINS: tuple[str, ...] = (
    "lipdub.audio.mel",
    "lipdub.faces.mediapipe_tracker",
    "lipdub.generators.wav2lip",
    "lipdub.generators.warp",
    "lipdub.blenders.mask",
    "lipdub.blenders.box",
    "lipdub.weights.builtin",
)

pm = pluggy.PluginManager("lipdub")
pm.add_hookspecs(hookspecs)


@dataclass
class PluginInfo:
    """A loaded plugin: its name, distribution version and what it registered."""

    name: str
    version: str | None
    builtin: bool
    components: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class ComponentInfo:
    """A registered component class and the plugin that supplied it."""

    cls: type[Component]
    plugin: str


_loaded = False
_plugin_info: dict[str, PluginInfo] = {}
_registry: dict[str, dict[str, ComponentInfo]] | None = None
_failed: list[tuple[str, str]] = []


def _allow_list() -> set[str] | None:
    value = os.environ.get("LIPDUB_LOAD_PLUGINS")
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def load_plugins() -> None:
    """Register the built-ins and every installed (allowed) entry-point plugin, once."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module_name in DEFAULT_PLUGINS:
        module = importlib.import_module(module_name)
        register_plugin(module, name=module_name, builtin=True)
    if os.environ.get("LIPDUB_DISABLE_PLUGIN_AUTOLOAD", "") not in ("", "0"):
        return
    allowed = _allow_list()
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = entry_point.dist
        dist_name = dist.metadata["Name"] if dist is not None else None
        if allowed is not None and entry_point.name not in allowed and dist_name not in allowed:
            continue
        if pm.get_plugin(entry_point.name) is not None:
            continue
        try:
            plugin = entry_point.load()
        except Exception as exc:  # a broken plugin must not break lipdub
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
            _failed.append((entry_point.name, reason))
            warnings.warn(
                f"lipdub plugin {entry_point.name!r} failed to load and was skipped ({reason})",
                RuntimeWarning,
                stacklevel=2,
            )
            continue
        register_plugin(
            plugin,
            name=entry_point.name,
            version=dist.version if dist is not None else None,
        )


def register_plugin(
    plugin: Any, name: str, version: str | None = None, builtin: bool = False
) -> None:
    """Register a plugin object (usually a module) with the plugin manager."""
    global _registry
    pm.register(plugin, name=name)
    if version is None and builtin:
        version = _lipdub_version()
    _plugin_info[name] = PluginInfo(name=name, version=version, builtin=builtin)
    _registry = None


def unregister_plugin(name: str) -> None:
    """Remove a plugin by name (for tests)."""
    global _registry
    plugin = pm.get_plugin(name)
    if plugin is not None:
        pm.unregister(plugin)
    _plugin_info.pop(name, None)
    _registry = None


def _lipdub_version() -> str:
    from lipdub import __version__

    return __version__


def _collect() -> dict[str, dict[str, ComponentInfo]]:
    registry: dict[str, dict[str, ComponentInfo]] = {kind: {} for kind in KINDS}
    for info in _plugin_info.values():
        info.components = {}
    for kind, base in KINDS.items():
        hook = getattr(pm.hook, f"register_{kind}")
        for impl in hook.get_hookimpls():
            plugin_name = pm.get_name(impl.plugin) or repr(impl.plugin)

            def register(cls: Any, _kind: str = kind, _base: type = base, _p: str = plugin_name):
                _validate(cls, _kind, _base, _p)
                taken = registry[_kind].get(cls.name)
                if taken is not None:
                    raise PluginError(
                        f"plugin {_p!r} registers {_kind[:-1].replace('_', ' ')} {cls.name!r}, "
                        f"a name already registered by {taken.plugin!r}"
                    )
                registry[_kind][cls.name] = ComponentInfo(cls=cls, plugin=_p)
                if _p in _plugin_info:
                    _plugin_info[_p].components.setdefault(_kind, []).append(cls.name)

            impl.function(register=register)
    return registry


def _validate(cls: Any, kind: str, base: type, plugin: str) -> None:
    what = kind[:-1].replace("_", " ")
    if not (inspect.isclass(cls) and issubclass(cls, base)):
        raise PluginError(
            f"plugin {plugin!r} registered {cls!r} as a {what}, "
            f"but it is not a subclass of lipdub.components.{base.__name__}"
        )
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name or name != name.strip():
        raise PluginError(f"plugin {plugin!r}: {what} {cls.__name__} has no valid `name`")
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(cls.__abstractmethods__))
        raise PluginError(f"plugin {plugin!r}: {what} {name!r} does not implement {missing}")


def components(kind: str) -> dict[str, ComponentInfo]:
    """The registered components of one kind (``"generators"``, ``"blenders"``, ...)."""
    global _registry
    if kind not in KINDS:
        raise KeyError(kind)
    load_plugins()
    if _registry is None:
        _registry = _collect()
    return _registry[kind]


def get_component(kind: str, name: str) -> type[Component]:
    """The class registered as ``name``; a :class:`PluginError` lists the choices if unknown."""
    available = components(kind)
    if name not in available:
        what = kind[:-1].replace("_", " ")
        choices = ", ".join(sorted(available)) or "none installed"
        raise PluginError(f"unknown {what} {name!r} (available: {choices})")
    return available[name].cls


def plugin_infos() -> list[PluginInfo]:
    """Every loaded plugin with the components it registered, built-ins first."""
    for kind in KINDS:
        components(kind)
    return sorted(_plugin_info.values(), key=lambda p: (not p.builtin, p.name))


def failed_plugins() -> list[tuple[str, str]]:
    """Plugins that failed to load, as ``(name, reason)``."""
    load_plugins()
    return list(_failed)


def reset() -> None:
    """Forget every plugin (for tests); the next use loads them again."""
    global _loaded, _registry
    for name in list(_plugin_info):
        plugin = pm.get_plugin(name)
        if plugin is not None:
            pm.unregister(plugin)
    _plugin_info.clear()
    _failed.clear()
    _registry = None
    _loaded = False
