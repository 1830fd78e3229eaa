"""The plugin system: built-ins, validation, clashes, broken plugins, misspelt hooks,
allow-list (the listing by ``lipdub plugins`` is in test_plugins_cli.py)."""

from __future__ import annotations

import types
import warnings
from collections.abc import Sequence

import numpy as np
import pytest

from lipdub import hookspecs, plugins
from lipdub.components import Blender, Generator
from lipdub.errors import PluginError
from lipdub.eval.metric import EvalMetric, EvalSample
from lipdub.hookspecs import hookimpl
from lipdub.registry import registry_kinds
from lipdub.types import Face, GeneratorInput, Patch
from lipdub.weights.spec import WeightSpec


class EchoBlender(Blender):
    name = "echo"
    description = "returns the frame unchanged"

    def blend(self, frame: np.ndarray, patch: Patch, face: Face) -> np.ndarray:
        return frame


class Impostor(EchoBlender):
    name = "mask"


class NoopGenerator(Generator):
    name = "noop"
    needs_weights = False

    def generate(self, items: Sequence[GeneratorInput]) -> list[Patch]:
        return []


class SecondsMetric(EvalMetric):
    name = "seconds"

    def compute(self, sample: EvalSample) -> dict[str, float]:
        return {"seconds": 0.0}


def plugin_module(name: str, **hooks) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook_name, function in hooks.items():
        setattr(module, hook_name, hookimpl(function))
    return module


def registers(*items):
    """A hook implementation registering ``items``."""
    return lambda register: [register(item) for item in items]


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
    monkeypatch.delenv("LIPDUB_LOAD_PLUGINS", raising=False)
    monkeypatch.setattr(plugins.metadata, "entry_points", lambda group: list(fakes))
    return fakes


def add(entry_points: list, name: str, **hooks) -> None:
    module = plugin_module(name, **hooks)
    entry_points.append(FakeEntryPoint(name, lambda: module))


def test_builtins_register_every_kind(fresh_plugins) -> None:
    assert {"mel"} <= set(plugins.components("audio_extractors"))
    assert {"mediapipe"} <= set(plugins.components("face_trackers"))
    assert {"wav2lip", "wav2lip-gan", "warp"} <= set(plugins.components("generators"))
    assert {"mask", "box"} <= set(plugins.components("blenders"))
    assert plugins.components("blenders")["mask"].plugin == "lipdub.blenders.mask"
    assert plugins.entries("weights")["wav2lip"].plugin == "lipdub.weights.builtin"
    assert plugins.entries("training_networks")["mel"].plugin == "lipdub.training.networks"
    assert all(info.status == "loaded" for info in plugins.plugin_infos())


def test_every_kind_has_a_hook_spec() -> None:
    for kind in registry_kinds().values():
        spec = getattr(hookspecs, kind.hook)
        assert hasattr(spec, "lipdub_spec"), kind.hook
        assert plugins.pm.hook.__dict__[kind.hook].has_spec()


def test_a_new_component_kind_gets_a_generated_spec() -> None:
    spec = hookspecs._component_hook("enhancers", Blender)
    assert spec.__name__ == "register_enhancers" and hasattr(spec, "lipdub_spec")


def test_clash_with_a_builtin_skips_the_plugin_naming_both(entry_points) -> None:
    add(entry_points, "impostor", register_blenders=registers(EchoBlender, Impostor))
    add(entry_points, "fine", register_generators=registers(NoopGenerator))
    with pytest.warns(RuntimeWarning) as caught:
        blenders = plugins.components("blenders")
    (message,) = [str(w.message) for w in caught]
    assert "'impostor' (from dist-impostor 9.9) was skipped: it registers" in message
    assert "blender 'mask', a name already registered by 'lipdub.blenders.mask'" in message
    assert blenders["mask"].plugin == "lipdub.blenders.mask"
    assert "echo" not in blenders  # all of a plugin's items or none
    assert "noop" in plugins.components("generators")
    assert [name for name, _ in plugins.failed_plugins()] == ["impostor"]


def test_clash_between_plugins_keeps_the_first(entry_points) -> None:
    add(entry_points, "first", register_eval_metrics=registers(SecondsMetric))
    add(entry_points, "second", register_eval_metrics=registers(SecondsMetric))
    with pytest.warns(RuntimeWarning, match="'second' .* it registers eval metric 'seconds', "
                      "a name already registered by 'first'"):  # fmt: skip
        metrics = plugins.entries("eval_metrics")
    assert metrics["seconds"].plugin == "first"


def test_weight_clash_is_not_silently_dropped(entry_points) -> None:
    spec = WeightSpec("WAV2LIP", "other.pth", "0" * 64, 1, ("someone/else",))
    add(entry_points, "weights", register_weights=registers(spec))
    with pytest.warns(RuntimeWarning, match="weight 'wav2lip'.*'lipdub.weights.builtin'"):
        from lipdub.weights.registry import get_spec

        assert get_spec("wav2lip").filename == "wav2lip.pth"


def _raises(register) -> None:
    raise RuntimeError("boom")


@pytest.mark.parametrize(
    ("hook", "message"),
    [
        (registers(int), "not a subclass of lipdub.components.Blender"),
        (registers(type("Nameless", (EchoBlender,), {"name": ""})), "has no valid `name`"),
        (registers(type("Abstract", (Blender,), {"name": "abs"})), "does not implement blend"),
        (registers(type("Bad", (EchoBlender,), {"name": "bad", "Options": int})), "Options"),
        (registers(EchoBlender, EchoBlender), "registers blender 'echo' twice"),
        (_raises, "register_blenders raised RuntimeError: boom"),
    ],
)
def test_invalid_registration_skips_the_plugin(entry_points, hook, message) -> None:
    add(entry_points, "bad", register_blenders=hook)
    with pytest.warns(RuntimeWarning, match=r"'bad' \(from dist-bad 9.9\) was skipped") as caught:
        assert "mask" in plugins.components("blenders")
    assert message in str(caught[0].message)
    assert [name for name, _ in plugins.failed_plugins()] == ["bad"]
    assert "bad" not in {info.name for info in plugins.plugin_infos()}


def test_invalid_weight_and_metric_are_refused(fresh_plugins) -> None:
    plugins.load_plugins()
    with pytest.raises(PluginError, match="expects WeightSpec objects"):
        plugins.register_plugin(plugin_module("w", register_weights=registers("x")), name="w")
    bad = plugin_module("m", register_eval_metrics=registers(EvalMetric))
    with pytest.raises(PluginError, match="eval metric .* has no valid `name`"):
        plugins.register_plugin(bad, name="m")
    assert "w" not in {info.name for info in plugins.plugin_infos()}


def test_register_plugin_raises_on_a_clash_and_registers_nothing(fresh_plugins) -> None:
    module = plugin_module("dup", register_blenders=registers(EchoBlender, Impostor))
    with pytest.raises(PluginError, match="'mask'.*already registered by 'lipdub.blenders.mask'"):
        plugins.register_plugin(module, name="dup")
    assert "echo" not in plugins.components("blenders")
    plugins.register_plugin(plugin_module("ok", register_blenders=registers(EchoBlender)), "ok")
    assert plugins.components("blenders")["echo"].plugin == "ok"
    plugins.unregister_plugin("ok")
    assert "echo" not in plugins.components("blenders")


def test_broken_plugin_warns_and_the_rest_works(entry_points) -> None:
    def broken():
        raise ImportError("No module named 'missing_dependency'")

    entry_points.append(FakeEntryPoint("broken", broken))
    add(entry_points, "fine", register_generators=registers(NoopGenerator))
    with pytest.warns(RuntimeWarning, match="'broken' .*failed to load.*missing_dependency"):
        generators = plugins.components("generators")
    assert "noop" in generators and "warp" in generators
    assert plugins.failed_plugins() == [
        ("broken", "ImportError: No module named 'missing_dependency'")
    ]


def test_misspelt_hook_warns_naming_plugin_and_hook(entry_points) -> None:
    add(entry_points, "typo", register_blender=registers(EchoBlender))
    with pytest.warns(RuntimeWarning) as caught:
        plugins.load_plugins()
    (message,) = [str(w.message) for w in caught]
    assert "'typo' implements 'register_blender', which is not a lipdub hook" in message
    assert "did you mean 'register_blenders'?" in message
    (info,) = [info for info in plugins.plugin_infos() if info.name == "typo"]
    assert info.hooks == ["register_blender"] and info.status == "loaded"


def test_a_failing_builtin_is_an_error(fresh_plugins, monkeypatch) -> None:
    monkeypatch.setattr(plugins, "DEFAULT_PLUGINS", ("lipdub.audio.mel", "lipdub.no_such"))
    with pytest.raises(PluginError, match="built-in plugin 'lipdub.no_such' failed to load"):
        plugins.components("blenders")
    monkeypatch.setattr(plugins, "DEFAULT_PLUGINS", ("lipdub.audio.mel", "lipdub.audio.mel"))
    with pytest.raises(PluginError, match="already registered"):
        plugins.load_plugins()
    monkeypatch.undo()
    assert "mask" in plugins.components("blenders")  # nothing half-loaded was kept


def test_allow_list_and_disable(entry_points, monkeypatch) -> None:
    add(entry_points, "a", register_blenders=registers(EchoBlender))
    add(entry_points, "b", register_generators=registers(NoopGenerator))
    monkeypatch.setenv("LIPDUB_LOAD_PLUGINS", "b")
    assert "echo" not in plugins.components("blenders")
    assert "noop" in plugins.components("generators")
    plugins.reset()
    monkeypatch.setenv("LIPDUB_LOAD_PLUGINS", "dist-a")  # distribution names work too
    assert "echo" in plugins.components("blenders")
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


def test_loading_twice_warns_once(entry_points) -> None:
    add(entry_points, "typo", register_blender=registers(EchoBlender))
    with pytest.warns(RuntimeWarning):
        plugins.load_plugins()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plugins.load_plugins()
        plugins.components("blenders")
