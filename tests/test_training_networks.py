"""Training networks come from the registry (``register_training_networks``): the built-in mel
ones, a plugin's for its extractor, and one clear line when the plugin is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from lipdub import plugins
from lipdub.cli.app import main
from lipdub.errors import PluginError
from lipdub.hookspecs import hookimpl
from lipdub.testing import lipdub_plugins  # noqa: F401 - fixture
from lipdub.training.dataset import FeatureSpec
from lipdub.training.network_spec import TrainingNetworks
from lipdub.training.networks import MelNetworks, build_network, networks_for
from lipdub.weights.spec import WeightSpec
from tests.test_train_units import COMMON, make_dataset


class TinyNetworks(TrainingNetworks):
    built: list[str] = []

    def build(self, kind, spec):
        from torch import nn

        self.built.append(kind)
        return nn.Linear(spec.dim, 1)

    def payload(self, kind, spec, state, step):
        return {"state_dict": state}

    def read(self, path, kind, spec):
        return {}


class TinyPlugin:
    @hookimpl
    def register_training_networks(self, register):
        register(TinyNetworks("tiny"))


def spec(name: str, dim: int = 8) -> FeatureSpec:
    return FeatureSpec(name, 50.0, dim, {})


def test_mel_networks_are_built_in(fresh_plugins) -> None:
    assert isinstance(networks_for(spec("mel", 80)), MelNetworks)


def test_a_plugins_networks_are_used(lipdub_plugins) -> None:  # noqa: F811
    lipdub_plugins.register(TinyPlugin(), name="tiny-plugin")
    assert plugins.entries("training_networks")["tiny"].plugin == "tiny-plugin"
    network = build_network("syncnet", spec("tiny"))
    assert network.in_features == 8 and TinyNetworks.built[-1] == "syncnet"


def test_an_extractor_without_networks_is_named(fresh_plugins) -> None:
    with pytest.raises(PluginError, match="plugin 'lipdub.generators.warp' provides the "):
        networks_for(spec("articulation"))


def test_missing_plugin_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LIPDUB_DISABLE_PLUGIN_AUTOLOAD", "1")  # as without lipdub-hubert
    plugins.reset()
    try:
        data = make_dataset(tmp_path / "data", extractor="hubert", fps=50.0, dim=16)
        args = ["train", "syncnet", "--data", str(data), "--extractor", "hubert", "--out"]
        code = main([*args, str(tmp_path / "out"), "--max-steps", "1", *COMMON])
    finally:
        plugins.reset()
    err = capsys.readouterr().err.strip()
    assert code == PluginError.exit_code and len(err.splitlines()) == 1, err
    assert "'hubert' audio extractor" in err and "ModuleNotFoundError" not in err


def test_invalid_networks_are_refused(fresh_plugins) -> None:
    class Bad:
        @hookimpl
        def register_training_networks(self, register):
            register(WeightSpec("x", "x", "", 0, ()))

    with pytest.raises(PluginError, match="expects TrainingNetworks objects"):
        plugins.register_plugin(Bad(), name="bad")
