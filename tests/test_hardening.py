"""Odd and hostile inputs (issue 11): one clear line, non-zero exit, nothing partial left."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lipdub.cli.argv import expand_pads
from lipdub.errors import InputError, OutputError
from lipdub.media.writer import VideoWriter, check_output_path, partial_path
from tests.conftest import make_talking_head, speech_like, write_wav
from tests.test_cli_errors import assert_clean_error, digest, run_cli

WARP = ("-g", "warp")


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def mps_available() -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


# D2: --pads TOP BOTTOM LEFT RIGHT after one flag


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--pads", "0", "10", "0", "0", "x"], ["0", "10", "0", "0"]),
        (["--pads=0,10,0,0"], ["0", "10", "0", "0"]),
        (["--pads=-5", "0", "0", "-2"], ["-5", "0", "0", "-2"]),
        (["--pads", "1 2 3 4"], ["1", "2", "3", "4"]),
        (["--pads", "1", "--pads", "2", "--pads", "3", "--pads", "4"], ["1", "2", "3", "4"]),
    ],
)
def test_pads_forms_become_four_values(args: list[str], expected: list[str]) -> None:
    out = expand_pads(args)
    assert [a.removeprefix("--pads=") for a in out if a.startswith("--pads=")] == expected


def test_pads_after_double_dash_are_left_alone() -> None:
    assert expand_pads(["--", "--pads", "1"]) == ["--", "--pads", "1"]


def test_three_pads_are_one_clear_error(capsys, talking_head, speech_wav, tmp_path) -> None:
    out = tmp_path / "o.mp4"
    before = digest(talking_head)
    args = (talking_head, "--audio", speech_wav, "--pads", "0", "10", "0", "-o", out, "-q")
    code, err = run_cli(capsys, *args)
    assert_clean_error(code, err, "--pads", "four", "got 3")
    code, err = run_cli(capsys, talking_head, "--audio", speech_wav, "--pads=1,2", "-o", out)
    assert_clean_error(code, err, "four")
    code, err = run_cli(capsys, talking_head, "--audio", speech_wav, "--pads", "a", "-o", out)
    assert_clean_error(code, err, "four")
    assert not out.exists() and digest(talking_head) == before


def test_pads_reach_the_request(capsys, monkeypatch, talking_head, speech_wav, tmp_path) -> None:
    import lipdub.cli.dub_cmd as dub_cmd

    seen = []
    monkeypatch.setattr(dub_cmd, "dub", lambda request, *a, **k: seen.append(request))
    args = (talking_head, "--audio", speech_wav, "-o", tmp_path / "o.mp4", "-q", *WARP)
    assert run_cli(capsys, *args, "--pads", "0", "20", "-3", "4")[0] == 0
    assert run_cli(capsys, *args, "--pads=1,2,3,4")[0] == 0
    assert [r.pads for r in seen] == [(0, 20, -3, 4), (1, 2, 3, 4)]


# D3: pads that empty the face box; generators that ignore pads


def test_pads_emptying_the_box_are_refused(capsys, talking_head, speech_wav, tmp_path) -> None:
    out = tmp_path / "o.mp4"
    args = (talking_head, "--audio", speech_wav, "-o", out, "-q", *WARP)
    code, err = run_cli(capsys, *args, "--pads=-300", "0", "0", "0")
    assert_clean_error(code, err, "--pads -300 0 0 0", "empty face box")
    assert list(tmp_path.iterdir()) == []


def test_auto_dub_notes_warp_ignores_pads_and_no_weights(
    capsys, talking_head, speech_wav, tmp_path
) -> None:
    out = tmp_path / "o.mp4"
    code, err = run_cli(
        capsys, talking_head, "--audio", speech_wav, "-o", out, "--pads", "0 20 0 0"
    )
    assert code == 0, err
    assert err.count("ignores --pads") == 1 and "no weights found" in err
    assert list(tmp_path.iterdir()) == [out]


# Rough edges: -q keeps the fallback line; --strict refuses the fallback


def test_quiet_still_says_auto_fell_back_to_warp(
    capsys, monkeypatch, talking_head, speech_wav, tmp_path
) -> None:
    import lipdub.cli.dub_cmd as dub_cmd

    def fake_dub(request, progress, notify):
        notify(dub_cmd.choose_generator(request.generator, request.checkpoint).note)
        notify("some other note")

    monkeypatch.setattr(dub_cmd, "dub", fake_dub)
    code, err = run_cli(capsys, talking_head, "--audio", speech_wav, "-o", tmp_path / "o", "-q")
    assert code == 0
    assert "no weights found" in err and "warp" in err and "some other note" not in err


def test_strict_fails_instead_of_falling_back(capsys, talking_head, speech_wav, tmp_path) -> None:
    out = tmp_path / "o.mp4"
    code, err = run_cli(capsys, talking_head, "--audio", speech_wav, "-o", out, "--strict")
    assert_clean_error(code, err, "--strict", "no weights found")
    assert not out.exists()


# D5: outputs that are not regular files


def test_fifo_output_is_refused_even_with_overwrite(
    capsys, talking_head, speech_wav, tmp_path
) -> None:
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    code, err = run_cli(capsys, talking_head, "--audio", speech_wav, "-o", fifo, "--overwrite")
    assert_clean_error(code, err, "pipe.mp4", "not a regular file")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert list(tmp_path.iterdir()) == [fifo]


def test_device_node_and_directory_outputs_are_refused(tmp_path: Path) -> None:
    if os.path.exists("/dev/null"):
        with pytest.raises(OutputError, match="character device"):
            check_output_path("/dev/null", [], overwrite=True)
    with pytest.raises(OutputError, match="directory"):
        check_output_path(tmp_path, [], overwrite=True)


# D6: long output names


@pytest.mark.parametrize("stem", ["a" * 246, "é" * 123, "b" * 200 + ".x" * 20])
def test_partial_name_always_fits(tmp_path: Path, stem: str) -> None:
    output = tmp_path / f"{stem}.mp4"
    temp = partial_path(output)
    assert len(os.fsencode(temp.name)) <= 255 and temp.parent == output.parent
    assert temp.name.startswith(".") and temp != output
    assert partial_path(tmp_path / f"{stem}2.mp4") != temp


def test_writer_handles_a_250_character_name(tmp_path: Path, speech_wav: Path) -> None:
    output = tmp_path / ("n" * 246 + ".mp4")
    assert len(output.name) == 250
    frame = np.zeros((32, 32, 3), np.uint8)
    with VideoWriter(output, 32, 32, 25, speech_wav, duration=0.2) as writer:
        for _ in range(5):
            writer.write(frame)
    assert output.is_file() and list(tmp_path.iterdir()) == [output]


def test_dub_to_a_long_name_is_not_a_traceback(capsys, talking_head, tmp_path) -> None:
    audio = write_wav(tmp_path / "a.wav", speech_like(0.4))
    out = tmp_path / ("d" * 246 + ".mp4")
    code, err = run_cli(capsys, talking_head, "--audio", audio, "-o", out, "-q", *WARP)
    assert code == 0, err
    assert sorted(tmp_path.iterdir()) == sorted([audio, out])


# D7, D9 and other option values: refused before any work


BAD_OPTIONS = [
    (("--device", "tpu"), "tpu"),
    (("--device", "meta"), "meta"),
    (("--device", "cuda:99"), "cuda:99"),
    (("--fps", "nan"), "--fps"),
    (("--fps", "inf"), "--fps"),
    (("--fps", "1e-7"), "--fps"),
    (("--fps", "0.001"), "--fps"),
    (("--fps", "1000"), "--fps"),
    (("--fit", "loop,freeze"), "contradict"),
    (("--fit", "trim", "--fit", "keep"), "contradict"),
    (("--scene-threshold", "-5"), "--scene-threshold"),
    (("--scene-threshold", "nan"), "--scene-threshold"),
    (("--device", "cpu", "--precision", "fp16"), "fp16"),
]


@pytest.mark.parametrize("generator", ["warp", "wav2lip"])
@pytest.mark.parametrize(("args", "fragment"), BAD_OPTIONS)
def test_bad_values_are_one_line(
    capsys, talking_head, speech_wav, tmp_path, generator, args, fragment
) -> None:
    out = tmp_path / "o.mp4"
    base = (talking_head, "--audio", speech_wav, "-o", out, "-q", "-g", generator)
    code, err = run_cli(capsys, *base, *args)
    assert_clean_error(code, err, fragment)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("device", "present"),
    [("cuda", cuda_available), ("cuda:0", cuda_available), ("mps", mps_available)],
)
@pytest.mark.parametrize("generator", ["warp", "wav2lip", "auto"])
def test_missing_accelerator_is_refused(
    capsys, talking_head, speech_wav, tmp_path, device, present, generator
) -> None:
    if present():
        pytest.skip(f"{device} is available here")
    args = (talking_head, "--audio", speech_wav, "-o", tmp_path / "o.mp4", "-g", generator)
    code, err = run_cli(capsys, *args, "--device", device)
    assert_clean_error(code, err, device, "not available")


def test_fit_policy_parsing_keeps_compatible_pairs() -> None:
    from lipdub.pipeline.fit import FitPolicy

    assert FitPolicy.parse(["loop,keep"]) == FitPolicy("loop", "keep")
    assert FitPolicy.parse(["loop", "loop"]) == FitPolicy("loop", "trim")
    with pytest.raises(InputError):
        FitPolicy.parse(["pingpong,freeze"])


# Temp-file writers respect the umask


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_temp_file_writers_respect_the_umask(tmp_path: Path, umask_022: None) -> None:
    from lipdub.audio.cache import save_npy_atomic
    from lipdub.batch.report import BatchReport, write_report
    from lipdub.eval.report import _write_atomic

    save_npy_atomic(tmp_path / "f.npy", np.zeros(3, np.float32))
    _write_atomic(tmp_path / "r.json", "{}")
    write_report(BatchReport(results=[], seconds=0.0, jobs=0), tmp_path / "b.json")
    for name in ("f.npy", "r.json", "b.json"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o644, name


# D1: SIGTERM / SIGHUP during a dub (a real process)


def _ffmpeg_children_of(folder: Path) -> list[int]:
    """Processes whose command line names ``folder`` (the writer's ffmpeg)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if os.fsencode(folder) in cmdline and b"ffmpeg" in cmdline:
            found.append(int(entry.name))
    return found


def _start(args: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    code = "import sys; from lipdub.cli.app import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )


def _wait_for(predicate, process: subprocess.Popen[bytes], seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if process.poll() is not None:
            raise AssertionError(f"ended first: {process.communicate()[1].decode()}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("timed out")
        time.sleep(0.02)


@pytest.fixture(scope="module")
def long_job(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 1 s face clip and 60 s of audio: the dub writes 1500 frames."""
    folder = tmp_path_factory.mktemp("long")
    video = make_talking_head(folder / "v.mp4", seconds=1.0, size=128)
    audio = write_wav(folder / "a.wav", speech_like(60.0))
    return video, audio


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_stop_signal_during_a_dub(long_job, tmp_path: Path, signum: int, code: int) -> None:
    video, audio = long_job
    out = tmp_path / "o.mp4"
    process = _start([str(video), "--audio", str(audio), "-o", str(out), "-q", *WARP], tmp_path)
    _wait_for(lambda: partial_path(out).exists(), process)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == code, err.decode()
    text = err.decode()
    assert "Traceback" not in text and signal.Signals(signum).name in text
    assert list(tmp_path.iterdir()) == []
    time.sleep(0.2)
    assert _ffmpeg_children_of(tmp_path) == []


def test_sigterm_during_a_batch(long_job, tmp_path: Path) -> None:
    video, audio = long_job
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "a.mp4").symlink_to(video)
    out = tmp_path / "out"
    args = ["batch", str(videos), "--audio", str(audio), "-o", str(out), "-q", *WARP]
    process = _start(args, tmp_path)
    _wait_for(lambda: out.is_dir() and any(out.iterdir()), process)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err.decode()
    assert "Traceback" not in err.decode() and "SIGTERM" in err.decode()
    assert list(out.iterdir()) == []
    time.sleep(0.2)
    assert _ffmpeg_children_of(out) == []
