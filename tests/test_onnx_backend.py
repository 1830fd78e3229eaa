"""The ONNX Runtime backend and the HQ flags: one session per model, clear one-line errors,
``--quality`` presets that never download, the models in ``lipdub models list``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lipdub.cli.app import main
from lipdub.errors import CheckpointError, InputError
from lipdub.media.probe import probe
from lipdub.onnx import session
from lipdub.pipeline.finishing import choose_finishing
from lipdub.weights.registry import cached_path, get_spec

FIXTURES = Path(__file__).parent / "fixtures" / "onnx"


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_fixtures_are_small_onnx_models_with_the_real_conventions() -> None:
    for path in FIXTURES.glob("*.onnx"):
        assert path.stat().st_size < 200_000, path
    xseg = session.open_model(FIXTURES / "xseg_key.onnx", "cpu")
    assert [(i.name, i.shape) for i in xseg.inputs] == [("input", (1, 256, 256, 3))]
    codeformer = session.open_model(FIXTURES / "restorer_codeformer.onnx", "cpu")
    assert {i.name: i.type for i in codeformer.inputs} == {
        "x": "tensor(float)",
        "w": "tensor(double)",
    }


def test_one_session_per_model_and_device() -> None:
    first = session.open_model(FIXTURES / "restorer_identity.onnx", "cpu")
    assert session.open_model(FIXTURES / "restorer_identity.onnx", "cpu") is first
    assert first.device == "cpu"
    assert session.thread_count() >= 1


def test_devices_map_to_providers() -> None:
    providers, name = session.providers_for("cpu")
    assert providers == ["CPUExecutionProvider"] and name == "cpu"
    with pytest.raises(InputError, match="unknown device"):
        session.providers_for("tpu")
    import onnxruntime

    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        with pytest.raises(InputError, match="no CUDA provider"):
            session.providers_for("cuda:0")
        assert session.providers_for("auto")[1] == "cpu"
    else:
        assert session.providers_for("cuda:0")[1] == "cuda:0"


def test_a_file_that_is_not_onnx_is_one_line(tmp_path) -> None:
    junk = tmp_path / "gfpgan.onnx"
    junk.write_bytes(b"PK\x03\x04 certainly not a protobuf" * 40)
    with pytest.raises(CheckpointError) as error:
        session.open_model(junk, "cpu")
    assert "gfpgan.onnx is not a usable ONNX model" in str(error.value)
    assert "\n" not in str(error.value)


def test_unexpected_inputs_name_what_was_expected() -> None:
    from lipdub.enhancers.gfpgan import GFPGANEnhancer

    enhancer = GFPGANEnhancer(checkpoint=FIXTURES / "wav2lip_tiny.onnx", device="cpu")
    with pytest.raises(CheckpointError) as error:
        enhancer.load()
    message = str(error.value)
    assert "face-restoration" in message and "3 channels" in message and "video_frames" in message


def test_quality_presets_never_download() -> None:
    assert choose_finishing("fast").enhancer is None
    balanced = choose_finishing("balanced")
    assert balanced.enhancer is None and balanced.maskers == () and balanced.note is None
    with pytest.raises(InputError, match="--quality"):
        choose_finishing("ultra")
    with pytest.raises(InputError, match="fast runs no restorer"):
        choose_finishing("fast", "gfpgan")
    nothing = choose_finishing("hq")  # an empty cache: nothing is fetched, all is reported
    assert nothing.enhancer is None and nothing.maskers == ()
    assert "missing" in nothing.note and "xseg-1" in nothing.note and "\n" not in nothing.note
    assert nothing.settings == {"blender": {"occluders": True}}
    # Put models in the cache by hand: hq uses them.
    for name, fixture in (("gfpgan-1.4", "restorer_identity.onnx"), ("xseg-1", "xseg_key.onnx")):
        target = cached_path(get_spec(name))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((FIXTURES / fixture).read_bytes())
    found = choose_finishing("hq")
    assert found.enhancer == "gfpgan" and found.maskers == ("occlusion",)
    assert "gfpgan (gfpgan-1.4)" in found.note and "bisenet-resnet-34" in found.note


def test_models_list_shows_the_onnx_models(capsys) -> None:
    code, out, _ = run_cli(capsys, "models", "list", "--json")
    assert code == 0
    names = {row["name"] for row in json.loads(out)}
    expected = {"gfpgan-1.2", "gfpgan-1.3", "gfpgan-1.4", "codeformer", "gpen-bfr-256",
                "gpen-bfr-512", "gpen-bfr-1024", "gpen-bfr-2048", "restoreformer",
                "restoreformer-plus-plus", "xseg-1", "bisenet-resnet-34",
                "wav2lip-gan-96-onnx"}  # fmt: skip
    assert expected <= names


def test_bad_hq_flags_are_one_line_errors(capsys, tmp_path) -> None:
    video, audio = tmp_path / "v.mp4", tmp_path / "a.wav"
    video.write_bytes(b"x"), audio.write_bytes(b"x")
    code, _, err = run_cli(capsys, video, "--audio", audio, "--enhancer", "gfpgn")
    assert code != 0 and "gfpgn" in one_line(err)
    code, _, err = run_cli(capsys, video, "--audio", audio, "--masker", "occlusion",
                           "--option", "masker.occlusion.nope=1")  # fmt: skip
    assert code != 0 and "nope" in one_line(err)
    code, _, err = run_cli(capsys, video, "--audio", audio, "--quality", "best")
    assert code != 0 and "--quality" in one_line(err)


@pytest.mark.slow
def test_hq_dub_with_local_models(capsys, tmp_path) -> None:
    from tests.conftest import make_talking_head, speech_like, write_wav

    talking_head = make_talking_head(tmp_path / "face.mp4", seconds=0.6, size=192)
    speech_wav = write_wav(tmp_path / "speech.wav", speech_like(0.6))
    junk = tmp_path / "broken.onnx"
    junk.write_bytes(b"not onnx" * 100)
    out = tmp_path / "out.mp4"
    code, _, err = run_cli(capsys, talking_head, "--audio", speech_wav, "-o", out, "-q",
                           "--generator", "warp", "--checkpoint-enhancer", junk)  # fmt: skip
    assert code != 0 and "broken.onnx is not a usable ONNX model" in one_line(err)
    assert not out.exists()
    code, _, err = run_cli(
        capsys, talking_head, "--audio", speech_wav, "-o", out, "-q", "--generator", "warp",
        "--quality", "hq", "--checkpoint-enhancer", FIXTURES / "restorer_brighten.onnx",
        "--masker", "occlusion", "--option", f"masker.occlusion.model={FIXTURES / 'xseg_key.onnx'}",
        "--option", "enhancer.region=mouth",
    )  # fmt: skip
    assert code == 0, err
    note = [line for line in err.splitlines() if line.startswith("quality hq:")]
    assert len(note) == 1, err
    assert "gfpgan (restorer_brighten.onnx)" in note[0] and "occlusion" in note[0]
    assert "missing bisenet-resnet-34 (parsing)" in note[0]
    info = probe(out)
    assert info.has_video and info.width == 192
