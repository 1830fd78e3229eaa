"""``--generator wav2lip-onnx``: the same patches as the torch generator on the same seeded
weights, for lipdub's export (dynamic batch) and FaceFusion-style files (batch 1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lipdub import plugins
from lipdub.contracts import generator_inputs
from lipdub.errors import CheckpointError
from lipdub.generators.wav2lip_onnx import Wav2LipOnnxGenerator

torch = pytest.importorskip("torch")

FIXTURES = Path(__file__).parent / "fixtures" / "onnx"


@pytest.fixture(scope="module")
def torch_generator(seeded_checkpoint):
    return plugins.get_component("generators", "wav2lip")(
        checkpoint=seeded_checkpoint, device="cpu", precision="fp32"
    )


@pytest.fixture(scope="module")
def exported(torch_generator, tmp_path_factory) -> Path:
    """The torch generator's seeded network exported (lipdub's names, dynamic batch)."""
    from lipdub.onnx.export import export_onnx

    path = tmp_path_factory.mktemp("w2l-onnx") / "wav2lip_seeded.onnx"
    batch = {0: "batch"}
    model = torch_generator.model.to(memory_format=torch.contiguous_format)
    export_onnx(model, (torch.zeros(1, 1, 80, 16), torch.zeros(1, 6, 96, 96)), path,
                input_names=["mel_spectrogram", "video_frames"],
                output_names=["predicted_frames"],
                dynamic_axes={"mel_spectrogram": batch, "video_frames": batch,
                              "predicted_frames": batch})  # fmt: skip
    return path


def test_matches_the_torch_generator_on_the_same_weights(exported, torch_generator) -> None:
    from lipdub.onnx.session import open_model

    rng = np.random.default_rng(0)
    audio = rng.uniform(-4, 4, (2, 1, 80, 16)).astype(np.float32)
    faces = rng.uniform(0, 1, (2, 6, 96, 96)).astype(np.float32)
    onnx_out = open_model(exported, "cpu").run({"mel_spectrogram": audio, "video_frames": faces})[0]
    with torch.no_grad():
        torch_out = torch_generator.model(torch.from_numpy(audio), torch.from_numpy(faces))
    assert np.abs(onnx_out - torch_out.numpy()).max() <= 1e-3

    extractor = plugins.get_component("audio_extractors", "mel")()
    items = generator_inputs(torch_generator, extractor, count=2)
    onnx_patches = Wav2LipOnnxGenerator(checkpoint=exported, device="cpu").generate(items)
    torch_patches = torch_generator.generate(items)
    for mine, theirs in zip(onnx_patches, torch_patches, strict=True):
        assert mine.box == theirs.box
        assert np.abs(mine.image.astype(int) - theirs.image.astype(int)).max() <= 1


def test_reads_facefusion_style_files_with_batch_one(tmp_path) -> None:
    from lipdub.onnx.export import export_onnx

    class Echo(torch.nn.Module):  # returns the reference face: the patch is the source crop
        def forward(self, source, target):
            return target[:, 3:] + 0.0 * source.mean()

    path = tmp_path / "wav2lip_96.onnx"
    export_onnx(Echo(), (torch.zeros(1, 1, 80, 16), torch.zeros(1, 6, 96, 96)), path,
                input_names=["source", "target"], output_names=["output"])  # fmt: skip
    extractor = plugins.get_component("audio_extractors", "mel")()
    generator = Wav2LipOnnxGenerator(checkpoint=path, device="cpu")
    items = generator_inputs(generator, extractor, count=3)
    patches = generator.generate(items)
    assert len(patches) == 3
    x1, y1, x2, y2 = patches[0].box
    crop = items[0].frame[y1:y2, x1:x2].astype(int)
    assert np.abs(patches[0].image.astype(int) - crop).mean() < 8  # resized there and back


def test_a_file_of_another_model_names_the_expected_inputs() -> None:
    generator = Wav2LipOnnxGenerator(checkpoint=FIXTURES / "xseg_key.onnx", device="cpu")
    with pytest.raises(CheckpointError) as error:
        generator.load()
    message = str(error.value)
    assert "mel_spectrogram" in message and "video_frames" in message and "\n" not in message
