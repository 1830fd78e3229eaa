"""``lipdub verify``: a dub of the bundled example carries all three marks, its source and a
``--no-mark`` dub none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lipdub.cli.app import main
from lipdub.provenance import keys
from lipdub.provenance.detect import FOUND_Z
from tests.conftest import make_talking_head, speech_like, write_wav

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "astronaut.mp4"


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("verify")
    patch = pytest.MonkeyPatch()
    patch.setenv(keys.KEY_DIR_ENV, str(root / "signing"))
    speech = write_wav(root / "speech.wav", speech_like(4.0))  # 100 frames of the example
    dub, unmarked = root / "dub.mp4", root / "unmarked.mp4"
    assert main([str(EXAMPLE), "--audio", str(speech), "-g", "warp", "-q", "-o", str(dub)]) == 0
    small = make_talking_head(root / "small.mp4", seconds=2.0)  # --no-mark: any dub will do
    args = [str(small), "--audio", str(speech), "-g", "warp", "-q", "-o", str(unmarked)]
    assert main([*args, "--no-mark"]) == 0
    yield {"dub": dub, "unmarked": unmarked, "root": root}
    patch.undo()


def verify_json(
    capsys: pytest.CaptureFixture[str], path: Path, frames: int = 100
) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["verify", str(path), "--json", "--max-frames", str(frames)])
    return code, json.loads(capsys.readouterr().out)


def test_dub_carries_manifest_watermark_and_tags(work, capsys) -> None:
    code, report = verify_json(capsys, work["dub"])
    assert code == 0
    assert report["marks"] == ["manifest", "watermark", "tags"]
    assert report["manifest"]["state"] == "untrusted signer"  # the local key
    assert report["manifest"]["parameters"]["generator"] == "warp"
    assert report["manifest"]["ingredients"] == ["astronaut.mp4"]
    assert report["watermark"]["found"] and report["watermark"]["confidence"] >= FOUND_Z
    assert report["watermark"]["payload"]["tool"] == "lipdub"
    assert "xmp:digital_source_type" in report["tags"]


def test_source_and_no_mark_dub_carry_nothing(work, capsys) -> None:
    for path in (EXAMPLE, work["unmarked"]):
        code, report = verify_json(capsys, path, frames=50)
        assert code == 1, path
        assert report["marks"] == [] and report["manifest"]["state"] == "absent"
        assert not report["watermark"]["found"] and report["tags"] == {}


def test_no_mark_warns_in_one_line_and_sign_flags_are_checked(work, capsys) -> None:
    speech = work["root"] / "speech.wav"
    out = work["root"] / "never.mp4"
    args = [str(EXAMPLE), "--audio", str(speech), "-o", str(out), "-g", "warp"]
    assert main([*args, "--sign-cert", str(speech)]) != 0  # no --sign-key: refused up front
    err = capsys.readouterr().err
    assert "--sign-cert and --sign-key go together" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    assert main([*args, "--no-mark", "--sign-cert", str(speech), "--sign-key", str(speech)]) != 0
    assert "--no-mark" in capsys.readouterr().err and not out.exists()
