"""Issue 11, media rows and rough edges: output containers (D4), pixel aspect ratio (D11),
an unwritable feature cache (D12), half-decodable inputs (D13), the dub summary and
``--json``, ``--preview``, resizing, and ``lipdub eval``'s skipped metrics and reference."""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from lipdub.media.probe import probe
from lipdub.media.reader import VideoReader
from lipdub.media.writer import VideoWriter
from tests.conftest import make_talking_head, run_ffmpeg, speech_like, write_wav
from tests.odd_media import cut_in_first_frame, cut_in_half, with_sar
from tests.test_cli_errors import assert_clean_error, digest, run_cli

WARP = ("-g", "warp")


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 1 s 128 px face clip, its anamorphic copy, its first half, and 1 s of speech."""
    folder = tmp_path_factory.mktemp("hardening-media")
    face = make_talking_head(folder / "face.mp4", seconds=1.0, size=128)
    run_ffmpeg("-i", str(face), "-c", "copy", "-movflags", "+faststart", str(folder / "fs.mp4"))
    return {
        "face": face,
        "pal": with_sar(face, folder / "pal.mp4", "64/45"),
        "half": cut_in_half(folder / "fs.mp4", folder / "half.mp4"),
        "no_frame": cut_in_first_frame(folder / "fs.mp4", folder / "no_frame.mp4"),
        "speech": write_wav(folder / "speech.wav", speech_like(1.0)),
    }


# D4: the output's extension picks the container, or a one-line refusal


@pytest.mark.parametrize(
    ("suffix", "muxer", "video", "audio"),
    [
        (".webm", "matroska,webm", "vp9", "opus"),
        (".avi", "avi", "h264", "mp3"),
        (".mov", "mov,mp4,m4a,3gp,3g2,mj2", "h264", "aac"),
    ],
)
def test_writer_writes_the_container_its_extension_names(
    tmp_path: Path, clips: dict[str, Path], suffix: str, muxer: str, video: str, audio: str
) -> None:
    output = tmp_path / f"out{suffix}"
    frame = np.full((32, 48, 3), 90, np.uint8)
    with VideoWriter(output, 48, 32, 25, clips["speech"], duration=0.4) as writer:
        for _ in range(10):
            writer.write(frame)
    info = probe(output)
    assert (info.container, info.video_codec, info.audio_codec) == (muxer, video, audio)
    assert info.n_frames == 10 and list(tmp_path.iterdir()) == [output]


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("out.gif", "a GIF has no sound"),
        ("out.txt", "not a video container"),
        ("out", "has no extension"),
        ("out.png", "image format"),
    ],
)
def test_unwritable_extensions_are_refused_before_any_work(
    capsys, clips: dict[str, Path], tmp_path: Path, name: str, fragment: str
) -> None:
    before = digest(clips["face"])
    code, err = run_cli(
        capsys, clips["face"], "--audio", clips["speech"], "-o", tmp_path / name, *WARP
    )
    assert_clean_error(code, err, fragment, ".mp4, ")
    assert err.startswith("error:")  # no empty progress line first
    assert list(tmp_path.iterdir()) == [] and digest(clips["face"]) == before


# D4 + D11 + D12 + D13 + --json: one real dub of half an anamorphic clip, checked by several
# tests (one dub keeps the suite fast)


@dataclass
class DubRun:
    code: int
    out: str
    err: str
    output: Path
    source: Path


@pytest.fixture(scope="module")
def damaged_pal_dub(clips: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> DubRun:
    """``lipdub HALF_OF_PAL.mp4 -o dub.mkv --json --resize-factor 2`` with a feature cache
    that cannot be created."""
    from lipdub.cli.app import main

    folder = tmp_path_factory.mktemp("pal-dub")
    source = cut_in_half(clips["pal"], folder / "pal_half.mp4")
    blocker = folder / "not-a-folder"
    blocker.write_text("x")
    output = folder / "out" / "dub.mkv"
    output.parent.mkdir()
    args = [source, "--audio", clips["speech"], "-o", output, "-q", "--json", *WARP]
    args += ["--resize-factor", "2", "--device", "cpu"]
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LIPDUB_HOME", str(blocker / "home"))  # the cache folder cannot be made
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([str(a) for a in args])
    return DubRun(code, out.getvalue(), err.getvalue(), output, source)


def test_dub_writes_the_container_named_keeping_the_pixel_shape(damaged_pal_dub: DubRun) -> None:
    run = damaged_pal_dub
    assert run.code == 0, run.err
    info = probe(run.output)
    assert info.container == "matroska,webm" and info.sample_aspect_ratio == Fraction(64, 45)
    assert (info.width, info.height) == (64, 64)  # --resize-factor 2 of 128x128
    assert sorted(p.name for p in run.output.parent.iterdir()) == ["dub.mkv"]


def test_unwritable_feature_cache_is_one_warning(damaged_pal_dub: DubRun) -> None:
    warnings = [line for line in damaged_pal_dub.err.splitlines() if "feature cache" in line]
    assert len(warnings) == 1 and "carrying on without it" in warnings[0]
    assert "--cache-dir" not in damaged_pal_dub.err


def test_half_decodable_input_warns_with_counts(damaged_pal_dub: DubRun) -> None:
    lines = [line for line in damaged_pal_dub.err.splitlines() if "damaged" in line]
    decoded = len(list(VideoReader(damaged_pal_dub.source).frames()))
    assert 0 < decoded < 20
    assert len(lines) == 1 and f"only {decoded} of its 25 video frames" in lines[0]


def test_json_summary_has_device_fit_face_and_the_file_size(damaged_pal_dub: DubRun) -> None:
    summary = json.loads(damaged_pal_dub.out)
    assert summary["file_bytes"] == damaged_pal_dub.output.stat().st_size
    assert (summary["device"], summary["precision"]) == ("cpu", "fp32")
    assert summary["fit"] == "pingpong,trim" and summary["face"]
    assert (summary["file_width"], summary["file_height"]) == (64, 64)
    assert summary["shot_choices"][0]["track"] is not None  # the face chosen


def test_summary_table_names_device_fit_face_and_file_size(tmp_path: Path) -> None:
    from rich.console import Console

    from lipdub.cli.render import human_size, summary_table
    from lipdub.pipeline.dub import DubRequest
    from lipdub.pipeline.fit import FitPolicy
    from lipdub.pipeline.request import DubSummary

    out = tmp_path / "o.mp4"
    frame = np.zeros((31, 33, 3), np.uint8)  # odd: the file is 34x32
    with VideoWriter(out, 33, 31, 25) as writer:
        writer.write(frame)
    summary = DubSummary(out, "warp", None, 1, 1, 1, 0, 1, 33, 31, 25.0, 0.04, {"total": 1.0})
    request = DubRequest(Path("v.mp4"), Path("a.wav"), device="cpu", fit=FitPolicy("loop", "keep"))
    console = Console(record=True, width=200)
    console.print(summary_table(summary, request))
    text = console.export_text()
    assert "cpu, precision fp32" in text and "loop,keep" in text
    assert "34x32 @ 25 fps" in text and f"({human_size(out.stat().st_size)})" in text
    assert human_size(1624) == "1.6 kB" and human_size(999) == "999 bytes"


@pytest.mark.parametrize("command", ["dub", "faces", "eval"])
def test_input_cut_inside_its_first_frame_is_one_error_line(
    capsys, clips: dict[str, Path], tmp_path: Path, command: str
) -> None:
    output, report = tmp_path / "out.mp4", tmp_path / "r.json"
    args: tuple[object, ...] = ("faces", clips["no_frame"])
    if command == "eval":
        args = ("eval", clips["no_frame"], "--audio", clips["speech"], "-o", report, "-q")
    elif command == "dub":
        args = (clips["no_frame"], "--audio", clips["speech"], "-o", output, "-q", *WARP)
    code, err = run_cli(capsys, *args)
    notes = [line for line in err.splitlines() if line.startswith("note: ")]  # eval's skips
    assert_clean_error(
        code,
        "\n".join(line for line in err.splitlines() if line not in notes),
        "no_frame.mp4: no video frame could be decoded, the file is damaged or cut short",
    )
    assert code == 2 and not output.exists() and not report.exists()


# D13 in eval, and eval's rough edges


def test_eval_says_what_it_skipped_and_that_the_input_is_damaged(
    capsys, clips: dict[str, Path], tmp_path: Path
) -> None:
    report = tmp_path / "r.json"
    args = ("eval", clips["half"], "--audio", clips["speech"], "-o", report, "-q", "--no-plots")
    code, err = run_cli(capsys, *args)
    assert code == 0, err
    assert "skipped lse, pri" in err and "syncnet_v2.model" in err
    assert "skipped lmd, psnr, ssim, fid" in err and "--reference" in err
    assert "damaged or cut short" in err and "of its 25 video frames" in err
    assert "agreement" in json.loads(report.read_text())["metrics"]


def test_eval_reference_of_odd_size_and_psnr_alone(
    capsys, clips: dict[str, Path], tmp_path: Path
) -> None:
    odd = tmp_path / "odd.mkv"  # what a 127x95 source looks like
    run_ffmpeg(
        "-i", str(clips["face"]), "-vf", "format=yuv444p,crop=127:95:0:0", "-c:v", "ffv1", str(odd)
    )
    dubbed = tmp_path / "dubbed.mp4"  # its dub is stored one pixel larger each way
    run_ffmpeg("-i", str(odd), "-vf", "pad=128:96", "-c:v", "libx264", "-crf", "10",
               "-pix_fmt", "yuv420p", str(dubbed))  # fmt: skip
    report = tmp_path / "r.json"
    args = ("eval", dubbed, "--reference", odd, "-m", "psnr", "-o", report, "-q", "--no-plots")
    code, err = run_cli(capsys, *args)
    assert code == 0, err
    row = json.loads(report.read_text())["videos"][0]
    assert row["psnr"] > 35 and "ssim" not in row and "ssim_face" not in row


# --preview: the first seconds, outlined


def test_preview_draws_the_mask_outline_beside_the_output(
    capsys, clips: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "final.mp4"
    args = (clips["face"], "--audio", clips["speech"], "-o", out, "-q", "--preview", *WARP)
    code, err = run_cli(capsys, *args)
    assert code == 0, err
    preview = tmp_path / "final.preview.mp4"
    assert list(tmp_path.iterdir()) == [preview]
    frame = next(VideoReader(preview).frames())
    source = next(VideoReader(clips["face"]).frames())

    def greenish(image: np.ndarray) -> np.ndarray:
        pixels = image.astype(int)
        return pixels[..., 1] - np.maximum(pixels[..., 0], pixels[..., 2]) > 60

    green, was_green = greenish(frame), greenish(source)
    assert green.sum() > 30 and was_green.sum() == 0
    rows = np.flatnonzero(green.any(axis=1))
    assert rows.min() > 128 // 3  # the outline is on the lower face


# Temp-file writers of datasets and checkpoints respect the umask


def test_dataset_and_checkpoint_files_respect_the_umask(tmp_path: Path) -> None:
    from lipdub.training.checkpointing import save_atomic
    from lipdub.training.clips import save_npz_atomic
    from lipdub.training.preprocess import _write_json

    old = os.umask(0o022)
    try:
        save_atomic(tmp_path / "c.pt", {"step": 1})
        save_npz_atomic(tmp_path / "d.npz", a=np.zeros(2))
        _write_json(tmp_path / "m.json", {"a": 1})
    finally:
        os.umask(old)
    for name in ("c.pt", "d.npz", "m.json"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o644, name
