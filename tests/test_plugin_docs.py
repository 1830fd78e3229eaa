"""docs/plugins.md documents every hook in lipdub/hookspecs.py, its examples work, and every
hook is exercised by some test."""

from __future__ import annotations

import inspect
import re
import types
from pathlib import Path

import numpy as np
import pytest

from lipdub import hookspecs, plugins
from lipdub.cli.app import main
from lipdub.testing import lipdub_plugins  # noqa: F401 - fixture
from lipdub.types import Face, GeneratorInput, Patch
from tests.conftest import make_talking_head, speech_like, write_wav

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "plugins.md"
HOOKS = {
    name: function
    for name, function in vars(hookspecs).items()
    if callable(function) and hasattr(function, "lipdub_spec")
}
KIND_HOOKS = {f"register_{kind}": kind for kind in plugins.KINDS}


def signature_text(name: str) -> str:
    """``register_blenders(register: Callable[[type[Blender]], None]) -> None``."""
    signature = inspect.signature(HOOKS[name])

    def text(annotation: object) -> str:
        return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)

    params = ", ".join(f"{p.name}: {text(p.annotation)}" for p in signature.parameters.values())
    return f"{name}({params}) -> {text(signature.return_annotation)}"


def section(name: str) -> str:
    """The docs section of hook ``name`` (from its heading to the next)."""
    params = ", ".join(inspect.signature(HOOKS[name]).parameters)
    heading = f"### `{name}({params})`"
    text = DOCS.read_text()
    assert heading in text, f"docs/plugins.md has no section {heading!r}"
    return text.split(heading, 1)[1].split("\n#", 1)[0]


def example_module(name: str) -> types.ModuleType:
    """The section's python example, executed as a module."""
    blocks = re.findall(r"```python\n(.*?)```", section(name), flags=re.S)
    assert len(blocks) == 1, f"the {name} section needs exactly one python example"
    module = types.ModuleType(f"docs_example_{name}")
    exec(compile(blocks[0], f"docs/plugins.md ({name})", "exec"), module.__dict__)
    return module


def test_the_hooks_are_found() -> None:
    assert {"register_generators", "register_commands", "register_weights"} <= set(HOOKS)


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_hook_is_documented_with_signature_and_example(name: str) -> None:
    text = section(name)
    assert signature_text(name) in text
    assert f"def {name}(" in text


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_hook_is_exercised_by_a_test(name: str) -> None:
    others = [
        path for path in (ROOT / "tests").glob("test_*.py") if path.name != Path(__file__).name
    ]
    assert any(name in path.read_text() for path in others), f"no test uses {name}"


def _check_component(kind: str, cls: type) -> None:
    frame = np.full((120, 120, 3), 90, np.uint8)
    face = Face(box=(30.0, 30.0, 90.0, 90.0))
    if kind == "audio_extractors":
        features = cls().extract(speech_like(1.0))
        assert features.ndim == 2 and len(features) >= cls.frames_per_second * 0.9
    elif kind == "face_trackers":
        assert all(isinstance(found, Face) for found in cls().detect(frame))
    elif kind == "generators":
        item = GeneratorInput(frame, face, np.zeros((16, 80), np.float32), 0, 0)
        (patch,) = cls().generate([item])
        assert isinstance(patch, Patch) and patch.image.shape[:2] == (60, 60)
    elif kind == "enhancers":
        restored = cls().enhance(frame, face)
        assert restored.image.shape[:2] == restored.weights.shape == (60, 60)
    elif kind == "maskers":
        assert cls().mask(frame, face, (30, 30, 90, 90)).shape == (60, 60)
    else:
        patch = Patch(np.zeros((60, 60, 3), np.uint8), (30, 30, 90, 90))
        assert cls().blend(frame.copy(), patch, face).shape == frame.shape


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_documented_example_works(name: str, lipdub_plugins, capsys) -> None:  # noqa: F811
    plugin = lipdub_plugins.register(example_module(name))
    if name in KIND_HOOKS:
        kind = KIND_HOOKS[name]
        mine = [info.cls for info in plugins.components(kind).values() if info.plugin == plugin]
        assert len(mine) == 1
        _check_component(kind, mine[0])
    elif name == "register_weights":
        from lipdub.weights.registry import weight_specs

        assert weight_specs()["my-generator"].used_by == ("my-generator",)
    elif name == "register_eval_metrics":
        from lipdub.eval.metric_plugins import EvalSample, plugin_metrics

        metric = plugin_metrics()["audio-seconds"]()
        sample = EvalSample(Path("v.mp4"), np.zeros(8000, np.float32), 16000, 25.0)
        assert metric.compute(sample) == {"audio_seconds": 0.5}
    elif name == "register_training_networks":
        from lipdub.training.dataset import FeatureSpec
        from lipdub.training.networks import build_network, weights_payload

        spec = FeatureSpec("my-features", 50.0, 4, {})
        payload = weights_payload("syncnet", spec, build_network("syncnet", spec), 1)
        assert payload["my_plugin"] == {"kind": "syncnet", "feature_dim": 4}
    elif name == "register_training_experts":
        import torch

        from lipdub.training.experts import expert_names, load_experts

        assert expert_names("syncnet,bright-mouth") == ["syncnet", "bright-mouth"]
        expert = load_experts(["bright-mouth"], {"device": "cpu"})["bright-mouth"]
        faces = torch.full((2, 3, 5, 96, 96), 0.5, requires_grad=True)
        similarity = expert(faces, faces.detach(), torch.zeros(2, 3200))
        assert similarity.shape == (2, 5) and torch.allclose(similarity, torch.tensor(0.5))
    elif name == "register_commands":
        assert main(["hello", "docs"]) == 0
        assert capsys.readouterr().out == "hello docs\n"
    else:
        pytest.fail(f"add a check of the documented example of the new hook {name}")


def test_documented_components_dub_a_video_together(lipdub_plugins, tmp_path) -> None:  # noqa: F811
    for name in ("register_face_trackers", "register_generators", "register_blenders"):
        lipdub_plugins.register(example_module(name))
    video = make_talking_head(tmp_path / "v.mp4", seconds=0.6, size=96)
    audio = write_wav(tmp_path / "a.wav", speech_like(0.6))
    out = tmp_path / "out.mp4"
    args = ["--generator", "unchanged", "--tracker", "centre-box", "--blender", "hard-box"]
    assert main([str(video), "--audio", str(audio), "-o", str(out), "-q", *args]) == 0
    assert out.is_file()
