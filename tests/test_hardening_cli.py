"""Issue 11, command-line rough edges: one-line usage errors with hints for Wav2Lip's
option names, Wav2Lip's useful flags as real options, no empty line before an error, shell
completion, an offline ``models pull`` that fails fast, and ``batch -q``'s fallback note."""

from __future__ import annotations

import time

import pytest

from lipdub.errors import InputError
from lipdub.media.media_info import scaled
from lipdub.media.probe import probe
from tests.test_cli_errors import assert_clean_error, run_cli


@pytest.mark.parametrize(
    ("flags", "fragments"),
    [
        (("--outfile", "o.mp4"), ("no such option --outfile", "-o/--output")),
        (("--resize_factor", "2"), ("did you mean --resize-factor?",)),
        (("--checkpoint_path", "x.pth"), ("-c/--checkpoint",)),
        (("--ovewrite",), ("did you mean --overwrite?",)),
        (("--fps", "abc"), ("Invalid value for '--fps'", "lipdub dub -h")),
    ],
)
def test_usage_errors_are_one_line_with_a_hint(
    capsys, talking_head, speech_wav, flags, fragments
) -> None:
    code, err = run_cli(capsys, talking_head, "--audio", speech_wav, *flags)
    assert_clean_error(code, err, *fragments)
    assert "quiet" not in err and err.startswith("error:")


def test_wav2lip_face_flag_names_the_video_argument(capsys, talking_head, speech_wav) -> None:
    code, err = run_cli(capsys, "--face", talking_head, "--audio", speech_wav)
    assert_clean_error(code, err, "the video is the first argument", f"lipdub {talking_head}")


def test_errors_do_not_start_with_an_empty_line(capsys, speech_wav, tmp_path) -> None:
    code, err = run_cli(capsys, tmp_path / "missing.mp4", "--audio", speech_wav, "-g", "warp")
    assert_clean_error(code, err, "missing.mp4: no such file")
    assert err.startswith("error:")


def test_wav2lip_flags_are_real_options(
    capsys, monkeypatch, talking_head, speech_wav, tmp_path
) -> None:
    import lipdub.cli.dub_cmd as dub_cmd

    seen = []
    monkeypatch.setattr(dub_cmd, "dub", lambda request, *a, **k: seen.append(request))
    base = (talking_head, "--audio", speech_wav, "-o", tmp_path / "o.mp4", "-q", "-g", "warp")
    assert run_cli(capsys, *base, "--nosmooth", "--resize-factor", "2")[0] == 0
    assert run_cli(capsys, *base, "--output-height", "100")[0] == 0
    got = [(r.smooth, r.resize_factor, r.output_height) for r in seen]
    assert got == [(False, 2, None), (True, 1, 100)]
    assert not any(r.analysis_cache for r in seen)  # a resized analysis is not the cached one


def test_scaled_sizes_keep_the_shape_and_stay_even(talking_head) -> None:
    info = probe(talking_head)  # 256x256
    assert (scaled(info, 2).width, scaled(info, 2).height) == (128, 128)
    assert (scaled(info, 1, 101).width, scaled(info, 1, 101).height) == (100, 100)
    assert scaled(info) is info
    for factor, height in ((0, None), (1, 8), (1, 4000)):
        with pytest.raises(InputError):
            scaled(info, factor, height)


def test_nosmooth_keeps_the_raw_face_track() -> None:
    import numpy as np

    from lipdub.pipeline.analysis import prepare_faces
    from lipdub.types import Face

    rng = np.random.default_rng(0)
    faces = []
    for _ in range(12):
        x, y = 40 + rng.uniform(-3, 3), 40 + rng.uniform(-3, 3)
        box = (x, y, x + 60, y + 60)
        faces.append(Face(box=box, landmarks=np.zeros((5, 2), np.float32), score=1.0))
    shots = [0] * 12
    raw = prepare_faces(faces, shots, 25.0, (0, 0, 0, 0), (200, 200), smooth=False)
    smooth = prepare_faces(faces, shots, 25.0, (0, 0, 0, 0), (200, 200))
    jitter = [np.diff([f.box[0] for f in track]).std() for track in (raw, smooth)]
    assert jitter[1] < jitter[0]


def test_shell_completion_is_on(capsys, monkeypatch) -> None:
    from lipdub.cli.app import main

    # Take the shell from the argument: a run with no shell among its parents (a detached
    # CI job) cannot detect one.
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")

    assert main(["--show-completion", "bash"]) == 0
    out = capsys.readouterr().out
    assert "_lipdub_completion" in out and "complete" in out


def test_offline_pull_fails_fast_with_one_line(capsys, monkeypatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("LIPDUB_HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    started = time.monotonic()
    code, err = run_cli(capsys, "models", "pull", "wav2lip-gan")
    assert time.monotonic() - started < 10
    assert_clean_error(code, err, "cannot reach 127.0.0.1", "--checkpoint PATH")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, err = run_cli(capsys, "models", "pull", "wav2lip-gan")
    assert_clean_error(code, err, "HF_HUB_OFFLINE is set", "by hand")


def test_quiet_batch_still_says_it_fell_back_to_warp(
    capsys, monkeypatch, talking_head, speech_wav, tmp_path
) -> None:
    import lipdub.cli.batch_cmd as batch_cmd
    from lipdub.batch.report import BatchReport

    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "a.mp4").symlink_to(talking_head)
    called = []

    def fake_run_batch(items, make_request, **kwargs):
        called.append([make_request(item) for item in items])
        return BatchReport(results=[], seconds=0.0, jobs=1)

    monkeypatch.setattr(batch_cmd, "run_batch", fake_run_batch)
    args = ("batch", videos, "--audio", speech_wav, "-o", tmp_path / "out", "-q")
    code, err = run_cli(capsys, *args)
    assert code == 0 and called, err
    assert err.count("no weights found") == 1 and "warp" in err


def test_box_is_wav2lips_fixed_face_box(capsys, monkeypatch, talking_head, speech_wav, tmp_path):
    import numpy as np

    import lipdub.cli.dub_cmd as dub_cmd
    from lipdub.faces.boxes import wav2lip_box
    from lipdub.plugins import get_component

    seen = []
    monkeypatch.setattr(dub_cmd, "dub", lambda request, *a, **k: seen.append(request))
    base = (talking_head, "--audio", speech_wav, "-o", tmp_path / "o.mp4", "-q")
    assert run_cli(capsys, *base, "--box", "30", "200", "-1", "180")[0] == 0
    (request,) = seen
    assert request.tracker == "fixed-box"
    tracker = get_component("face_trackers", "fixed-box")(request.options.get("tracker", {}))
    (face,) = tracker.detect(np.zeros((256, 256, 3), np.uint8))
    assert face.box == (0.0, 30.0, 180.0, 200.0) and face.regions is None
    assert wav2lip_box(face, (0, 10, 0, 0), (256, 256)) == (0.0, 30.0, 180.0, 210.0)
    code, err = run_cli(capsys, *base, "--box", "30", "200", "-1")
    assert_clean_error(code, err, "--box takes four whole numbers", "got 3")
    code, err = run_cli(capsys, *base, "--box", "1", "2", "3", "4", "--tracker", "other")
    assert_clean_error(code, err, "does not combine with --tracker other")


def test_eval_error_is_not_preceded_by_an_empty_line(capsys, tmp_path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x17not a video" * 50)
    code, err = run_cli(capsys, "eval", junk, "-o", tmp_path / "r.json", "--no-plots")
    lines = err.splitlines()
    assert code != 0 and "" not in lines and "Traceback" not in err
    assert lines[-1].startswith("error:") and "not a media file" in lines[-1]
