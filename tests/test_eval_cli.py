"""``lipdub eval`` end to end: a warp dub and its source, reports, plots and clear errors."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from lipdub.cli.app import main
from tests.conftest import astronaut_face, make_talking_head, run_ffmpeg, speech_like, write_wav

SECONDS = 1.2  # 30 frames at 25 fps: 25 SyncNet windows, cheap on a CPU
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def write_clip(path: Path, frames: list[np.ndarray], audio: Path | None = None) -> Path:
    """An H.264 clip of RGB ``frames`` at 25 fps, with ``audio`` muxed in when given."""
    height, width = frames[0].shape[:2]
    raw = path.with_suffix(".rgb")
    raw.write_bytes(np.stack(frames).astype(np.uint8).tobytes())
    args = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", "25"]
    args += ["-i", str(raw)]
    if audio is not None:
        args += ["-i", str(audio), "-c:a", "aac", "-shortest"]
    run_ffmpeg(*args, "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "12", str(path))
    raw.unlink()
    return path


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from lipdub.eval.syncnet_v2 import save_syncnet_v2, seeded_syncnet_v2

    folder = tmp_path_factory.mktemp("eval")
    source = make_talking_head(folder / "face.mp4", seconds=SECONDS)
    speech = write_wav(folder / "speech.wav", speech_like(SECONDS, seed=3))
    dub = folder / "dub.mp4"
    assert main([str(source), "--audio", str(speech), "-o", str(dub), "-g", "warp", "-q"]) == 0
    syncnet = save_syncnet_v2(seeded_syncnet_v2(0), folder / "syncnet_v2.model")
    return {"folder": folder, "source": source, "speech": speech, "dub": dub, "syncnet": syncnet}


def run_cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def one_line_error(code: int, err: str, *fragments: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code != 0 and "Traceback" not in err
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.mark.slow
def test_eval_of_a_dub_and_its_source_writes_report_and_plots(work, tmp_path, capsys) -> None:
    report = tmp_path / "dub.json"
    args = ["eval", work["dub"], "--syncnet", work["syncnet"], "--reference", work["source"]]
    code, err = run_cli(capsys, *args, "-o", report, "-q")
    assert code == 0, err
    row = json.loads(report.read_text())["videos"][0]
    assert row["frames"] == row["face_frames"] == 30
    assert row["sync_windows"] == 25  # min(frames, samples // 640) - 5, as the reference
    for key in ("lse_d", "lse_c", "pri", "agreement_r", "lmd", "psnr", "ssim", "ssim_face"):
        assert np.isfinite(row[key]), key
    assert -15 <= row["av_offset"] <= 15
    assert 0 < row["pri"] <= 1
    assert row["ssim"] > row["ssim_face"]  # only the face changed
    assert report.with_suffix(".csv").read_text().splitlines()[1].startswith(str(work["dub"]))
    plots = sorted((tmp_path / "dub_plots").iterdir())
    assert [p.name for p in plots] == ["dub_mouth.png", "dub_sync.png"]
    assert all(p.read_bytes().startswith(PNG_MAGIC) for p in plots)

    # the source, judged against the dub's audio: the lips do not follow it
    source_report = tmp_path / "source.json"
    code, err = run_cli(
        capsys, "eval", work["source"], "--audio", work["speech"], "--syncnet", work["syncnet"],
        "-o", source_report, "-q",
    )  # fmt: skip
    assert code == 0, err
    source_row = json.loads(source_report.read_text())["videos"][0]
    assert source_row["agreement_r"] < row["agreement_r"] - 0.3
    assert (tmp_path / "source_plots" / "source_sync.png").is_file()


@pytest.mark.slow
def test_manifest_gives_one_row_per_video_and_mean_std(work, tmp_path, capsys) -> None:
    manifest = tmp_path / "set.csv"
    manifest.write_text(f"video,audio\n{work['dub']},\n{work['source']},{work['speech']}\n")
    code = main(["eval", str(manifest), "--metrics", "agreement", "-o", str(tmp_path / "r.json")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "mean ± std" in captured.out  # the terminal table
    report = json.loads((tmp_path / "r.json").read_text())
    assert len(report["videos"]) == 2 and report["metrics"] == ["agreement"]
    assert report["aggregate"]["agreement_r"]["n"] == 2
    lines = (tmp_path / "r.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in lines[-2:]] == ["mean", "std"]
    assert len(list((tmp_path / "r_plots").glob("*_mouth.png"))) == 2


def test_fid_uses_a_local_torchscript_inception(work, tmp_path, capsys) -> None:
    import torch

    class TinyInception(torch.nn.Module):
        def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor:
            return torch.nn.functional.adaptive_avg_pool2d(x, 3).flatten(1)

    weights = tmp_path / "inception.pt"
    with warnings.catch_warnings():  # torch.jit.script is deprecated; the format is not
        warnings.simplefilter("ignore")
        torch.jit.script(TinyInception()).save(str(weights))
    report = tmp_path / "fid.json"
    args = ["--metrics", "fid", "--fid-weights", weights, "--reference", work["source"]]
    code, err = run_cli(capsys, "eval", work["dub"], *args, "-o", report)
    assert code == 0, err
    assert json.loads(report.read_text())["videos"][0]["fid"] > 0


def test_missing_syncnet_weights_say_where_to_get_them(work, tmp_path, capsys) -> None:
    report = tmp_path / "r.json"
    code, err = run_cli(capsys, "eval", work["dub"], "--metrics", "lse", "-o", report)
    one_line_error(code, err, "syncnet_v2.model", "--syncnet")
    assert not report.exists() and not report.with_suffix(".csv").exists()


def test_unreadable_inputs_and_bad_options_are_one_line_errors(work, tmp_path, capsys) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x17not a video" * 40)
    one_line_error(*run_cli(capsys, "eval", junk, "--metrics", "agreement"), "junk.mp4")
    assert not (tmp_path / "junk_eval.json").exists()
    one_line_error(*run_cli(capsys, "eval", tmp_path / "nope.mp4"), "nope.mp4")
    one_line_error(
        *run_cli(capsys, "eval", work["source"], "--metrics", "agreement"), "no audio", "--audio"
    )
    one_line_error(*run_cli(capsys, "eval", work["dub"], "--metrics", "lmd"), "--reference")
    one_line_error(*run_cli(capsys, "eval", work["dub"], "--metrics", "avsu"), "AV-HuBERT")
    one_line_error(*run_cli(capsys, "eval", work["dub"], "--metrics", "blur"), "unknown metric")
    fid = ["--metrics", "fid", "--reference", work["source"]]
    one_line_error(*run_cli(capsys, "eval", work["dub"], *fid), "--fid-weights")
    broken = tmp_path / "inception.pt"
    broken.write_bytes(b"not torchscript")
    fid_args = [*fid, "--fid-weights", broken, "-o", tmp_path / "f.json"]
    one_line_error(*run_cli(capsys, "eval", work["dub"], *fid_args), "TorchScript")


def test_an_existing_report_is_kept_without_overwrite(work, tmp_path, capsys) -> None:
    report = tmp_path / "r.json"
    report.write_text("{}")
    code, err = run_cli(capsys, "eval", work["dub"], "--metrics", "agreement", "-o", report)
    one_line_error(code, err, "--overwrite")
    assert report.read_text() == "{}"


def test_frames_without_a_face_are_counted_not_fatal(work, tmp_path, capsys) -> None:
    face = astronaut_face(160)
    blank = np.full_like(face, 90)
    clip = write_clip(tmp_path / "half.mp4", [face] * 15 + [blank] * 15, audio=work["speech"])
    code, err = run_cli(capsys, "eval", clip, "--metrics", "agreement", "-o", tmp_path / "h.json")
    assert code == 0, err
    row = json.loads((tmp_path / "h.json").read_text())["videos"][0]
    assert (row["frames"], row["face_frames"]) == (30, 15)

    nobody = write_clip(tmp_path / "nobody.mp4", [blank] * 20, audio=work["speech"])
    code, err = run_cli(capsys, "eval", nobody, "--metrics", "agreement", "--no-plots", "-q")
    one_line_error(code, err, "no face found in any of its 20 frames")
    assert not (tmp_path / "nobody_eval.json").exists()


def test_a_metric_plugin_adds_its_columns(
    work, tmp_path, capsys, monkeypatch, fresh_plugins
) -> None:
    monkeypatch.setenv("LIPDUB_DISABLE_PLUGIN_AUTOLOAD", "1")  # lipdub-avhubert has `avsu`
    from lipdub.eval.metric_plugins import EvalMetric, EvalSample
    from lipdub.hookspecs import hookimpl
    from lipdub.plugins import register_plugin

    class FakeAVSu(EvalMetric):
        name = "avsu"

        def compute(self, sample: EvalSample) -> dict[str, float]:
            assert sample.wav is not None and sample.fps == 25.0
            return {"avsu": 0.25}

    class Plugin:
        @hookimpl
        def register_eval_metrics(self, register):
            register(FakeAVSu)

    register_plugin(Plugin(), name="fake-avhubert")
    report = tmp_path / "p.json"
    code, err = run_cli(capsys, "eval", work["dub"], "--metrics", "avsu", "-o", report)
    assert code == 0, err
    assert json.loads(report.read_text())["videos"][0]["avsu"] == 0.25
