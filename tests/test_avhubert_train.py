"""``lipdub train generator --expert avhubert|both``: the frozen AV-HuBERT sync loss, from the
plugin registry (``register_training_experts``), on a tiny seeded AV-HuBERT."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from lipdub_avhubert.checkpoint import save_fairseq_style
from lipdub_avhubert.model import TINY, AVHubert
from lipdub_avhubert.sync_loss import AVHubertSync, mouth_rois

from lipdub import plugins
from lipdub.cli.app import main
from lipdub.errors import PluginError
from lipdub.hookspecs import hookimpl
from lipdub.training.expert_spec import TrainingExpert
from lipdub.training.experts import expert_names
from lipdub.training.network_spec import TrainingNetworks
from tests.test_train_units import COMMON, make_dataset


@pytest.fixture(scope="module")
def tiny_avhubert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("avhubert-train") / "avhubert_tiny.pt"
    save_fairseq_style(AVHubert(TINY).eval(), path)
    return path


class TinyGenerator(torch.nn.Module):
    """(B, 5, window, dim) audio + (B, 6, 5, 96, 96) faces -> (B, 3, 5, 96, 96) in [0, 1]."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.faces = torch.nn.Conv3d(6, 3, 1)
        self.audio = torch.nn.Linear(dim, 3)

    def forward(self, audio: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
        shift = self.audio(audio.mean(dim=2)).transpose(1, 2)[..., None, None]  # (B, 3, 5, 1, 1)
        return torch.sigmoid(self.faces(faces) + shift)


class TinySyncNet(torch.nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.audio, self.faces = torch.nn.Linear(dim, 4), torch.nn.Linear(15, 4)

    def forward(self, audio: torch.Tensor, faces: torch.Tensor) -> tuple[torch.Tensor, ...]:
        face = self.faces(faces.mean(dim=(2, 3)))
        return torch.relu(self.audio(audio.mean(dim=1))), torch.relu(face)


class TinyNetworks(TrainingNetworks):
    """Small stand-ins for the SyncNet and Wav2Lip, so a training step takes milliseconds."""

    def build(self, kind, spec):  # noqa: ANN001, ANN201
        return TinySyncNet(spec.dim) if kind == "syncnet" else TinyGenerator(spec.dim)

    def payload(self, kind, spec, state, step):  # noqa: ANN001, ANN201
        return {"state_dict": state, "tiny": kind}

    def read(self, path, kind, spec):  # noqa: ANN001, ANN201
        return torch.load(path, weights_only=True)["state_dict"]


class NetworksPlugin:
    @hookimpl
    def register_training_networks(self, register):  # noqa: ANN001, ANN201
        register(TinyNetworks("tiny"))


@pytest.fixture
def tiny_networks(fresh_plugins: None) -> Iterator[None]:
    plugins.register_plugin(NetworksPlugin(), "tiny-networks")
    yield


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("tiny-data"), extractor="tiny", fps=50.0, dim=8)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("mel-data"))


def _tags(out: Path) -> set[str]:
    with open(out / "metrics.csv", newline="", encoding="utf-8") as handle:
        return {row["tag"] for row in csv.DictReader(handle)}


def test_mouth_roi_is_differentiable_and_normalised() -> None:
    generated = torch.rand(2, 3, 5, 96, 96, requires_grad=True)
    real = torch.rand(2, 3, 5, 96, 96)
    rois = mouth_rois(generated, real)
    assert rois.shape == (2, 1, 5, 88, 88)
    rois.sum().backward()
    assert generated.grad is not None and generated.grad[:, :, :, 48:].abs().sum() > 0
    assert generated.grad[:, :, :, :48].abs().sum() == 0  # the upper face is the real one
    grey = torch.full((1, 3, 1, 96, 96), 0.421)  # mid-grey maps to 0
    assert mouth_rois(grey, grey).abs().max() < 1e-5
    blue = torch.zeros(1, 3, 1, 96, 96)
    blue[:, 0] = 1.0  # BGR: pure blue weighs 0.114
    assert torch.allclose(mouth_rois(blue, blue), torch.tensor((0.114 - 0.421) / 0.165))


def test_sync_similarity_has_gradients(tiny_avhubert: Path) -> None:
    from lipdub_avhubert.checkpoint import load_avhubert

    model, normalize = load_avhubert(tiny_avhubert)
    expert = AVHubertSync(model, normalize)
    generated = torch.rand(2, 3, 5, 96, 96, requires_grad=True)
    similarity = expert(generated, torch.rand(2, 3, 5, 96, 96), torch.randn(2, 3200) * 0.1)
    assert similarity.shape == (2, 5) and bool(((similarity >= -1) & (similarity <= 1)).all())
    similarity.sum().backward()
    assert generated.grad is not None and generated.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.parameters())  # frozen


def _train_args(data: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "generator", "--data", str(data), "--out", str(out), "--batch-size", "1",
            *extra, *COMMON]  # fmt: skip


def test_avhubert_loss_trains_a_generator(
    tiny_networks: None, tiny_dataset: Path, tiny_avhubert: Path, tmp_path: Path, capsys
) -> None:  # noqa: ANN001
    out = tmp_path / "gen"
    args = _train_args(tiny_dataset, out, "--extractor", "tiny", "--expert", "avhubert",
                       "--avhubert", str(tiny_avhubert), "--val-every", "1", "--sync-threshold",
                       "100")  # fmt: skip
    assert main([*args, "--max-steps", "2"]) == 0
    assert "sync loss: on" in capsys.readouterr().out
    assert (out / "last.pt").is_file() and (out / "best.pt").is_file()
    payload = torch.load(out / "last.pt", weights_only=True)
    assert payload["tiny"] == "generator" and payload["training"]["step"] == 2
    assert payload["training"]["config"]["expert"] == "avhubert"
    with open(out / "metrics.csv", newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["tag"] == "train/sync"]
    assert len(rows) == 2 and all(0.0 <= float(row["value"]) < 20 for row in rows)
    assert main([*args, "--max-steps", "3", "--resume"]) == 0  # resumes with the same expert
    assert "step 3 (1 now)" in capsys.readouterr().out

    both = tmp_path / "both"
    syncnet = tmp_path / "sync.pt"
    torch.save({"state_dict": TinySyncNet(8).state_dict()}, syncnet)
    args = _train_args(tiny_dataset, both, "--extractor", "tiny", "--expert", "both",
                       "--syncnet", str(syncnet), "--avhubert", str(tiny_avhubert),
                       "--val-every", "1", "--max-steps", "1")  # fmt: skip
    assert main(args) == 0
    assert {"train/sync_syncnet", "train/sync_avhubert", "val/sync_avhubert"} <= _tags(both)


@pytest.mark.slow
def test_wav2lip_trains_against_avhubert_and_writes_checkpoints(
    dataset: Path, tiny_avhubert: Path, tmp_path: Path
) -> None:
    from lipdub.models.checkpoint import load_wav2lip

    out = tmp_path / "gen"
    args = _train_args(dataset, out, "--expert", "avhubert", "--avhubert", str(tiny_avhubert),
                       "--val-every", "2", "--max-steps", "2")  # fmt: skip
    assert main(args) == 0
    assert (out / "last.pt").is_file() and load_wav2lip(out / "best.pt") is not None
    assert {"train/sync", "val/sync", "train/sync_weight"} <= _tags(out)


def test_refusals_are_one_line(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["train", "generator", "--data", str(dataset), "--out", str(tmp_path / "x"),
            "--max-steps", "1", *COMMON]  # fmt: skip
    assert main([*base, "--expert", "avhubert"]) != 0  # no --avhubert, empty model cache
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--expert avhubert need AV-HuBERT weights" in err
    assert main([*base, "--expert", "nonesuch"]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "training expert 'nonesuch'" in err
    assert main(base) != 0  # the default expert is still the SyncNet
    assert "--syncnet CKPT" in capsys.readouterr().err


class EchoExpert(TrainingExpert):
    description = "a stand-in"

    def load(self, options):  # noqa: ANN001, ANN201
        return torch.nn.Identity()


class ExpertPlugin:
    def __init__(self, *experts: TrainingExpert) -> None:
        self.experts = experts

    @hookimpl
    def register_training_experts(self, register):  # noqa: ANN001, ANN201
        for expert in self.experts:
            register(expert)


def test_experts_come_from_the_registry(fresh_plugins: None) -> None:
    plugins.register_plugin(ExpertPlugin(EchoExpert("echo")), "echo-plugin")
    assert plugins.entries("training_experts")["echo"].plugin == "echo-plugin"
    assert expert_names("echo,syncnet") == ["syncnet", "echo"]
    with pytest.raises(PluginError, match="one installed plugin expert"):
        expert_names("both")  # avhubert and echo: ambiguous
    plugins.unregister_plugin("avhubert")
    assert expert_names("both") == ["syncnet", "echo"]
    plugins.unregister_plugin("echo-plugin")
    with pytest.raises(PluginError, match="training expert 'avhubert'"):
        expert_names("avhubert")  # without the plugin
    with pytest.raises(PluginError, match="'syncnet' is reserved"):
        plugins.register_plugin(ExpertPlugin(EchoExpert("syncnet")), "reserved-plugin")
