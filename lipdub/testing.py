"""Helpers for testing lipdub plugins with pytest.

Register a plugin object (a module, class instance or :func:`plugin_module`) for one test and
have it removed afterwards, CLI commands included::

    # conftest.py
    pytest_plugins = ["lipdub.testing"]

    # test_my_plugin.py
    def test_listed(lipdub_plugins):
        lipdub_plugins.register(my_plugin, name="my-plugin")
        assert "softbox" in lipdub.plugins.components("blenders")

Outside pytest, :func:`plugin_registered` does the same as a context manager.

The contract checks of :mod:`lipdub.contracts` are here too: run them over your components
(``check_blender(MyBlender())``, ``check_generator``, ``check_tracker``, ``check_extractor``)
to test what lipdub relies on.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from lipdub import plugins
from lipdub.contracts import (  # noqa: F401 - re-exported for plugin authors
    check_blender,
    check_extractor,
    check_generator,
    check_tracker,
    synthetic_face,
    synthetic_frame,
)
from lipdub.hookspecs import hookimpl


def plugin_module(name: str, **hooks: Callable[..., Any]) -> types.ModuleType:
    """A throw-away plugin: a module whose ``hooks`` (``register_blenders=...``) are marked as
    hook implementations."""
    module = types.ModuleType(name)
    for hook_name, function in hooks.items():
        setattr(module, hook_name, hookimpl(function))
    return module


class PluginRegistrar:
    """Registers plugins and removes them (and any CLI commands they added) on :meth:`close`."""

    def __init__(self) -> None:
        from lipdub.cli import command_list
        from lipdub.cli.app import app, register_commands

        plugins.load_plugins()
        register_commands()  # the core and installed plugins' commands, before the snapshot
        self._app = app
        self._commands = command_list.snapshot(app)
        self._names: list[str] = []

    def register(self, plugin: Any, name: str | None = None, version: str | None = None) -> str:
        """Register ``plugin`` as ``name`` (default: its ``__name__``); returns the name."""
        name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        plugins.register_plugin(plugin, name=name, version=version)
        self._names.append(name)
        return name

    def unregister(self, name: str) -> None:
        """Remove one plugin registered here."""
        plugins.unregister_plugin(name)
        if name in self._names:
            self._names.remove(name)

    def close(self) -> None:
        """Remove every plugin registered here and restore the CLI's command list."""
        for name in reversed(self._names):
            plugins.unregister_plugin(name)
        self._names.clear()
        from lipdub.cli import command_list

        command_list.restore(self._app, self._commands)


@contextmanager
def plugin_registered(plugin: Any, name: str | None = None) -> Iterator[str]:
    """Register ``plugin`` for the ``with`` block; yields the name it was registered under."""
    registrar = PluginRegistrar()
    try:
        yield registrar.register(plugin, name)
    finally:
        registrar.close()


@pytest.fixture
def lipdub_plugins() -> Iterator[PluginRegistrar]:
    """A :class:`PluginRegistrar`: plugins registered through it are gone after the test."""
    registrar = PluginRegistrar()
    try:
        yield registrar
    finally:
        registrar.close()


@pytest.fixture
def isolated_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Only the built-in components, no installed third-party plugins, for the test."""
    monkeypatch.setenv("LIPDUB_DISABLE_PLUGIN_AUTOLOAD", "1")
    plugins.reset()
    yield
    plugins.reset()
