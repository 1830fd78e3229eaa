"""Wav2Lip-family networks: public checkpoint layouts, reference outputs, safe loading."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import lipdub
from lipdub.errors import CheckpointError
from lipdub.models.checkpoint import (
    check_layout,
    load_network,
    load_wav2lip,
    read_state_dict,
    save_checkpoint,
    seed_weights,
    seeded_wav2lip,
)
from lipdub.models.discriminator import QualityDiscriminator
from lipdub.models.syncnet import SyncNetColor
from lipdub.models.wav2lip import Wav2Lip

DATA = Path(__file__).parent / "data" / "reference"
LAYOUTS = json.loads(
    (Path(lipdub.__file__).parent / "models" / "layouts" / "checkpoint_layouts.json").read_text()
)


@pytest.fixture(scope="module")
def seeded_model() -> nn.Module:
    return seeded_wav2lip(0)


@pytest.fixture(scope="module")
def seeded_checkpoint(seeded_model: nn.Module, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_checkpoint(seeded_model, tmp_path_factory.mktemp("ckpt") / "wav2lip.pth", 42)


def golden_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.RandomState(0)
    mel = rng.uniform(-4, 4, (3, 1, 80, 16)).astype(np.float32)
    faces = rng.uniform(0, 1, (3, 6, 96, 96)).astype(np.float32)
    faces[:, :3, 48:] = 0.0
    return torch.from_numpy(mel), torch.from_numpy(faces)


@pytest.mark.parametrize(
    ("layout", "network"),
    [
        ("wav2lip", Wav2Lip),
        ("syncnet_color", SyncNetColor),
        ("wav2lip_disc_qual", QualityDiscriminator),
    ],
)
def test_state_dict_is_exactly_the_public_layout(layout: str, network: type[nn.Module]) -> None:
    state = network().state_dict()
    assert [(key, list(value.shape)) for key, value in state.items()] == [
        (key, shape) for key, shape in LAYOUTS[layout]
    ]


def test_public_format_checkpoint_reproduces_reference_wav2lip(seeded_checkpoint: Path) -> None:
    # The golden output was computed by the reference implementation (Rudrabha/Wav2Lip
    # models/wav2lip.py) with the same seeded weights and inputs.
    golden = np.load(DATA / "wav2lip_golden.npz")
    model = lipdub.load_generator(seeded_checkpoint)
    assert not model.training
    mel, faces = golden_inputs()
    with torch.no_grad():
        output = model(mel, faces).numpy()
    assert output.shape == (3, 3, 96, 96)
    # 1e-4: convolution kernels differ by CPU (AVX2 / AVX-512) in the last float32 bits.
    np.testing.assert_allclose(output[:, :, ::2, ::2], golden["output_decimated"], atol=1e-4)
    np.testing.assert_allclose(output.mean(axis=(1, 2, 3)), golden["output_mean"], atol=1e-6)
    np.testing.assert_allclose(output.std(axis=(1, 2, 3)), golden["output_std"], atol=1e-6)
    # The output responds to the audio: another mel window gives another mouth.
    with torch.no_grad():
        other = model(mel.flip(0), faces).numpy()
    assert np.abs(other - output).mean() > 0.01


def test_sequence_input_matches_frame_by_frame(seeded_model: nn.Module) -> None:
    mel, faces = golden_inputs()
    with torch.no_grad():
        frames = seeded_model(mel, faces)
        sequence = seeded_model(mel[None], faces.permute(1, 0, 2, 3)[None])
    assert sequence.shape == (1, 3, 3, 96, 96)
    torch.testing.assert_close(sequence[0].permute(1, 0, 2, 3), frames, atol=1e-5, rtol=0)


def test_dataparallel_prefix_and_bare_state_dict_load(
    seeded_model: nn.Module, tmp_path: Path
) -> None:
    state = seeded_model.state_dict()
    wrapped = tmp_path / "dp.pth"
    torch.save(
        {"state_dict": {f"module.{k}": v for k, v in state.items()}, "global_step": 1}, wrapped
    )
    bare = tmp_path / "bare.pth"
    torch.save(state, bare)
    for path in (wrapped, bare):
        loaded = load_wav2lip(path).state_dict()
        assert list(loaded) == list(state)
        assert all(torch.equal(loaded[key], state[key]) for key in state)


def test_save_checkpoint_writes_the_public_format(seeded_checkpoint: Path) -> None:
    stored = torch.load(seeded_checkpoint, weights_only=True)
    assert set(stored) == {"state_dict", "optimizer", "global_step"}
    assert stored["optimizer"] is None and stored["global_step"] == 42
    assert list(stored["state_dict"]) == [key for key, _ in LAYOUTS["wav2lip"]]


def test_seeded_weights_are_deterministic_and_not_defaults() -> None:
    first = seed_weights(SyncNetColor(), 3).state_dict()
    second = seed_weights(SyncNetColor(), 3).state_dict()
    other = seed_weights(SyncNetColor(), 4).state_dict()
    key = "face_encoder.0.conv_block.1.running_var"
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not torch.equal(first[key], other[key])
    assert not torch.allclose(first[key], torch.ones_like(first[key]))


def test_syncnet_checkpoint_is_refused_as_a_generator(tmp_path: Path) -> None:
    path = save_checkpoint(SyncNetColor(), tmp_path / "lipsync_expert.pth")
    with pytest.raises(CheckpointError) as info:
        lipdub.load_generator(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("lipsync_expert.pth is not a wav2lip generator")
    assert "looks like a syncnet_color (lip-sync expert) checkpoint" in message
    # ... while the right loader accepts it.
    assert isinstance(load_network(path, "syncnet_color"), SyncNetColor)


def test_layout_mismatch_message_counts_what_is_wrong() -> None:
    state = dict(Wav2Lip().state_dict())
    for key in list(state)[:3]:
        del state[key]
    state["extra.weight"] = torch.zeros(1)
    state["extra.bias"] = torch.zeros(1)
    state["output_block.1.bias"] = torch.zeros(4)
    with pytest.raises(CheckpointError) as info:
        check_layout(state, "wav2lip", source="checkpoint.pth")
    message = str(info.value)
    assert "checkpoint.pth is not a wav2lip generator" in message
    assert "3 keys missing (face_encoder_blocks.0.0.conv_block.0.weight" in message
    assert "2 unexpected (extra.weight, extra.bias)" in message
    assert "1 shape mismatch (output_block.1.bias expected [3] got [4])" in message
    assert "looks like a wav2lip generator" not in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (os.urandom(4096), "is not a PyTorch checkpoint"),
        (b"", "is empty"),
        (b"<!DOCTYPE html><html>Not found</html>", "web page"),
    ],
)
def test_junk_files_are_refused(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "wav2lip.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=expected):
        read_state_dict(path)


def test_truncated_checkpoint_is_refused(seeded_checkpoint: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "wav2lip.pth"
    with open(seeded_checkpoint, "rb") as handle:
        truncated.write_bytes(handle.read(167_000))  # like a placeholder download
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        lipdub.load_generator(truncated)


def test_missing_file_and_non_network_checkpoints_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        read_state_dict(tmp_path / "nope.pth")
    torch.save({"global_step": 3, "state_dict": {"a": 1}}, tmp_path / "odd.pth")
    with pytest.raises(CheckpointError, match="holds no state dict"):
        read_state_dict(tmp_path / "odd.pth")


class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204 - pickle protocol
        return (os.makedirs, (str(self.marker),))


@pytest.mark.parametrize("writer", ["torch", "pickle"])
def test_pickled_code_is_never_run(tmp_path: Path, writer: str) -> None:
    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.pth"
    payload = {"state_dict": {"w": torch.zeros(1)}, "hook": _RunsCode(marker)}
    if writer == "torch":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload))
    with pytest.raises(CheckpointError, match="pickled code"):
        read_state_dict(path)
    assert not marker.exists()


def test_syncnet_gives_unit_embeddings_and_accepts_another_audio_encoder() -> None:
    model = seed_weights(SyncNetColor(), 1).eval()
    with torch.no_grad():
        audio, face = model(torch.randn(2, 1, 80, 16), torch.rand(2, 15, 48, 96))
    assert audio.shape == face.shape == (2, 512)
    torch.testing.assert_close(audio.norm(dim=1), torch.ones(2))
    torch.testing.assert_close(face.norm(dim=1), torch.ones(2))

    class Pool(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = nn.Linear(768, 512)

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 10, 768) features
            return self.proj(x.mean(dim=1))[:, :, None, None]

    swapped = SyncNetColor(audio_encoder=Pool()).eval()
    assert "audio_encoder.proj.weight" in swapped.state_dict()
    with torch.no_grad():
        audio, _ = swapped(torch.randn(2, 10, 768), torch.rand(2, 15, 48, 96))
    assert audio.shape == (2, 512)


def test_generator_accepts_another_audio_encoder() -> None:
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(10 * 768, 512), nn.Unflatten(1, (512, 1, 1)))
    model = Wav2Lip(audio_encoder=encoder).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 10, 768), torch.rand(2, 6, 96, 96))
    assert out.shape == (2, 3, 96, 96)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_quality_discriminator_scores_lower_half_of_frames_and_sequences() -> None:
    model = seed_weights(QualityDiscriminator(), 2).eval()
    faces = torch.rand(2, 3, 96, 96)
    with torch.no_grad():
        scores = model(faces)
        sequence = model(torch.stack([faces, faces], dim=2))
        upper_changed = faces.clone()
        upper_changed[:, :, :48] = 0.0
        same = model(upper_changed)
    assert scores.shape == (2, 1) and sequence.shape == (4, 1)
    assert bool(((scores > 0) & (scores < 1)).all())
    torch.testing.assert_close(same, scores)  # only the lower half is looked at
