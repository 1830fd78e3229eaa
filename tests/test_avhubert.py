"""The AV-HuBERT plugin: the pure-PyTorch model, safe checkpoint loading, inputs, metrics."""

from __future__ import annotations

import json
import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from lipdub_avhubert.audio import audio_features, logfbank
from lipdub_avhubert.checkpoint import load_avhubert, save_fairseq_style
from lipdub_avhubert.model import BASE, LARGE, TINY, AVHubert

from lipdub.errors import CheckpointError

LAYOUTS = [Path(__file__).parents[1] / "shared/reference", Path("/work/shared/reference")]


def seeded(seed: int = 0) -> AVHubert:
    torch.manual_seed(seed)
    model = AVHubert(TINY).eval()
    for module in model.modules():  # non-trivial BatchNorm statistics survive the round trip
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    return model


@pytest.fixture
def fake_fairseq(monkeypatch: pytest.MonkeyPatch) -> type:
    """A stand-in ``fairseq.data.dictionary.Dictionary`` that pickles like the real one."""
    names = ["fairseq", "fairseq.data", "fairseq.data.dictionary"]
    for name in names:
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))

    class Dictionary:
        def __init__(self) -> None:
            self.symbols = ["<s>", "<pad>", "</s>", "<unk>", "1", "2"]
            self.indices = {s: i for i, s in enumerate(self.symbols)}

    Dictionary.__module__ = "fairseq.data.dictionary"
    Dictionary.__qualname__ = "Dictionary"
    sys.modules["fairseq.data.dictionary"].Dictionary = Dictionary  # type: ignore[attr-defined]
    return Dictionary


def test_state_dict_is_the_public_base_layout() -> None:
    folder = next((f for f in LAYOUTS if (f / "avhubert_base_layout.json").is_file()), None)
    if folder is None:
        pytest.skip("reference layout not available")
    layout = json.loads((folder / "avhubert_base_layout.json").read_text())
    with torch.device("meta"):
        state = AVHubert(BASE).state_dict()
        large = AVHubert(LARGE).state_dict()
    assert [k for k, _ in layout] == list(state)
    assert all(list(state[k].shape) == shape for k, shape in layout)
    assert large["encoder.layers.23.fc1.weight"].shape == (4096, 1024)


@pytest.mark.parametrize("finetuned", [False, True])
def test_fairseq_style_checkpoint_loads_without_fairseq(tmp_path, fake_fairseq, finetuned) -> None:
    model = seeded(1)
    path = tmp_path / "ck.pt"
    save_fairseq_style(
        model, path, finetuned=finetuned, extra={"task_state": {"dictionaries": [fake_fairseq()]}}
    )
    for name in ["fairseq.data.dictionary", "fairseq.data", "fairseq"]:
        del sys.modules[name]  # loading must not need it
    loaded, normalize = load_avhubert(path)
    assert normalize and loaded.config == TINY
    video, audio = torch.randn(1, 1, 7, 88, 88), torch.randn(1, 104, 7)
    with torch.no_grad():
        assert torch.allclose(loaded.extract(video, audio), model.extract(video, audio), atol=1e-6)


class _Evil:
    def __reduce__(self):  # would run a shell command if unpickled naively
        return (os.system, ("echo pwned > /dev/null",))


def test_unknown_pickled_classes_are_refused(tmp_path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"model": seeded().state_dict(), "extra_state": _Evil()}, path)
    with pytest.raises(
        CheckpointError, match=r"refusing to load the pickled global (posix|os)\.system"
    ):
        load_avhubert(path)


def test_a_checkpoint_of_another_network_is_refused(tmp_path) -> None:
    path = tmp_path / "other.pt"
    torch.save({"model": torch.nn.Linear(3, 4).state_dict()}, path)
    with pytest.raises(CheckpointError, match="not an AV-HuBERT encoder"):
        load_avhubert(path)
    state = seeded().state_dict()
    state["encoder.layers.1.fc1.bias"] = torch.zeros(65)
    torch.save({"model": state}, path)
    with pytest.raises(CheckpointError, match=r"wrong shape: encoder\.layers\.1\.fc1\.bias"):
        load_avhubert(path)
    del state["encoder.layers.1.fc2.bias"]
    torch.save({"model": state}, path)
    with pytest.raises(CheckpointError, match=r"missing: encoder\.layers\.1\.fc2\.bias"):
        load_avhubert(path)


def test_feature_shapes_and_determinism() -> None:
    model = seeded(2)
    video, audio = torch.randn(2, 1, 9, 88, 88), torch.randn(2, 104, 9)
    with torch.no_grad():
        for v, a in ((video, None), (None, audio), (video, audio)):
            first, second = model.extract(v, a), model.extract(v, a)
            assert first.shape == (2, 9, TINY.dim)
            assert torch.equal(first, second)
        assert model.extract(video, audio, output_layer=1).shape == (2, 9, TINY.dim)
    with pytest.raises(ValueError):
        model.extract(None, None)


def test_audio_features_follow_python_speech_features() -> None:
    psf = pytest.importorskip("python_speech_features")
    rng = np.random.default_rng(0)
    wav = (0.1 * rng.standard_normal(16000)).astype(np.float32)
    ints = np.round(wav * 32768).astype(np.int16)
    np.testing.assert_allclose(logfbank(ints), psf.logfbank(ints, 16000), rtol=1e-6, atol=1e-6)
    features = audio_features(wav, n_frames=25)
    assert features.shape == (25, 104) and features.dtype == np.float32
    np.testing.assert_allclose(features.mean(axis=1), 0, atol=1e-5)
    raw = audio_features(wav, normalize=False)
    assert raw.shape == (25, 104)  # 99 fbank frames -> 25 rows, the last zero-padded
    np.testing.assert_allclose(raw[24, 78:], 0)  # padding rows are zeros in the log domain


def test_mouth_rois_are_aligned_and_normalised() -> None:
    from lipdub_avhubert.mouth import mouth_rois

    from lipdub.testing import synthetic_face, synthetic_frame

    face = synthetic_face()
    frame = synthetic_frame(0, face)
    rois = mouth_rois([frame] * 3, [face.regions, None, face.regions])
    assert rois.shape == (3, 88, 88) and rois.dtype == np.float32
    np.testing.assert_allclose(rois[0], rois[1], atol=1e-6)  # the gap is interpolated
    assert rois.min() >= -0.421 / 0.165 - 1e-4 and rois.max() <= (1 - 0.421) / 0.165 + 1e-4
    none = mouth_rois([frame], [None])  # no face anywhere: the whole frame, resized
    assert none.shape == (1, 88, 88)
