"""Training pieces on a tiny synthetic dataset: data, checkpoints, resume, GAN, HuBERT path."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from lipdub.cli.app import main
from lipdub.training.clips import encode_faces, save_npz_atomic

REPO = Path(__file__).resolve().parents[1]
COMMON = ["--workers", "0", "--device", "cpu", "-q", "--val-batches", "1", "--log-every", "1"]


def make_dataset(root: Path, extractor: str = "mel", fps: float = 80.0, dim: int = 80) -> Path:
    """Four 2 s clips of random faces and features: 2 train, 1 val, 1 test."""
    rng = np.random.default_rng(0)
    clips = []
    for index, split in enumerate(["train", "train", "val", "test"]):
        frames = 50
        faces = rng.integers(0, 255, (frames, 96, 96, 3), dtype=np.uint8)
        features = rng.normal(0, 1, (int(frames / 25 * fps) + 1, dim)).astype(np.float16)
        save_npz_atomic(
            root / "clips" / f"c{index}.npz",
            **encode_faces(faces),
            valid=np.ones(frames, bool),
            wav=np.zeros(32000, np.int16),
            **{f"features_{extractor}": features},
        )
        clips.append({"id": f"c{index}", "file": f"clips/c{index}.npz", "video": "v.mp4",
                      "start": 0.0, "frames": frames, "faces": frames, "split": split})  # fmt: skip
    info = {"fps": fps, "identity": extractor, "model": None, "layer": None, "projected": None,
            "feature_dim": dim}  # fmt: skip
    if extractor != "mel":
        info.update(model="tiny-hubert", layer=2)
    manifest = {"format": 1, "fps": 25.0, "extractors": {extractor: info}, "clips": clips}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


@pytest.fixture(scope="module")
def mel_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("mel-data"))


def test_tensorboard_events_are_valid_records(tmp_path: Path) -> None:
    from lipdub.training.checkpointing import MetricsLog
    from lipdub.training.tb_events import crc32c, masked_crc

    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    log = MetricsLog(tmp_path)
    log.log(7, {"val/loss": 0.5})
    log.close()
    data = next((tmp_path / "tb").glob("events.out.tfevents.*")).read_bytes()
    records = []
    while data:
        (length,) = struct.unpack("<Q", data[:8])
        assert struct.unpack("<I", data[8:12])[0] == masked_crc(data[:8])
        body = data[12 : 12 + length]
        assert struct.unpack("<I", data[12 + length : 16 + length])[0] == masked_crc(body)
        records.append(body)
        data = data[16 + length :]
    assert b"brain.Event:2" in records[0]
    assert b"val/loss" in records[1] and struct.pack("<f", 0.5) in records[1]
    assert (tmp_path / "metrics.csv").read_text().splitlines()[1].startswith("7,val/loss,0.5,")


def test_best_and_last_of_one_step_are_written_once(tmp_path: Path) -> None:
    from lipdub.training.checkpointing import CheckpointFiles

    files, built = CheckpointFiles(tmp_path), []

    def payload(step: int):
        return lambda: built.append(step) or {"step": torch.tensor(step)}

    files.write("best.pt", 1, payload(1))
    files.write("last.pt", 1, payload(1))
    assert built == [1] and (tmp_path / "best.pt").samefile(tmp_path / "last.pt")
    files.write("last.pt", 2, payload(2))  # replaces the link; best.pt keeps step 1
    assert built == [1, 2] and not (tmp_path / "best.pt").samefile(tmp_path / "last.pt")
    assert torch.load(tmp_path / "best.pt", weights_only=True)["step"] == 1
    assert torch.load(tmp_path / "last.pt", weights_only=True)["step"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "last.pt"]  # no temp left


def test_split_is_seeded_and_follows_the_ratios() -> None:
    from lipdub.training.preprocess import assign_splits

    names = [f"clip{i}" for i in range(11014)]
    split = assign_splits(names, (0.8, 0.1, 0.1), seed=0)
    counts = {s: list(split.values()).count(s) for s in ("train", "val", "test")}
    assert counts == {"train": 8812, "val": 1101, "test": 1101}
    assert assign_splits(names, (0.8, 0.1, 0.1), seed=0) == split
    assert assign_splits(names, (0.8, 0.1, 0.1), seed=1) != split
    small = assign_splits(["a", "b", "c"], (0.8, 0.1, 0.1), seed=0)
    assert sorted(small.values()) == ["test", "train", "val"]


def test_recipes_are_valid_configs() -> None:
    from lipdub.training.config import GeneratorConfig, SyncNetConfig, make_config

    recipes = sorted((REPO / "training").glob("*.toml"))
    assert len(recipes) == 8
    kinds = []
    for recipe in recipes:
        command = "syncnet" if recipe.name.startswith("syncnet") else "generator"
        cls = SyncNetConfig if command == "syncnet" else GeneratorConfig
        config = make_config(cls, recipe, command)
        assert config.lr == 1e-4 and config.data is not None
        kinds.append((command, config.extractor, getattr(config, "gan", False)))
    assert sorted(kinds) == sorted([
        ("syncnet", "mel", False), ("syncnet", "hubert", False), ("syncnet", "contentvec", False),
        ("generator", "mel", False), ("generator", "contentvec", False),
        ("generator", "contentvec", True), ("generator", "hubert", True),
        ("generator", "mel", False),
    ])  # fmt: skip
    avhubert = make_config(GeneratorConfig, REPO / "training/generator-avhubert.toml", "generator")
    assert (avhubert.expert, avhubert.syncnet, avhubert.avhubert) == ("avhubert", None, None)


def test_datasets_pair_faces_with_audio(mel_dataset: Path) -> None:
    from lipdub.training.dataset import ClipStore, GeneratorDataset, SyncDataset

    store = ClipStore(mel_dataset)
    sync = SyncDataset(store, "train", "mel", seed=3)
    items = [sync[i] for i in range(200)]
    assert items[0]["faces"].shape == (15, 48, 96) and items[0]["audio"].shape == (1, 80, 16)
    assert 70 < sum(float(item["label"]) for item in items) < 130  # about half in sync
    assert torch.equal(sync[5]["faces"], items[5]["faces"])  # samples are reproducible

    sample = GeneratorDataset(store, "train", "mel")[0]
    assert sample["faces"].shape == (6, 5, 96, 96) and sample["audio"].shape == (5, 1, 80, 16)
    assert sample["faces"][:3, :, 48:].abs().sum() == 0  # the target's lower half is hidden
    assert torch.equal(sample["faces"][:3, :, :48], sample["target"][:, :, :48])
    assert not torch.equal(sample["faces"][3:], sample["target"])  # reference: other frames


def test_syncnet_checkpoints_resume_and_refusals(
    mel_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lipdub.models.checkpoint import load_network

    out = tmp_path / "sync"
    args = ["train", "syncnet", "--data", str(mel_dataset), "--out", str(out), "--batch-size",
            "2", "--val-every", "2", *COMMON]  # fmt: skip
    assert main([*args, "--max-steps", "2"]) == 0
    assert load_network(out / "best.pt", "syncnet_color") is not None  # public layout
    assert (out / "best.pt").samefile(out / "last.pt")  # one step's payload is written once
    assert main([*args, "--max-steps", "2"]) == 2  # never overwrites a run
    assert "already holds a run" in capsys.readouterr().err
    assert main([*args, "--max-steps", "3", "--resume"]) == 0
    assert "step 3 (1 now)" in capsys.readouterr().out
    state = torch.load(out / "last.pt", weights_only=True)["training"]
    assert state["step"] == 3 and state["optimizer"]["state"]

    # lipsync_expert.pth-style weights load as the initialisation.
    init_out = tmp_path / "init"
    assert main([*args[:4], "--out", str(init_out), *args[6:], "--max-steps", "1", "--init",
                 str(out / "best.pt")]) == 0  # fmt: skip


@pytest.mark.slow
def test_generator_with_gan_resumes_and_loads_as_wav2lip(
    mel_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lipdub.models.checkpoint import load_wav2lip, save_checkpoint
    from lipdub.models.syncnet import SyncNetColor

    syncnet = save_checkpoint(SyncNetColor(), tmp_path / "expert.pth")
    out = tmp_path / "gan"
    args = ["train", "generator", "--data", str(mel_dataset), "--syncnet", str(syncnet), "--out",
            str(out), "--gan", "--batch-size", "1", "--val-every", "1", *COMMON]  # fmt: skip
    assert main([*args, "--max-steps", "1"]) == 0
    state = torch.load(out / "last.pt", weights_only=True)["training"]
    assert state["discriminator"] and state["disc_optimizer"]["param_groups"][0]["lr"] == 1e-5
    assert main([*args, "--max-steps", "2", "--resume"]) == 0
    assert "step 2 (1 now)" in capsys.readouterr().out
    assert load_wav2lip(out / "best.pt") is not None
    rows = (out / "metrics.csv").read_text()
    assert "train/gan" in rows and "train/disc" in rows and "val/total" in rows


def test_hubert_features_train_attention_networks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("lipdub_hubert")
    from lipdub_hubert.checkpoint import load_network

    data = make_dataset(tmp_path / "data", extractor="hubert", fps=50.0, dim=32)
    sync_out, gen_out = tmp_path / "sync", tmp_path / "gen"
    base = ["--data", str(data), "--extractor", "hubert", "--batch-size", "2", "--max-steps",
            "1", *COMMON]  # fmt: skip
    assert main(["train", "syncnet", *base, "--out", str(sync_out)]) == 0
    network, meta = load_network(sync_out / "best.pt", arch="syncnet-hubert")
    assert (meta.feature_dim, meta.window_frames, meta.layer) == (32, 10, 2)
    assert main(["train", "generator", *base, "--out", str(gen_out), "--syncnet",
                 str(sync_out / "best.pt")]) == 0  # fmt: skip
    _, meta = load_network(gen_out / "best.pt", arch="wav2lip-hubert")
    assert meta.extractor == "hubert" and meta.model == "tiny-hubert"

    # A mel SyncNet cannot judge HuBERT-driven training: one clear line.
    capsys.readouterr()
    from lipdub.models.checkpoint import save_checkpoint
    from lipdub.models.syncnet import SyncNetColor

    mel_expert = save_checkpoint(SyncNetColor(), tmp_path / "mel.pth")
    code = main(["train", "generator", *base, "--out", str(tmp_path / "x"), "--syncnet",
                 str(mel_expert)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 3 and "no lipdub metadata" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "syncnet", "--out", "o"], "pass --data DATASET"),
        (["train", "syncnet", "--data", "{tmp}", "--out", "{tmp}/o"], "no manifest.json"),
        (["train", "generator", "--data", "{data}", "--out", "{tmp}/o"], "--syncnet CKPT"),
        (
            ["train", "syncnet", "--data", "{data}", "--out", "{tmp}/o", "--resume"],
            "nothing to resume",
        ),
        (
            ["train", "syncnet", "--data", "{data}", "--out", "{tmp}/o", "-e", "hubert"],
            "has no 'hubert' features",
        ),
        (["train", "preprocess", "{tmp}/none", "-o", "{tmp}/d"], "is not a folder of videos"),
        (["train", "preprocess", "{tmp}", "-o", "{tmp}/d", "--split", "1,2"], "three ratios"),
        (["train", "syncnet", "--config", "{tmp}/none.toml"], "does not exist"),
    ],
)
def test_bad_input_gets_one_line(
    argv: list[str], message: str, mel_dataset: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    args = [a.replace("{tmp}", str(tmp_path)).replace("{data}", str(mel_dataset)) for a in argv]
    assert main([*args, "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


def test_preprocess_again_adds_hubert_features(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("lipdub_hubert")
    from transformers import HubertConfig, HubertModel

    from tests.conftest import make_talking_head, run_ffmpeg, speech_like, write_wav

    model = tmp_path / "tiny-hubert"
    torch.manual_seed(0)
    config = HubertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                          intermediate_size=64, conv_dim=(32,) * 7, num_conv_pos_embeddings=16,
                          num_conv_pos_embedding_groups=2)  # fmt: skip
    HubertModel(config).save_pretrained(model)
    videos = tmp_path / "videos"
    videos.mkdir()
    head = make_talking_head(tmp_path / "head.mp4", seconds=2.0, size=128)
    speech = write_wav(tmp_path / "speech.wav", speech_like(2.0, seed=3))
    run_ffmpeg("-i", str(head), "-i", str(speech), "-c:v", "copy", "-c:a", "aac",
               str(videos / "talk.mp4"))  # fmt: skip
    dataset = tmp_path / "dataset"
    base = ["train", "preprocess", str(videos), "-o", str(dataset), "-q"]
    assert main(base) == 0
    assert "1 clips" in capsys.readouterr().out
    assert main([*base, "-e", "hubert", "--model", str(model), "--layer", "1"]) == 0
    manifest = json.loads((dataset / "manifest.json").read_text())
    assert set(manifest["extractors"]) == {"mel", "hubert"}
    hubert = manifest["extractors"]["hubert"]
    assert (hubert["fps"], hubert["layer"], hubert["feature_dim"]) == (50.0, 1, 32)
    with np.load(dataset / manifest["clips"][0]["file"]) as clip:
        assert clip["features_mel"].shape == (161, 80)  # 2 s: 1 + 32000 // 200 columns
        assert clip["features_hubert"].shape == (100, 32)  # 50 frames per second
        assert clip["valid"].all() and len(clip["jpeg_offsets"]) == 51


@pytest.mark.slow
def test_two_process_ddp_run_on_cpu(mel_dataset: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    from lipdub.models.checkpoint import load_network

    out = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
               "2", "-m", "lipdub", "train", "syncnet", "--data", str(mel_dataset), "--out",
               str(out), "--batch-size", "2", "--max-steps", "2", "--val-every", "2",
               *COMMON]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("syncnet: step 2 (2 now)") == 1  # only rank 0 reports
    assert load_network(out / "best.pt", "syncnet_color") is not None
