"""End to end: videos -> preprocess -> SyncNet -> generator -> a dub with the trained weights.

The talking heads are dubbed by the weight-free ``warp`` generator from speech-like audio, so
their lips really follow the audio; a silent clip, a clip without audio and a broken file show
how preprocessing drops and reports them. Runs on CPU in a few minutes (SyncNetColor in the
public layout, batch 8).
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from lipdub.cli.app import main
from tests.conftest import make_talking_head, run_ffmpeg, speech_like, write_wav

pytestmark = pytest.mark.slow

SYNC_STEPS = 60
RESUMED_STEPS = 64
#: With this rate 60 steps reach a validation loss of 0.33 and a 0.95 in-sync preference.
SYNC_LR = "3e-4"


def _metrics(out: Path) -> list[dict[str, str]]:
    with open(out / "metrics.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lipdub.pipeline.dub import DubRequest, dub

    root = tmp_path_factory.mktemp("train-media")
    videos = root / "videos"
    (videos / "more").mkdir(parents=True)
    for index in range(4):
        head = make_talking_head(root / f"head{index}.mp4", seconds=6.0, size=160)
        speech = write_wav(root / f"speech{index}.wav", speech_like(6.0, seed=10 + index))
        folder = videos / "more" if index == 3 else videos
        dub(DubRequest(head, speech, folder / f"talk{index}.mp4", generator="warp", device="cpu"))
    head = make_talking_head(root / "quiet.mp4", seconds=3.0, size=160)
    silence = write_wav(root / "silence.wav", np.zeros(48000, np.float32))
    run_ffmpeg("-i", str(head), "-i", str(silence), "-c:v", "copy", "-c:a", "aac", "-shortest",
               str(videos / "silent.mp4"))  # fmt: skip
    make_talking_head(videos / "mute.mp4", seconds=2.0, size=160)  # no audio stream
    (videos / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 64)
    return root


def test_preprocess_train_and_dub(
    sources: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "dataset"
    started = time.perf_counter()
    assert main(["train", "preprocess", str(sources / "videos"), "-o", str(dataset), "-q"]) == 0
    preprocess_seconds = time.perf_counter() - started
    captured = capsys.readouterr()
    assert "silent.mp4: silent audio" in captured.err
    assert "mute.mp4: no audio stream" in captured.err
    assert "failed" in captured.err and "broken.mp4" in captured.err
    manifest = json.loads((dataset / "manifest.json").read_text())
    assert [c["id"] for c in manifest["clips"]][:2] == ["more_talk3__0000", "more_talk3__0001"]
    assert len(manifest["clips"]) == 8  # 4 videos x (5 s + 1 s)
    assert manifest["counts"] == {"train": 6, "val": 1, "test": 1}
    assert all(c["faces"] == c["frames"] for c in manifest["clips"])

    # Running again (here with 2 worker processes) resumes: nothing is redone.
    marker = dataset / "videos" / "talk0.json"
    stamp = marker.stat().st_mtime_ns
    again = ["train", "preprocess", str(sources / "videos"), "-o", str(dataset), "-j", "2", "-q"]
    assert main(again) == 0
    assert marker.stat().st_mtime_ns == stamp
    assert json.loads((dataset / "manifest.json").read_text())["clips"] == manifest["clips"]

    sync_out = tmp_path / "syncnet"
    common = ["--data", str(dataset), "--workers", "0", "--device", "cpu", "-q"]
    sync_args = ["train", "syncnet", *common, "--out", str(sync_out), "--batch-size", "8",
                 "--val-every", "30", "--val-batches", "8", "--log-every", "10",
                 "--lr", SYNC_LR]  # fmt: skip
    assert main([*sync_args, "--max-steps", str(SYNC_STEPS)]) == 0
    report = capsys.readouterr().out
    reports = [report.strip()]
    best = torch.load(sync_out / "best.pt", weights_only=True)["training"]["best"]
    assert best < 0.6, report  # chance is ln 2 = 0.693

    # The expert, loaded as a public syncnet_color checkpoint, prefers in-sync audio.
    assert _sync_preference(dataset, sync_out / "best.pt") > 0.7

    # Resume continues from the saved step.
    assert main([*sync_args, "--max-steps", str(RESUMED_STEPS), "--resume"]) == 0
    assert f"step {RESUMED_STEPS} ({RESUMED_STEPS - SYNC_STEPS} now)" in capsys.readouterr().out
    last = torch.load(sync_out / "last.pt", weights_only=True)
    assert last["training"]["step"] == RESUMED_STEPS and last["global_step"] == RESUMED_STEPS
    assert max(int(row["step"]) for row in _metrics(sync_out)) == RESUMED_STEPS

    gen_out = tmp_path / "generator"
    gen_args = ["train", "generator", *common, "--syncnet", str(sync_out / "best.pt"),
                "--out", str(gen_out), "--batch-size", "2", "--val-every", "2",
                "--val-batches", "1", "--log-every", "1", "--sync-threshold", "100"]  # fmt: skip
    assert main([*gen_args, "--max-steps", "3"]) == 0
    report = capsys.readouterr().out
    assert "sync loss: on" in report
    reports.append(report.strip())
    weights = {int(r["step"]): float(r["value"]) for r in _metrics(gen_out)
               if r["tag"] == "train/sync_weight"}  # fmt: skip
    assert weights == {1: 0.0, 2: 0.0, 3: 0.03}
    assert main([*gen_args, "--max-steps", "4", "--resume"]) == 0
    assert "step 4 (1 now)" in capsys.readouterr().out

    dubbed = tmp_path / "dubbed.mp4"
    assert main([str(sources / "head0.mp4"), "--audio", str(sources / "speech1.wav"),
                 "--generator", "wav2lip", "--checkpoint", str(gen_out / "best.pt"),
                 "-o", str(dubbed), "--device", "cpu", "-q"]) == 0  # fmt: skip
    from lipdub.media.probe import probe

    info = probe(dubbed)
    assert info.has_video and info.has_audio and info.width == 160
    with capsys.disabled():  # throughput, for the record (pytest -s -m slow)
        print(f"\npreprocess: {preprocess_seconds:.1f} s for 7 videos (4 x 6 s with faces)")
        print("\n".join(reports))


def _sync_preference(dataset: Path, checkpoint: Path) -> float:
    """Share of val windows whose own audio gets a higher P_sync than audio 0.4 s away."""
    from lipdub.models.checkpoint import load_network
    from lipdub.training.dataset import ClipStore, SyncDataset, stack_frames
    from lipdub.training.losses import sync_probability

    model = load_network(checkpoint, "syncnet_color")
    store = ClipStore(dataset)
    data_set = SyncDataset(store, "val", "mel")
    data = store.load(data_set.clips[0], "mel")
    starts, ok = data_set._starts(data)
    wins = total = 0
    with torch.no_grad():
        for first in ok[::3]:
            other = first + 10 if first + 10 in ok else first - 10
            faces = stack_frames(torch.from_numpy(data_set._faces(data, int(first))[:, 48:]))
            audio = torch.stack(
                [
                    data_set._audio(data, int(starts[first])),
                    data_set._audio(data, int(starts[other])),
                ]
            )
            scores = sync_probability(*model(audio, faces[None].expand(2, -1, -1, -1)))
            wins += int(scores[0] > scores[1])
            total += 1
    return wins / total
