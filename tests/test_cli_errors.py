"""Bad inputs get one clear line on stderr and a non-zero exit; inputs are never modified."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from lipdub.cli.app import main


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_cli(capsys, *args: str) -> tuple[int, str]:
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    return code, err


def assert_clean_error(code: int, err: str, *fragments: str) -> None:
    assert code != 0
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def junk(tmp_path: Path) -> Path:
    path = tmp_path / "junk.mp4"
    path.write_bytes(b"\x00\x17not a video at all" * 50)
    return path


@pytest.fixture
def empty_wav(tmp_path: Path) -> Path:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    return path


def test_missing_video(capsys, tmp_path: Path, speech_wav: Path) -> None:
    code, err = run_cli(capsys, tmp_path / "nope.mp4", "--audio", speech_wav)
    assert_clean_error(code, err, "nope.mp4")


def test_junk_video(capsys, junk: Path, speech_wav: Path) -> None:
    code, err = run_cli(capsys, junk, "--audio", speech_wav, "-o", junk.with_name("o.mp4"))
    assert_clean_error(code, err, "junk.mp4")
    assert not junk.with_name("o.mp4").exists()


def test_audio_without_audio_stream(capsys, talking_head: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    code, err = run_cli(capsys, talking_head, "--audio", talking_head, "-o", out)
    assert_clean_error(code, err, "no audio stream")
    assert not out.exists()


def test_empty_audio(capsys, talking_head: Path, empty_wav: Path, tmp_path: Path) -> None:
    code, err = run_cli(capsys, talking_head, "--audio", empty_wav, "-o", tmp_path / "o.mp4")
    assert_clean_error(code, err, "empty.wav")


def test_junk_audio(capsys, talking_head: Path, junk: Path, tmp_path: Path) -> None:
    code, err = run_cli(capsys, talking_head, "--audio", junk, "-o", tmp_path / "o.mp4")
    assert_clean_error(code, err, "junk.mp4")


def test_wrong_checkpoint(capsys, talking_head: Path, speech_wav: Path, tmp_path: Path) -> None:
    import torch

    bogus = tmp_path / "other.pth"
    torch.save({"state_dict": {"conv.weight": torch.zeros(3, 3)}}, bogus)
    out = tmp_path / "o.mp4"
    code, err = run_cli(
        capsys,
        talking_head,
        "--audio",
        speech_wav,
        "-g",
        "wav2lip",
        "--checkpoint",
        bogus,
        "-o",
        out,
        "-q",
    )
    assert_clean_error(code, err, "other.pth")
    assert not out.exists()
    assert not list(tmp_path.glob(".*partial*"))


def test_missing_weights_for_neural_generator(capsys, talking_head, speech_wav, tmp_path) -> None:
    code, err = run_cli(
        capsys, talking_head, "--audio", speech_wav, "-g", "wav2lip-gan", "-o", tmp_path / "o.mp4"
    )
    assert_clean_error(code, err, "--checkpoint", "lipdub models pull wav2lip-gan")


def test_output_is_never_an_input_or_overwritten(capsys, talking_head, speech_wav) -> None:
    before = digest(talking_head), digest(speech_wav)
    code, err = run_cli(
        capsys, talking_head, "--audio", speech_wav, "-o", talking_head, "--overwrite"
    )
    assert_clean_error(code, err, "input")
    existing = talking_head.with_name("exists.mp4")
    existing.write_bytes(b"keep me")
    code, err = run_cli(capsys, talking_head, "--audio", speech_wav, "-o", existing)
    assert_clean_error(code, err, "--overwrite")
    assert existing.read_bytes() == b"keep me"
    assert (digest(talking_head), digest(speech_wav)) == before


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--fit", "bounce"], "--fit"),
        (["--face", "biggest"], "--face"),
        (["--generator", "nope"], "unknown generator 'nope'"),
        (["--blender", "nope"], "unknown blender 'nope'"),
        (["--pads", "1", "--pads", "2"], "--pads"),
    ],
)
def test_bad_options(capsys, talking_head, speech_wav, tmp_path, args, fragment) -> None:
    code, err = run_cli(
        capsys, talking_head, "--audio", speech_wav, "-o", tmp_path / "o.mp4", "-q", *args
    )
    assert_clean_error(code, err, fragment)
    assert not (tmp_path / "o.mp4").exists()


def test_ctrl_c_exits_130_with_a_message(capsys, monkeypatch, talking_head, speech_wav, tmp_path):
    import lipdub.pipeline.run as pipeline

    real_output_frames = pipeline.output_frames

    def interrupted(*args, **kwargs):  # Ctrl-C while frames are being written
        frames = real_output_frames(*args, **kwargs)
        yield next(frames)
        yield next(frames)
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "output_frames", interrupted)
    out = tmp_path / "o.mp4"
    code, err = run_cli(capsys, talking_head, "--audio", speech_wav, "-g", "warp", "-o", out, "-q")
    assert code == 130 and "interrupted" in err
    assert not out.exists() and not list(tmp_path.iterdir())
