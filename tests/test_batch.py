"""``lipdub batch``: pairing, failures reported by name, resume, one model load, Ctrl-C."""

from __future__ import annotations

import _thread
import json
import shutil
import time
from pathlib import Path

import pytest

from lipdub.batch import pairing, runner, worker
from lipdub.batch.pairing import pair_folder, read_manifest
from lipdub.batch.runner import BatchObserver, run_batch
from lipdub.cli.app import main
from lipdub.cli.dub_cmd import DUB_OPTION_DEFAULTS, request_from_options
from lipdub.errors import InputError
from lipdub.media.probe import probe
from tests.conftest import batch_clips, check_batch_outputs

WARP = ["--generator", "warp"]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """videos/{a,b}.mp4 (1 s, 160 px) + a corrupt videos/bad.mp4; audio/{a,b,bad}.wav."""
    return batch_clips(tmp_path_factory.mktemp("batch-media"))


def run_cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, float]:
    started = time.perf_counter()
    code = main([str(arg) for arg in args])
    return code, capsys.readouterr().err, time.perf_counter() - started


def test_folder_batch_reports_the_bad_item_and_resumes(clips, tmp_path, capsys) -> None:
    videos, audio = clips
    out, report = tmp_path / "out", tmp_path / "report.json"
    args = ["batch", videos, "--audio-dir", audio, "-o", out, "--report", report, *WARP]
    code, err, first = run_cli(capsys, *args)
    assert code == 1
    assert "Traceback" not in err
    assert "bad" in err and "not a media file" in err
    data = json.loads(report.read_text())
    status = {item["name"]: item for item in data["items"]}
    assert {name: item["status"] for name, item in status.items()} == {
        "a": "done",
        "b": "done",
        "bad": "failed",
    }
    assert "bad.mp4" in status["bad"]["reason"]
    assert data["component_builds"] == 1
    stamps = check_batch_outputs(out)

    code, err, second = run_cli(capsys, *args)
    assert code == 1 and "Traceback" not in err
    data = json.loads(report.read_text())
    assert [item["status"] for item in data["items"]] == ["skipped", "skipped", "failed"]
    assert data["component_builds"] == 0  # nothing left to dub: no model was loaded
    assert {path.name: path.stat().st_mtime_ns for path in out.iterdir()} == stamps
    assert second < 0.5 * first, (first, second)

    code, err, _ = run_cli(capsys, *args, "--overwrite", "-q")
    assert code == 1
    assert err.strip().splitlines() == [line for line in err.strip().splitlines() if "bad" in line]
    assert all(path.stat().st_mtime_ns != stamps[path.name] for path in out.iterdir())


def test_all_good_exits_zero_with_one_audio_for_all(clips, tmp_path, capsys) -> None:
    videos, audio = clips
    good = tmp_path / "good"
    good.mkdir()
    shutil.copy(videos / "a.mp4", good / "a.mp4")
    shutil.copy(videos / "a.mp4", good / ".hidden.mp4")  # hidden files (partials) are ignored
    code, err, _ = run_cli(
        capsys, "batch", good, "--audio", audio / "b.wav", "-o", tmp_path / "o", "-q", *WARP
    )
    assert code == 0, err
    assert [path.name for path in (tmp_path / "o").iterdir()] == ["a.mp4"]


def test_pairing_reports_videos_without_audio_and_audio_without_video(tmp_path) -> None:
    videos, audio = tmp_path / "v", tmp_path / "a"
    videos.mkdir()
    audio.mkdir()
    for name in ("one.mp4", "two.mov", "two.mkv", "three.png", "notes.txt", ".x.partial.mp4"):
        (videos / name).write_bytes(b"x")
    for name in ("one.wav", "three.mp3", "three.flac", "extra.m4a"):
        (audio / name).write_bytes(b"x")
    result = pair_folder(videos, tmp_path / "out", audio_dir=audio)
    items = {item.name: item for item in result.items}
    assert sorted(items) == ["one", "three", "two"]
    assert items["one"].error is None and items["one"].audio == audio / "one.wav"
    assert items["one"].output == tmp_path / "out" / "one.mp4"
    assert "several videos named two.*" in items["two"].error
    assert "several audio files named three.*" in items["three"].error
    assert result.unmatched_audio == [audio / "extra.m4a"]
    (audio / "three.flac").unlink()
    (videos / "four.mp4").write_bytes(b"x")
    items = {item.name: item for item in pair_folder(videos, tmp_path, audio_dir=audio).items}
    assert items["three"].error is None
    assert items["four"].error == f"no audio named four.* in {audio}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--audio-dir", "{a}", "-o", "{v}"], "other than the video folder"),
        (["--audio-dir", "{a}"], "-o OUT_DIR"),
        (["-o", "{o}"], "--audio-dir DIR"),
        (["--audio-dir", "{a}", "--audio", "{a}/a.wav", "-o", "{o}"], "either --audio-dir"),
        (["--audio-dir", "{a}", "-o", "{o}", "--precision", "fp8"], "--precision"),
    ],
)
def test_bad_batch_arguments_give_one_line(clips, tmp_path, capsys, args, message) -> None:
    videos, audio = clips
    filled = [a.format(a=audio, v=videos, o=tmp_path / "o") for a in args]
    code, err, _ = run_cli(capsys, "batch", videos, *filled)
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], err


def test_manifest_rows_paths_options_and_errors(tmp_path) -> None:
    manifest = tmp_path / "list.csv"
    manifest.write_text(
        "video,audio,output,fps,pads,blender\n"
        "clips/a.mp4,dub/a.wav,,,0 12 0 0,box\n"
        "# a comment row\n"
        "clips/b.mp4,dub/b.wav,/abs/b_out.mp4,fast,,\n"
        "clips/c.mp4,,,,,\n"
        "clips/d.mp4,dub/d.wav,/abs/b_out.mp4,,,\n"
    )
    items = read_manifest(manifest, tmp_path / "out").items
    assert [item.video for item in items] == [tmp_path / "clips" / f"{s}.mp4" for s in "abcd"]
    first = items[0]
    assert first.error is None and first.output == tmp_path / "out" / "a.mp4"
    assert first.options == {"pads": [0, 12, 0, 0], "blender": "box"}
    request = request_from_options(first.video, first.audio, first.output, first.options)
    assert request.pads == (0, 12, 0, 0) and request.blender == "box"
    assert items[1].error == "line 4: fps 'fast' is not a valid value"
    assert items[2].error == "line 5: the audio cell is empty"
    assert items[3].error is None
    runner._mark_duplicate_outputs(items)
    assert items[3].error is None  # the first claimant of the path failed already
    with pytest.raises(InputError, match="unknown column 'colour'"):
        manifest.write_text("video,audio,colour\na.mp4,a.wav,red\n")
        read_manifest(manifest, None)
    manifest.write_text("video,audio\na.mp4,a.wav\n")
    assert read_manifest(manifest, None).items[0].error == (
        "line 2: no output column value and no -o OUT_DIR"
    )
    assert set(pairing.MANIFEST_OPTIONS) <= set(DUB_OPTION_DEFAULTS)


def test_components_load_once_per_distinct_setup(clips, tmp_path, monkeypatch, capsys) -> None:
    videos, audio = clips
    builds: list[str] = []
    real_build = worker.components_for

    def counting_build(request, generator):
        builds.append(f"{generator}/{request.blender}")
        return real_build(request, generator)

    monkeypatch.setattr(worker, "components_for", counting_build)
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        f"video,audio,output,blender\n"
        f"{videos}/a.mp4,{audio}/a.wav,{tmp_path}/1.mp4,\n"
        f"{videos}/b.mp4,{audio}/b.wav,{tmp_path}/2.mp4,\n"
        f"{videos}/a.mp4,{audio}/b.wav,{tmp_path}/3.mp4,box\n"
    )
    code, err, _ = run_cli(capsys, "batch", "--manifest", manifest, "-q", *WARP)
    assert code == 0, err
    assert builds == ["warp/mask", "warp/box"]
    assert all((tmp_path / f"{n}.mp4").is_file() for n in (1, 2, 3))


class Recorder(BatchObserver):
    """Records progress; presses Ctrl-C once the first item is redrawing mouths."""

    def __init__(self, interrupt: bool = False) -> None:
        self.stages: list[tuple[int, str]] = []
        self.finished: list[str] = []
        self.interrupt = interrupt

    def item_progress(self, slot: int, stage: str, done: int, total: int | None) -> None:
        self.stages.append((slot, stage))
        if self.interrupt and stage == "dub":
            self.interrupt = False
            _thread.interrupt_main()

    def item_finished(self, slot: int, result) -> None:
        self.finished.append(result.status)


def _requests(item):
    return request_from_options(item.video, item.audio, item.output, {"generator": "warp"})


def test_ctrl_c_stops_cleanly_and_a_rerun_resumes(clips, tmp_path, capsys) -> None:
    videos, audio = clips
    out = tmp_path / "out"
    out.mkdir()
    items = pair_folder(videos, out, audio_dir=audio).items
    recorder = Recorder(interrupt=True)
    report = run_batch(items, _requests, observer=recorder)
    assert report.interrupted and not report.ok
    assert [r.status for r in report.results] == ["interrupted", "not started", "not started"]
    assert list(out.iterdir()) == []  # no partial file
    assert {stage for _, stage in recorder.stages} >= {"load", "analyse", "dub"}

    code, err, _ = run_cli(capsys, "batch", videos, "--audio-dir", audio, "-o", out, *WARP)
    assert code == 1 and "Traceback" not in err
    assert sorted(path.name for path in out.iterdir()) == ["a.mp4", "b.mp4"]


def test_two_jobs_dub_every_item(clips, tmp_path) -> None:
    videos, audio = clips
    items = pair_folder(videos, tmp_path, audio_dir=audio).items
    recorder = Recorder()
    report = run_batch(items, _requests, jobs=2, observer=recorder)
    assert [r.status for r in report.results] == ["done", "done", "failed"]
    assert {slot for slot, _ in recorder.stages} == {0, 1}
    assert report.component_builds == 2  # one set per worker, not per video
    for stem in "ab":
        assert probe(tmp_path / f"{stem}.mp4").duration == pytest.approx(1.2, abs=0.08)
