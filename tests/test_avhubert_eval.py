"""``lipdub eval --metrics avsu,avsm,avsv --avhubert CKPT`` with a seeded tiny AV-HuBERT."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from lipdub_avhubert.checkpoint import save_fairseq_style
from lipdub_avhubert.metrics import AVSm, AVSu, AVSv
from lipdub_avhubert.model import TINY, AVHubert

from lipdub.cli.app import main
from lipdub.eval.metric import EvalSample
from lipdub.media.audio import load_audio
from tests.conftest import make_talking_head, speech_like, write_wav

SECONDS = 1.2


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("avhubert")
    source = make_talking_head(folder / "face.mp4", seconds=SECONDS)
    speech = write_wav(folder / "x.wav", speech_like(SECONDS, seed=3))
    other = write_wav(folder / "y.wav", speech_like(SECONDS, seed=11))
    dub = folder / "dub.mp4"
    assert main([str(source), "--audio", str(speech), "-o", str(dub), "-g", "warp", "-q"]) == 0
    torch.manual_seed(0)
    checkpoint = folder / "avhubert_tiny.pt"
    save_fairseq_style(AVHubert(TINY).eval(), checkpoint)
    return {"source": source, "x": speech, "y": other, "dub": dub, "ckpt": checkpoint}


def sample(work: dict[str, Path], audio: str = "x", reference: bool = True) -> EvalSample:
    wav = load_audio(work[audio])
    return EvalSample(work["dub"], wav, 16000, 25.0, work["dub"] if reference else None)


def test_identity_and_plumbing(work) -> None:
    options = {"avhubert": work["ckpt"], "device": "cpu"}
    avsv, avsm, avsu = AVSv(**options), AVSm(**options), AVSu(**options)
    try:
        assert avsv.compute(sample(work))["avsv"] == pytest.approx(1.0, abs=1e-5)
        assert avsm.compute(sample(work))["avsm"] == pytest.approx(1.0, abs=1e-5)
        matched = avsu.compute(sample(work, "x", reference=False))["avsu"]
        curve = avsu.curves()["avsu"]
        unrelated = avsu.compute(sample(work, "y", reference=False))["avsu"]
    finally:
        for metric in (avsv, avsm, avsu):
            metric.close()
    assert len(curve) == 30 and np.isfinite(curve).all()
    print(f"AVSu seeded tiny: matched {matched:.4f}, unrelated {unrelated:.4f}")
    assert -1.0 <= unrelated <= 1.0 and -1.0 <= matched <= 1.0
    # Seeded (untrained) weights cannot rank matched above unrelated audio: that needs a
    # trained AV-HuBERT. The plumbing check is that the audio reaches the score.
    assert abs(matched - unrelated) > 1e-4


def test_eval_cli_reports_and_plots_the_three_metrics(work, tmp_path, capsys) -> None:
    report = tmp_path / "r.json"
    args = [work["dub"], "--reference", work["dub"], "--avhubert", work["ckpt"]]
    args += ["--metrics", "avsu,avsm,avsv", "--device", "cpu", "-o", report, "-q"]
    code = main(["eval", *map(str, args)])
    assert code == 0, capsys.readouterr().err
    row = json.loads(report.read_text())["videos"][0]
    assert row["avsv"] == pytest.approx(1.0, abs=1e-5)
    assert row["avsm"] == pytest.approx(1.0, abs=1e-5)
    assert -1.0 <= row["avsu"] <= 1.0
    curves = row["curves"]  # per-frame similarity at 25 fps, as plotted
    assert sorted(curves) == ["avsm", "avsu", "avsv"] and len(curves["avsu"]) == 30
    assert np.mean(curves["avsu"]) == pytest.approx(row["avsu"], abs=1e-6)
    assert (tmp_path / "r_plots" / "r_curves.png").read_bytes()[:4] == b"\x89PNG"


def test_missing_weights_name_the_flag(work, tmp_path, capsys) -> None:
    code = main(["eval", str(work["dub"]), "--metrics", "avsu", "-o", str(tmp_path / "m.json")])
    err = capsys.readouterr().err
    assert code != 0 and "--avhubert CKPT" in err and "Traceback" not in err
