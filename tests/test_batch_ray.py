"""``lipdub batch --executor ray``: same contract as the local runner, plus lost workers.

One local Ray instance (2 CPUs) serves the whole module; the batch reuses it.
"""

from __future__ import annotations

import _thread
import json
import logging
import os
import pickle
import signal
import sys
from pathlib import Path

import pytest

from lipdub.batch.executors import RaySettings
from lipdub.batch.pairing import BatchItem, pair_folder
from lipdub.batch.runner import BatchObserver, run_batch
from lipdub.cli.dub_cmd import request_from_options
from lipdub.media.probe import probe
from tests.conftest import batch_clips, check_batch_outputs
from tests.test_batch import run_cli

WARP = ["--generator", "warp"]
RAY = ["--executor", "ray"]


@pytest.fixture(scope="module")
def ray_instance(tmp_path_factory: pytest.TempPathFactory):
    """Ray on this machine for the module; its workers get an empty lipdub cache."""
    ray = pytest.importorskip("ray")
    home = tmp_path_factory.mktemp("ray-lipdub-home")
    with pytest.MonkeyPatch.context() as patch:  # the workers inherit this environment
        patch.setenv("LIPDUB_HOME", str(home))
        patch.setenv("HF_HUB_OFFLINE", "1")
        ray.init(
            num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False
        )
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """videos/{a,b}.mp4 (1 s, 160 px) + a corrupt videos/bad.mp4; audio/{a,b,bad}.wav."""
    return batch_clips(tmp_path_factory.mktemp("ray-batch-media"))


def _requests(item: BatchItem):
    return request_from_options(item.video, item.audio, item.output, {"generator": "warp"})


def test_executor_ray_without_ray_is_one_line(clips, tmp_path, capsys, monkeypatch) -> None:
    videos, audio = clips
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    code, err, _ = run_cli(
        capsys, "batch", videos, "--audio-dir", audio, "-o", tmp_path / "o", *RAY, *WARP
    )
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "pip install 'lipdub[ray]'" in lines[0], err
    assert not (tmp_path / "o").exists()


def test_ray_flags_need_the_ray_executor(clips, tmp_path, capsys) -> None:
    videos, audio = clips
    code, err, _ = run_cli(
        capsys, "batch", videos, "--audio-dir", audio, "-o", tmp_path, "--gpus-per-job", "1"
    )
    assert code != 0 and "need --executor ray" in err


def test_requests_travel_to_workers() -> None:
    request = request_from_options(
        Path("v.mp4"), Path("a.wav"), Path("o.mp4"), {"option": ["blender.feather=0.2"]}
    )
    assert pickle.loads(pickle.dumps(request)) == request


def test_cluster_sizes_and_attempt_files(ray_instance) -> None:
    from lipdub.batch import ray_executor

    assert ray_executor._fit({"CPU": 8.0, "GPU": 2.0}, 1, 1) == 2
    assert ray_executor._fit({"CPU": 8.0, "GPU": 1.0}, 2, 0.25) == 4
    assert ray_executor._fit({"CPU": 1.0}, 2, 0) == 0
    assert ray_executor._fit({"CPU": 4.0}, 0, 0) is None
    attempt = ray_executor.attempt_path(Path("out/talk.mp4"), "ab12-3-1")
    assert attempt == Path("out/.talk.ab12-3-1.mp4") and attempt.suffix == ".mp4"


@pytest.mark.slow
def test_ray_batch_reports_the_bad_item_and_resumes(ray_instance, clips, tmp_path, capsys) -> None:
    videos, audio = clips
    out, report = tmp_path / "out", tmp_path / "report.json"
    args = ["batch", videos, "--audio-dir", audio, "-o", out, "--report", report, *WARP, *RAY]
    code, err, first = run_cli(capsys, *args)
    assert code == 1, err
    assert "Traceback" not in err and "(raylet)" not in err
    ray_lines = [line for line in err.splitlines() if "Ray" in line or "INFO" in line]
    assert len(ray_lines) == 1 and ray_lines[0].startswith("ray: "), err  # lipdub's one note
    data = json.loads(report.read_text())
    assert data["executor"] == "ray" and data["jobs"] == 2
    status = {item["name"]: item for item in data["items"]}
    assert {name: item["status"] for name, item in status.items()} == {
        "a": "done",
        "b": "done",
        "bad": "failed",
    }
    assert "bad.mp4" in status["bad"]["reason"] and "bad" in err
    assert 1 <= data["component_builds"] <= 2  # once per actor that dubbed something
    stamps = check_batch_outputs(out)

    code, err, second = run_cli(capsys, *args)
    assert code == 1 and "Traceback" not in err
    data = json.loads(report.read_text())
    assert [item["status"] for item in data["items"]] == ["skipped", "skipped", "failed"]
    assert data["component_builds"] == 0  # nothing left to dub: no model was loaded
    assert data["jobs"] == 1  # one actor, for the one item that still needs a worker
    assert {path.name: path.stat().st_mtime_ns for path in out.iterdir()} == stamps
    print(f"ray batch: first run {first:.1f} s, re-run {second:.1f} s")


class KillOnce(BatchObserver):
    """Kills the worker process of the first item to start redrawing mouths."""

    def __init__(self, ray) -> None:
        self.ray = ray
        self.killed: str | None = None
        self.running: dict[int, str] = {}
        self.finished: dict[str, str] = {}
        self.notes: list[str] = []

    def item_started(self, slot: int, item: BatchItem) -> None:
        self.running[slot] = item.name

    def item_progress(self, slot: int, stage: str, done: int, total: int | None) -> None:
        if stage != "dub" or self.killed is not None or self.running[slot] != "long":
            return
        names = [n for n in self.ray.util.list_named_actors() if n.startswith("lipdub-batch-")]
        mine = max((n for n in names if n.split("-")[3] == str(slot)), key=_spawn_number)
        pid = self.ray.get(self.ray.get_actor(mine).pid.remote())
        os.kill(pid, signal.SIGKILL)
        self.killed = self.running[slot]

    def item_finished(self, slot: int, result) -> None:
        self.finished[result.name] = result.status

    def note(self, line: str) -> None:
        self.notes.append(line)


def _spawn_number(name: str) -> int:
    return int(name.rsplit("-", 1)[1])


@pytest.mark.slow
def test_a_killed_worker_is_replaced_and_its_item_retried(
    ray_instance, clips, talking_head, speech_wav, tmp_path
) -> None:
    videos, audio = clips
    out = tmp_path / "out"
    out.mkdir()
    items = [
        BatchItem("long", talking_head, speech_wav, out / "long.mp4"),
        BatchItem("a", videos / "a.mp4", audio / "a.wav", out / "a.mp4"),
    ]
    observer = KillOnce(ray_instance)
    report = run_batch(items, _requests, jobs=None, observer=observer, executor="ray")
    assert observer.killed == "long", observer.notes
    results = {result.name: result for result in report.results}
    assert results["a"].status == "done"
    long = results["long"]
    assert any("long: its worker died" in note for note in observer.notes), observer.notes
    assert long.attempts == 2
    if long.status == "done":
        assert probe(out / "long.mp4").duration == pytest.approx(3.0, abs=0.08)
    else:
        assert long.status == "failed" and "worker died" in (long.reason or "")
    done = sorted(f"{r.name}.mp4" for r in report.results if r.status == "done")
    assert sorted(path.name for path in out.iterdir()) == done  # nothing partial or hidden


class InterruptAtDub(BatchObserver):
    """Presses Ctrl-C once the first item is redrawing mouths."""

    def __init__(self) -> None:
        self.pressed = False

    def item_progress(self, slot: int, stage: str, done: int, total: int | None) -> None:
        if stage == "dub" and not self.pressed:
            self.pressed = True
            _thread.interrupt_main()


@pytest.mark.slow
def test_ray_ctrl_c_stops_the_running_items(ray_instance, clips, tmp_path) -> None:
    videos, audio = clips
    out = tmp_path / "out"
    out.mkdir()
    items = pair_folder(videos, out, audio_dir=audio).items
    report = run_batch(
        items, _requests, jobs=1, observer=InterruptAtDub(), executor="ray", ray=RaySettings()
    )
    assert report.interrupted and not report.ok
    assert [r.status for r in report.results] == ["interrupted", "not started", "not started"]
    assert list(out.iterdir()) == []  # no partial file
