"""The plugin system: built-ins, validation, duplicates, broken plugins, allow-list."""

from __future__ import annotations

import json
import types
from collections.abc import Sequence

import numpy as np
import pytest

from lipdub import plugins
from lipdub.cli.app import main
from lipdub.components import Blender, Generator
from lipdub.errors import PluginError
from lipdub.hookspecs import hookimpl
from lipdub.types import Face, GeneratorInput, Patch


class EchoBlender(Blender):
    name = "echo"
    description = "returns the frame unchanged"

    def blend(self, frame: np.ndarray, patch: Patch, face: Face) -> np.ndarray:
        return frame


class NoopGenerator(Generator):
    name = "noop"
    needs_weights = False

    def generate(self, items: Sequence[GeneratorInput]) -> list[Patch]:
        return []


def plugin_module(name: str, **hooks) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook_name, function in hooks.items():
        setattr(module, hook_name, hookimpl(function))
    return module


class FakeDist:
    def __init__(self, name: str) -> None:
        self.metadata = {"Name": name}
        self.version = "9.9"


class FakeEntryPoint:
    def __init__(self, name: str, loader) -> None:
        self.name = name
        self.dist = FakeDist(f"dist-{name}")
        self._loader = loader

    def load(self):
        return self._loader()


@pytest.fixture
def entry_points(monkeypatch: pytest.MonkeyPatch, fresh_plugins):
    """Replace installed entry points by the fakes a test appends to the returned list."""
    fakes: list[FakeEntryPoint] = []
    monkeypatch.delenv("LIPDUB_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.setattr(plugins.metadata, "entry_points", lambda group: list(fakes))
    return fakes


def test_builtins_register_every_kind(fresh_plugins) -> None:
    assert {"mel"} <= set(plugins.components("audio_extractors"))
    assert {"mediapipe"} <= set(plugins.components("face_trackers"))
    assert {"wav2lip", "wav2lip-gan", "warp"} <= set(plugins.components("generators"))
    assert {"mask", "box"} <= set(plugins.components("blenders"))
    owner = plugins.components("blenders")["mask"].plugin
    assert owner == "lipdub.blenders.mask"


def test_entry_point_plugin_registers_and_is_listed(entry_points, capsys) -> None:
    module = plugin_module("echo_plugin", register_blenders=lambda register: register(EchoBlender))
    entry_points.append(FakeEntryPoint("echo", lambda: module))
    assert plugins.components("blenders")["echo"].plugin == "echo"
    assert main(["plugins", "--json"]) == 0
    listed = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert listed["echo"]["version"] == "9.9"
    assert listed["echo"]["components"] == {"blenders": ["echo"]}
    assert listed["lipdub.generators.warp"]["builtin"] is True


def test_register_refuses_duplicate_names(entry_points) -> None:
    class Impostor(EchoBlender):
        name = "mask"

    module = plugin_module("bad", register_blenders=lambda register: register(Impostor))
    entry_points.append(FakeEntryPoint("impostor", lambda: module))
    with pytest.raises(PluginError, match="'mask'.*already registered by 'lipdub.blenders.mask'"):
        plugins.components("blenders")


@pytest.mark.parametrize(
    ("registered", "message"),
    [
        (int, "not a subclass of lipdub.components.Blender"),
        (type("Nameless", (EchoBlender,), {"name": ""}), "has no valid `name`"),
        (type("Abstract", (Blender,), {"name": "abstract"}), "does not implement blend"),
    ],
)
def test_register_validates_classes(entry_points, registered, message) -> None:
    module = plugin_module("bad", register_blenders=lambda register: register(registered))
    entry_points.append(FakeEntryPoint("bad", lambda: module))
    with pytest.raises(PluginError, match=message):
        plugins.components("blenders")


def test_broken_plugin_warns_and_the_rest_works(entry_points) -> None:
    def broken():
        raise ImportError("No module named 'missing_dependency'")

    module = plugin_module("ok", register_generators=lambda register: register(NoopGenerator))
    entry_points.append(FakeEntryPoint("broken", broken))
    entry_points.append(FakeEntryPoint("fine", lambda: module))
    with pytest.warns(RuntimeWarning, match="'broken' failed to load.*missing_dependency"):
        generators = plugins.components("generators")
    assert "noop" in generators and "warp" in generators
    assert plugins.failed_plugins() == [
        ("broken", "ImportError: No module named 'missing_dependency'")
    ]


def test_allow_list_and_disable(entry_points, monkeypatch) -> None:
    first = plugin_module("a", register_blenders=lambda register: register(EchoBlender))
    second = plugin_module("b", register_generators=lambda register: register(NoopGenerator))
    entry_points.extend([FakeEntryPoint("a", lambda: first), FakeEntryPoint("b", lambda: second)])
    monkeypatch.setenv("LIPDUB_LOAD_PLUGINS", "b")
    assert "echo" not in plugins.components("blenders")
    assert "noop" in plugins.components("generators")
    plugins.reset()
    monkeypatch.setenv("LIPDUB_LOAD_PLUGINS", "")
    assert "noop" not in plugins.components("generators")
    plugins.reset()
    monkeypatch.delenv("LIPDUB_LOAD_PLUGINS")
    monkeypatch.setenv("LIPDUB_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert "noop" not in plugins.components("generators")
    assert "warp" in plugins.components("generators")


def test_unknown_component_lists_choices(fresh_plugins) -> None:
    with pytest.raises(PluginError, match=r"unknown blender 'nope' \(available: .*box.*mask"):
        plugins.get_component("blenders", "nope")
