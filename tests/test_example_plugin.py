"""The example third-party plugin (examples/lipdub-mfcc-plugin) and the lipdub.testing helpers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lipdub import plugins
from lipdub.cli.app import main
from lipdub.errors import InputError
from lipdub.testing import (
    PluginRegistrar,
    lipdub_plugins,  # noqa: F401 - fixture
    plugin_module,
    plugin_registered,
)
from tests.conftest import speech_like, write_wav

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "lipdub-mfcc-plugin"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example installed from a copy of its folder into a private target directory."""
    work = tmp_path_factory.mktemp("mfcc-plugin")
    source = work / "source"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    target = work / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--no-build-isolation", "--target", str(target), str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    return target


def lipdub_cli(*args: str, path: Path | None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LIPDUB_")}
    env["LIPDUB_HOME"] = os.environ["LIPDUB_HOME"]
    env.pop("PYTHONPATH", None)
    if path is not None:
        env["PYTHONPATH"] = str(path)
    return subprocess.run(
        [sys.executable, "-m", "lipdub", *args], capture_output=True, text=True, env=env
    )


@pytest.mark.slow
def test_installed_plugin_is_listed_and_used_then_gone(installed, tmp_path) -> None:
    listing = lipdub_cli("plugins", "--json", path=installed)
    assert listing.returncode == 0, listing.stderr
    rows = {row["name"]: row for row in json.loads(listing.stdout)}
    assert rows["mfcc"]["version"] == "0.1.0"
    assert rows["mfcc"]["distribution"] == "lipdub-mfcc-plugin"
    (extractor,) = rows["mfcc"]["components"]["audio_extractors"]
    assert extractor["name"] == "mfcc" and extractor["options"]

    wav = write_wav(tmp_path / "speech.wav", speech_like(2.0))
    out = tmp_path / "f.npy"
    run = lipdub_cli("features", str(wav), "--extractor", "mfcc", "-o", str(out), path=installed)
    assert run.returncode == 0, run.stderr
    assert np.load(out).shape == (201, 13)  # 100 frames/s, 13 coefficients

    without = lipdub_cli("plugins", "--json", path=None)  # as after `pip uninstall`
    assert "mfcc" not in {row["name"] for row in json.loads(without.stdout)}


@pytest.fixture
def mfcc_module(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    import lipdub_mfcc

    return lipdub_mfcc


def test_mfcc_extractor_follows_the_audio(mfcc_module, lipdub_plugins) -> None:  # noqa: F811
    found: list[type] = []
    mfcc_module.register_audio_extractors(register=found.append)
    assert [cls.name for cls in found] == ["mfcc"]
    lipdub_plugins.register(mfcc_module, name="mfcc-test")
    cls = plugins.get_component("audio_extractors", "mfcc")
    speech = speech_like(2.0)
    features = cls().extract(speech)
    assert features.shape == (201, 13) and features.dtype == np.float32
    assert cls(deltas=True).extract(speech).shape == (201, 26)
    loud = cls().extract(speech * 4.0)
    # c0 tracks log energy: a 4x louder signal raises it, the spectral shape (c1..) stays
    assert np.median(loud[:, 0] - features[:, 0]) > 1.0
    assert np.allclose(loud[:, 1:], features[:, 1:], atol=0.5)
    with pytest.raises(InputError, match="unknown option 'model'"):
        cls(model="x")


def test_registrar_removes_plugins_and_commands(capsys) -> None:
    def hello(name: str = "world") -> None:
        print(f"hello {name}")

    module = plugin_module("hello_plugin", register_commands=lambda cli: cli.command("hi")(hello))
    registrar = PluginRegistrar()
    registrar.register(module)
    assert main(["hi", "--name", "you"]) == 0
    assert capsys.readouterr().out == "hello you\n"
    registrar.close()
    assert main(["hi"]) != 0  # "hi" is no longer a command
    capsys.readouterr()
    assert "hello_plugin" not in {info.name for info in plugins.plugin_infos()}


def test_plugin_registered_context_manager() -> None:
    from lipdub.components import Blender

    class Keep(Blender):
        name = "keep-frame"

        def blend(self, frame, patch, face):
            return frame

    module = plugin_module("keep", register_blenders=lambda register: register(Keep))
    with plugin_registered(module) as name:
        assert plugins.components("blenders")["keep-frame"].plugin == name == "keep"
    assert "keep-frame" not in plugins.components("blenders")
