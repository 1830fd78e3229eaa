"""The lipdub-hubert plugin: HuBERT/ContentVec extraction, chunking, caching, model loading."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("transformers")
lipdub_hubert = pytest.importorskip("lipdub_hubert")

import torch  # noqa: E402
import typer  # noqa: E402
from lipdub_hubert import chunking  # noqa: E402
from lipdub_hubert.contentvec import ContentVecExtractor, hubert_with_final_proj  # noqa: E402
from lipdub_hubert.hubert import HubertExtractor  # noqa: E402
from lipdub_hubert.tiny import tiny_config  # noqa: E402
from scipy.io import wavfile  # noqa: E402
from transformers import HubertModel  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from lipdub.errors import CheckpointError, InputError, WeightsMissingError  # noqa: E402
from lipdub.plugins import components  # noqa: E402

SR = 16000


@pytest.fixture(scope="module")
def tiny_hubert(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("models") / "tiny-hubert"
    torch.manual_seed(0)
    HubertModel(tiny_config()).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_contentvec(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("models") / "tiny-contentvec"
    torch.manual_seed(1)
    hubert_with_final_proj()(tiny_config()).save_pretrained(folder)
    return folder


def _speechlike(seconds: float, seed: int = 0) -> np.ndarray:
    """Noise bursts with a syllable-rate envelope, float32 in [-1, 1]."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * SR))) / SR
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4.0 * t)
    tone = np.sin(2 * np.pi * (150 + 50 * np.sin(2 * np.pi * 0.5 * t)) * t)
    return (0.3 * envelope * (tone + 0.3 * rng.standard_normal(t.size))).astype(np.float32)


def _write_wav(path: Path, seconds: float) -> Path:
    wavfile.write(path, SR, (_speechlike(seconds) * 32767 * 0.9).astype(np.int16))
    return path


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


# -- registration -------------------------------------------------------------------------------


def test_plugin_registers_extractors_and_generators():
    extractors, generators = components("audio_extractors"), components("generators")
    assert {"mel", "hubert", "contentvec"} <= set(extractors)
    assert {"wav2lip-hubert", "wav2lip-contentvec"} <= set(generators)
    assert extractors["hubert"].plugin == "hubert"  # through the entry point, not a built-in


# -- chunking ---------------------------------------------------------------------------------


@pytest.mark.parametrize("total", [1, 249, 250, 251, 624, 625, 30000])
def test_chunk_ownership_covers_every_frame_once(total):
    spans = chunking.chunk_spans(total, 250, 25)
    owned = chunking.owned_ranges(spans)
    assert owned[0][0] == 0 and owned[-1][1] == total
    assert all(a[1] == b[0] for a, b in zip(owned, owned[1:], strict=False))
    assert all(s <= o0 < o1 <= e for (s, e), (o0, o1) in zip(spans, owned, strict=True))
    assert all(e - s == min(250, total) for s, e in spans)


def test_frame_count_is_duration_times_fifty():
    assert chunking.frame_count(200000) == 625  # 12.5 s
    assert chunking.frame_count(160) == 1 and chunking.frame_count(159) == 0


# -- extraction -------------------------------------------------------------------------------


def test_hubert_shape_and_determinism(tiny_hubert):
    wav = _speechlike(12.5)
    first = HubertExtractor(model=str(tiny_hubert)).extract(wav)
    second = HubertExtractor(model=str(tiny_hubert)).extract(wav)
    assert first.shape == (625, 32) and first.dtype == np.float32
    np.testing.assert_array_equal(first, second)


def test_chunk_lengths_agree_on_frames_and_match_unchunked(tiny_hubert, tmp_path):
    wav = _speechlike(12.5)
    for seconds in (2.0, 5.0):
        chunked = HubertExtractor(model=str(tiny_hubert), chunk_seconds=seconds).extract(wav)
        assert chunked.shape == (625, 32)
    # With a front end that normalises per frame (HuBERT-large style, not base's group norm
    # over time), the input of the transformer only sees ~0.3 s of context: chunks stitched on
    # the right frame grid then reproduce the unchunked features exactly.
    config = tiny_config()
    config.feat_extract_norm, config.conv_bias = "layer", True
    torch.manual_seed(2)
    HubertModel(config).save_pretrained(tmp_path / "layer-norm")
    options = {"model": str(tmp_path / "layer-norm"), "layer": 0}
    wav = wav[: 7 * SR]
    whole = HubertExtractor(chunk_seconds=0, **options).extract(wav)
    for seconds, overlap in ((2.0, 0.5), (5.0, 0.5), (3.0, 1.0)):
        chunked = HubertExtractor(chunk_seconds=seconds, overlap_seconds=overlap, **options)
        np.testing.assert_allclose(chunked.extract(wav), whole, atol=1e-4)


def test_layer_choice_changes_the_features(tiny_hubert):
    wav = _speechlike(2.0)
    last = HubertExtractor(model=str(tiny_hubert)).extract(wav)
    first_layer = HubertExtractor(model=str(tiny_hubert), layer=1).extract(wav)
    also_last = HubertExtractor(model=str(tiny_hubert), layer=-1).extract(wav)
    assert np.abs(last - first_layer).max() > 1e-3
    np.testing.assert_array_equal(last, also_last)
    with pytest.raises(InputError, match="layer=3 is out of range"):
        HubertExtractor(model=str(tiny_hubert), layer=3)


def test_identity_names_model_fingerprint_and_options(tiny_hubert, tmp_path):
    base = HubertExtractor(model=str(tiny_hubert)).identity()
    assert base != HubertExtractor(model=str(tiny_hubert), layer=1).identity()
    assert base != HubertExtractor(model=str(tiny_hubert), chunk_seconds=2).identity()
    other = tmp_path / "tiny-hubert"  # same name, other weights
    torch.manual_seed(5)
    HubertModel(tiny_config()).save_pretrained(other)
    assert base != HubertExtractor(model=str(other)).identity()


def test_contentvec_projected_and_hidden(tiny_contentvec):
    wav = _speechlike(1.0)
    projected = ContentVecExtractor(model=str(tiny_contentvec)).extract(wav)
    hidden = ContentVecExtractor(model=str(tiny_contentvec), projected=False).extract(wav)
    assert projected.shape == (50, 16) and hidden.shape == (50, 32)
    model = hubert_with_final_proj().from_pretrained(tiny_contentvec).eval()
    expected = model.final_proj(torch.from_numpy(hidden)).detach().numpy()
    np.testing.assert_allclose(projected, expected, atol=1e-5)


def test_contentvec_without_projection_weights_is_refused(tiny_hubert):
    extractor = ContentVecExtractor(model=str(tiny_hubert))  # a plain HuBERT checkpoint
    with pytest.raises(CheckpointError, match="final_proj"):
        extractor.extract(_speechlike(0.5))
    assert ContentVecExtractor(model=str(tiny_hubert), projected=False).extract(
        _speechlike(0.5)
    ).shape == (25, 32)


# -- missing models ---------------------------------------------------------------------------


def test_offline_without_model_says_how_to_get_it(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(WeightsMissingError) as caught:
        HubertExtractor()
    message = str(caught.value)
    assert "facebook/hubert-base-ls960" in message and "--model" in message
    assert "lipdub models pull hubert-base" in message and "\n" not in message
    with pytest.raises(InputError, match="does not exist"):
        HubertExtractor(model=str(tmp_path / "no-such-dir"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(WeightsMissingError, match="config.json"):
        HubertExtractor(model=str(tmp_path / "empty"))


def test_cli_offline_error_is_one_clean_line(tmp_path):
    audio = _write_wav(tmp_path / "a.wav", 1.0)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    env["LIPDUB_HOME"] = str(tmp_path / "home")
    command = [sys.executable, "-m", "lipdub.cli.app", "features", str(audio)]
    done = subprocess.run(
        [*command, "--extractor", "hubert", "-o", str(tmp_path / "f.npy")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "--model" in done.stderr and "lipdub models pull" in done.stderr
    assert not (tmp_path / "f.npy").exists()


# -- the features command ---------------------------------------------------------------------


def _features_app() -> typer.Typer:
    from lipdub.cli.features_cmd import register

    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    return app


def test_features_command_writes_and_caches(tiny_hubert, tmp_path):
    audio = _write_wav(tmp_path / "speech.wav", 12.5)
    app, runner = _features_app(), CliRunner()
    common = ["features", str(audio), "--extractor", "hubert", "--model", str(tiny_hubert)]
    common += ["--cache-dir", str(tmp_path / "cache")]
    first = runner.invoke(app, [*common, "-o", str(tmp_path / "a.npy")])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, [*common, "-o", str(tmp_path / "b.npy")])
    assert "computed" in first.output and "cache" in second.output
    a, b = np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy")
    assert abs(a.shape[0] - 625) <= 3 and a.shape[1] == 32
    np.testing.assert_array_equal(a, b)

    refused = runner.invoke(app, [*common, "-o", str(tmp_path / "a.npy")])
    assert refused.exit_code != 0 and "--overwrite" in str(refused.exception)
    fresh = runner.invoke(
        app, [*common, "--no-cache", "--overwrite", "-o", str(tmp_path / "a.npy")]
    )
    assert fresh.exit_code == 0 and "computed" in fresh.output
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), b)


def test_plugins_json_lists_the_components(tmp_path):
    env = {**os.environ, "LIPDUB_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "lipdub.cli.app", "plugins", "--json", "--all"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    names = {
        item["name"]
        for plugin in json.loads(done.stdout)
        for kind in ("audio_extractors", "generators")
        for item in plugin["components"].get(kind, [])
    }
    assert {"mel", "hubert", "contentvec", "wav2lip-hubert", "wav2lip-contentvec"} <= names


# -- networks and generators --------------------------------------------------------------------


def _generator_inputs(features: np.ndarray, count: int = 3) -> list:
    from lipdub.audio.windows import frame_windows, window_starts
    from lipdub.types import Face, GeneratorInput

    frame = np.random.default_rng(0).integers(0, 255, (160, 140, 3), dtype=np.uint8)
    starts = window_starts(count, 25.0, 50.0, 10, len(features))
    windows = frame_windows(features, starts, 10)
    face = Face(box=(20.0, 30.0, 116.0, 140.0))
    return [
        GeneratorInput(frame=frame, face=face, audio=windows[i], index=i, source_index=i)
        for i in range(count)
    ]


@pytest.fixture
def seeded_checkpoint(tmp_path, tiny_hubert) -> Path:
    from lipdub_hubert.checkpoint import NetworkMeta, make_random_checkpoint

    meta = NetworkMeta(
        arch="wav2lip-hubert", extractor="hubert", model=tiny_hubert.name, layer=2, feature_dim=32
    )
    return make_random_checkpoint(tmp_path / "wav2lip-hubert.pth", meta, seed=3)


def test_generator_variant_redraws_faces(seeded_checkpoint, tiny_hubert):
    from lipdub_hubert.generators import Wav2LipHubertGenerator

    extractor = HubertExtractor(model=str(tiny_hubert))
    items = _generator_inputs(extractor.extract(_speechlike(1.0)))
    runs = []
    for _ in range(2):
        generator = Wav2LipHubertGenerator(checkpoint=seeded_checkpoint, precision="fp32")
        generator.check_extractor(extractor)
        runs.append(generator.generate(items))
    patches = runs[0]
    assert len(patches) == 3
    assert patches[0].box == (20, 30, 116, 140)
    assert patches[0].image.shape == (110, 96, 3) and patches[0].image.dtype == np.uint8
    for first, second in zip(runs[0], runs[1], strict=True):
        np.testing.assert_array_equal(first.image, second.image)
    assert generator.extractor_defaults() == {"layer": 2}


def test_generator_refuses_other_features(seeded_checkpoint, tiny_hubert, tiny_contentvec):
    from lipdub_hubert.generators import Wav2LipContentVecGenerator, Wav2LipHubertGenerator

    with pytest.raises(InputError, match="unknown option 'layer'"):
        Wav2LipHubertGenerator(checkpoint=seeded_checkpoint, layer=1)  # an extractor option
    generator = Wav2LipHubertGenerator(checkpoint=seeded_checkpoint, precision="fp32")
    with pytest.raises(CheckpointError, match="extractor hubert"):
        generator.check_extractor(ContentVecExtractor(model=str(tiny_contentvec)))
    with pytest.raises(CheckpointError, match="layer 2"):
        generator.check_extractor(HubertExtractor(model=str(tiny_hubert), layer=0))
    wrong_width = np.zeros((30, 16), np.float32)
    with pytest.raises(CheckpointError, match="32-d"):
        generator.generate(_generator_inputs(wrong_width, 1))
    with pytest.raises(CheckpointError, match="not wav2lip-contentvec"):
        Wav2LipContentVecGenerator(checkpoint=seeded_checkpoint).model  # noqa: B018
    with pytest.raises(WeightsMissingError, match="--checkpoint"):
        Wav2LipHubertGenerator().model  # noqa: B018


def test_plain_wav2lip_checkpoint_is_not_taken(tmp_path):
    from lipdub_hubert.generators import Wav2LipHubertGenerator

    torch.save({"state_dict": {"w": torch.zeros(2)}}, tmp_path / "plain.pth")
    with pytest.raises(CheckpointError, match="no lipdub metadata"):
        Wav2LipHubertGenerator(checkpoint=tmp_path / "plain.pth").model  # noqa: B018


def test_syncnet_variant_gives_sync_probabilities():
    from lipdub_hubert.networks import build_syncnet, sync_probability

    torch.manual_seed(0)
    syncnet = build_syncnet(32).eval()
    with torch.no_grad():
        audio, face = syncnet(torch.randn(4, 10, 32), torch.rand(4, 15, 48, 96))
    assert audio.shape == face.shape == (4, 512)
    assert bool((audio >= 0).all()) and bool((face >= 0).all())
    probability = sync_probability(audio, face)
    assert probability.shape == (4,) and bool(((probability >= 0) & (probability <= 1)).all())


@pytest.mark.slow
def test_generator_variant_dubs_through_the_cli(tiny_hubert, tmp_path, capsys):
    """`lipdub VIDEO --audio A --generator wav2lip-hubert --checkpoint CKPT --model DIR`."""
    from lipdub_hubert.checkpoint import NetworkMeta, make_random_checkpoint

    from lipdub.cli.app import main
    from lipdub.media.probe import probe
    from tests.conftest import make_talking_head

    meta = NetworkMeta(
        arch="wav2lip-hubert", extractor="hubert", model=tiny_hubert.name, layer=2, feature_dim=32
    )
    checkpoint = make_random_checkpoint(tmp_path / "ckpt.pth", meta, seed=3)
    clip = make_talking_head(tmp_path / "face.mp4", seconds=1.0, size=160)
    audio = _write_wav(tmp_path / "dub.wav", 1.4)
    out = tmp_path / "out.mp4"
    args = [
        str(clip),
        "--audio",
        str(audio),
        "--generator",
        "wav2lip-hubert",
        "--checkpoint",
        str(checkpoint),
        "--model",
        str(tiny_hubert),
        "-o",
        str(out),
        "-q",
    ]
    assert main(args) == 0
    info = probe(out)
    assert (info.width, info.height, info.has_audio) == (160, 160, True)
    assert info.duration == pytest.approx(1.4, abs=0.06)
    # features from another model than the checkpoint was trained with are refused
    import shutil

    other_model = shutil.copytree(tiny_hubert, tmp_path / "another-hubert")
    mismatch = [*args[:8], str(other_model), "-o", str(tmp_path / "x.mp4"), "-q"]
    assert main(mismatch) != 0
    assert "another-hubert" in capsys.readouterr().err
    assert not (tmp_path / "x.mp4").exists()
