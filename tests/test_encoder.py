"""``--codec``, ``--preset`` and ``--crf``: what the writer encodes with, and clean refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lipdub.cli.app import main
from lipdub.cli.dub_cmd import request_from_options
from lipdub.errors import InputError
from lipdub.media.encoder import EncoderSettings, check_settings, has_nvidia_gpu
from lipdub.media.probe import probe
from lipdub.media.reader import VideoReader
from lipdub.media.writer import VideoWriter


def frames(count: int = 12, size: int = 64) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
    return [np.roll(base, shift, axis=1) for shift in range(count)]


def write(path: Path, **encoder: object) -> Path:
    with VideoWriter(path, 64, 64, 25, **encoder) as writer:  # type: ignore[arg-type]
        for frame in frames():
            writer.write(frame)
    return path


def test_codec_and_crf_reach_the_file(tmp_path: Path) -> None:
    fine = write(tmp_path / "fine.mp4", crf=8, preset="veryfast")
    coarse = write(tmp_path / "coarse.mp4", crf=45, preset="veryfast")
    hevc = write(tmp_path / "hevc.mp4", codec="libx265", preset="ultrafast", crf=28)
    assert probe(fine).video_codec == "h264" and probe(hevc).video_codec == "hevc"
    assert fine.stat().st_size > 2 * coarse.stat().st_size
    source = np.stack(frames()).astype(np.float32)
    error = {
        name: np.abs(np.stack(list(VideoReader(path).frames())) - source).mean()
        for name, path in (("fine", fine), ("coarse", coarse))
    }
    assert error["fine"] < error["coarse"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (EncoderSettings(codec="mpeg2video"), "--codec must be one of"),
        (EncoderSettings(preset="warp9"), "--preset must be one of"),
        (EncoderSettings(crf=60), "--crf must be between 0 and 51"),
    ],
)
def test_bad_settings_are_refused(settings: EncoderSettings, message: str) -> None:
    with pytest.raises(InputError, match=message):
        check_settings(settings)


@pytest.mark.skipif(has_nvidia_gpu(), reason="this machine has a GPU")
def test_nvenc_needs_a_gpu() -> None:
    with pytest.raises(InputError, match="needs an NVIDIA GPU"):
        check_settings(EncoderSettings(codec="h264_nvenc"))


def test_nvenc_arguments_map_the_preset_and_quality() -> None:
    args = EncoderSettings(codec="hevc_nvenc", preset="veryslow", crf=23).args()
    assert args[:2] == ["-c:v", "hevc_nvenc"] and "p7" in args and "-cq" in args
    assert "-crf" not in args


def test_cli_values_reach_the_request(tmp_path: Path) -> None:
    request = request_from_options(
        tmp_path / "v.mp4",
        tmp_path / "a.wav",
        None,
        {"generator": "warp", "codec": "libx265", "preset": "slow", "crf": 30, "no_cache": True},
    )
    assert (request.codec, request.preset, request.crf) == ("libx265", "slow", 30)
    assert not request.feature_cache and not request.analysis_cache


def test_bad_crf_on_the_command_line_is_one_line(capsys, tmp_path: Path) -> None:
    video, audio = tmp_path / "v.mp4", tmp_path / "a.wav"
    video.write_bytes(b"x")
    audio.write_bytes(b"x")
    code = main([str(video), "--audio", str(audio), "--crf", "99", "-q"])
    err = capsys.readouterr().err.strip()
    assert code != 0 and "--crf must be between 0 and 51" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "v_dubbed.mp4").exists()
