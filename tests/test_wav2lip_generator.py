"""The ``wav2lip`` / ``wav2lip-gan`` generator plugins on a real face photo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from skimage import data

from lipdub import devices, plugins
from lipdub.errors import CheckpointError, InputError, WeightsMissingError
from lipdub.generators.wav2lip import Wav2LipGANGenerator, Wav2LipGenerator
from lipdub.models.checkpoint import save_checkpoint, seed_weights, seeded_wav2lip
from lipdub.models.syncnet import SyncNetColor
from lipdub.types import Face, GeneratorInput

FACE_BOX = (150.0, 40.0, 290.0, 200.0)  # the astronaut's face, hand-set


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_checkpoint(seeded_wav2lip(0), tmp_path_factory.mktemp("ckpt") / "wav2lip.pth")


def make_items(
    count: int, seed: int = 0, box: tuple[float, ...] = FACE_BOX
) -> list[GeneratorInput]:
    frame = data.astronaut()
    rng = np.random.RandomState(seed)
    return [
        GeneratorInput(
            frame=frame,
            face=Face(box=box),
            audio=rng.uniform(-4, 4, (16, 80)).astype(np.float32),
            index=i,
            source_index=i,
        )
        for i in range(count)
    ]


def test_plugins_are_registered_with_their_defaults() -> None:
    assert plugins.get_component("generators", "wav2lip") is Wav2LipGenerator
    assert plugins.get_component("generators", "wav2lip-gan") is Wav2LipGANGenerator
    assert Wav2LipGenerator.default_weights == "wav2lip"
    assert Wav2LipGANGenerator.default_weights == "wav2lip_gan"
    for cls in (Wav2LipGenerator, Wav2LipGANGenerator):
        assert cls.audio_extractor == "mel" and cls.audio_window_seconds == 0.2
        assert cls.needs_weights and cls.batch_size == 16


def test_generate_returns_deterministic_box_sized_patches(checkpoint: Path) -> None:
    generator = Wav2LipGenerator(checkpoint=checkpoint, device="cpu", precision="fp32")
    items = make_items(3)
    patches = generator.generate(items)
    assert len(patches) == 3
    for patch in patches:
        assert patch.box == (150, 40, 290, 200)
        assert patch.image.shape == (160, 140, 3) and patch.image.dtype == np.uint8
    again = generator.generate(items)
    for first, second in zip(patches, again, strict=True):
        np.testing.assert_array_equal(first.image, second.image)
    # Different audio gives a different mouth; the batch size does not change the result.
    other = generator.generate(make_items(1, seed=5))[0].image
    assert np.abs(other.astype(int) - patches[0].image.astype(int)).mean() > 1.0
    small_batches = Wav2LipGenerator(checkpoint=checkpoint, precision="fp32", batch_size=2)
    for first, second in zip(patches, small_batches.generate(items), strict=True):
        assert np.abs(first.image.astype(int) - second.image.astype(int)).max() <= 1


def test_network_sees_bgr_and_output_comes_back_rgb(checkpoint: Path) -> None:
    # A generator whose network returns its reference (unmasked) input: the patch must then
    # be the face crop itself, so colour order and masking are handled right.
    class Echo(torch.nn.Module):
        def forward(self, audio: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
            assert faces.shape[1:] == (6, 96, 96) and audio.shape[1:] == (1, 80, 16)
            assert float(faces[:, :3, 48:].abs().max()) == 0.0  # masked lower half
            return faces[:, 3:]

    class EchoGenerator(Wav2LipGenerator):
        def build_model(self) -> torch.nn.Module:
            return Echo()

    item = make_items(1)[0]
    patch = EchoGenerator(device="cpu", precision="fp32").generate([item])[0]
    crop = item.frame[40:200, 150:290].astype(int)
    assert np.abs(patch.image.astype(int) - crop).mean() < 6.0
    swapped = patch.image[:, :, ::-1].astype(int)
    assert np.abs(swapped - crop).mean() > 10.0


def test_bf16_roughly_agrees_with_fp32(checkpoint: Path) -> None:
    items = make_items(4)
    fp32 = Wav2LipGenerator(checkpoint=checkpoint, device="cpu", precision="fp32")
    bf16 = Wav2LipGenerator(checkpoint=checkpoint, device="cpu", precision="bf16")
    a = np.stack([p.image for p in fp32.generate(items)]).astype(float)
    b = np.stack([p.image for p in bf16.generate(items)]).astype(float)
    assert bf16.resolved_precision == "bf16"
    assert np.abs(a - b).mean() < 8.0


def test_face_box_at_the_frame_edge_is_clipped(checkpoint: Path) -> None:
    generator = Wav2LipGenerator(checkpoint=checkpoint, precision="fp32")
    patch = generator.generate(make_items(1, box=(400.0, -20.0, 560.0, 100.0)))[0]
    assert patch.box == (400, 0, 512, 100)
    assert patch.image.shape == (100, 112, 3)


def test_weights_are_resolved_lazily_and_missing_ones_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIPDUB_HOME", str(tmp_path))
    generator = Wav2LipGANGenerator(device="cpu")  # constructing loads nothing
    with pytest.raises(WeightsMissingError, match="wav2lip"):
        generator.generate(make_items(1))


def test_wrong_checkpoint_and_wrong_audio_are_refused(checkpoint: Path, tmp_path: Path) -> None:
    syncnet = save_checkpoint(seed_weights(SyncNetColor(), 0), tmp_path / "lipsync_expert.pth")
    with pytest.raises(CheckpointError, match="looks like a syncnet_color"):
        Wav2LipGenerator(checkpoint=syncnet).generate(make_items(1))
    item = make_items(1)[0]
    item.audio = np.zeros((10, 768), np.float32)  # HuBERT-like features
    with pytest.raises(InputError, match=r"\(16, 80\) mel windows"):
        Wav2LipGenerator(checkpoint=checkpoint, precision="fp32").generate([item])


def test_device_and_precision_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = torch.device("cpu")
    monkeypatch.setattr(devices, "cpu_has_fast_bf16", lambda: True)
    assert devices.resolve_precision("auto", cpu) == "bf16"
    monkeypatch.setattr(devices, "cpu_has_fast_bf16", lambda: False)
    assert devices.resolve_precision("auto", cpu) == "fp32"
    assert devices.resolve_precision("auto", torch.device("cuda")) == "fp16"
    assert devices.resolve_precision("FP32", torch.device("cuda")) == "fp32"
    with pytest.raises(InputError, match="unknown precision"):
        devices.resolve_precision("int4", cpu)
    with pytest.raises(InputError, match="unknown device"):
        devices.resolve_device("tpu-ish")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="CUDA is not available"):
            devices.resolve_device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            assert devices.resolve_device("auto") == cpu
