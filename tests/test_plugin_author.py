"""The platform as a plugin author meets it: a plugin written in a temporary folder, installed
with ``pip install --target`` as docs/plugins.md says, with typed options from the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ffmpeg_exe

TINT_PLUGIN = '''
"""A blender that fills the patch box with one grey level."""

from typing import ClassVar

from pydantic import Field

from lipdub.components import Blender
from lipdub.hookspecs import hookimpl


class TintBlender(Blender):
    name: ClassVar[str] = "tint"
    description: ClassVar[str] = "Fills the patch box with a grey level."

    class Options(Blender.Options):
        tint: int = Field(0, ge=0, le=255, description="Grey level of the box.")

    def blend(self, frame, patch, face):
        x1, y1, x2, y2 = patch.box
        frame = frame.copy()
        frame[max(y1, 0):y2, max(x1, 0):x2] = self.options.tint
        return frame


@hookimpl
def register_blenders(register):
    register(TintBlender)
'''

CLASH_PLUGIN = """
from typing import ClassVar

from lipdub.components import Blender
from lipdub.hookspecs import hookimpl


class OtherMask(Blender):
    name: ClassVar[str] = "mask"

    def blend(self, frame, patch, face):
        return frame


@hookimpl
def register_blenders(register):
    register(OtherMask)


@hookimpl
def register_blender(register):  # misspelt: lipdub has register_blenders
    register(OtherMask)
"""


def _package(root: Path, dist: str, module: str, source: str) -> Path:
    folder = root / dist
    (folder / module).mkdir(parents=True)
    (folder / module / "__init__.py").write_text(textwrap.dedent(source))
    (folder / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [build-system]
            requires = ["setuptools>=68"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "{dist}"
            version = "0.3.1"

            [project.entry-points.lipdub]
            {module} = "{module}"
            """
        )
    )
    return folder


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both plugins installed into one private target folder."""
    work = tmp_path_factory.mktemp("author")
    target = work / "site"
    for dist, module, source in (
        ("lipdub-tint", "lipdub_tint", TINT_PLUGIN),
        ("lipdub-clash", "lipdub_clash", CLASH_PLUGIN),
    ):
        folder = _package(work, dist, module, source)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
             "--no-build-isolation", "--target", str(target), str(folder)],
            check=True, capture_output=True,
        )  # fmt: skip
    return target


def lipdub(*args: str, site: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LIPDUB_")}
    env["LIPDUB_HOME"] = os.environ["LIPDUB_HOME"]
    env["PYTHONPATH"] = str(site)
    return subprocess.run(
        [sys.executable, "-m", "lipdub", *args], capture_output=True, text=True, env=env
    )


def _frames(path: Path, width: int, height: int) -> np.ndarray:
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)


@pytest.mark.slow
def test_option_reaches_the_plugin_blender(site, talking_head, speech_wav, tmp_path) -> None:
    out = tmp_path / "tinted.mp4"
    run = lipdub(
        str(talking_head), "--audio", str(speech_wav), "-o", str(out), "--generator", "warp",
        "--blender", "tint", "--option", "blender.tint=200", "-q", site=site,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    source = _frames(talking_head, 256, 256)
    frames = _frames(out, 256, 256)
    # The warp patch box covers the mouth, about the middle of the lower half of the face.
    middle = frames[:, 120:170, 70:120].astype(float)
    assert abs(middle.mean() - 200) < 6
    n = min(len(frames), len(source))  # the first pass plays the source forwards
    corner_change = np.abs(frames[:n, :20, :20].astype(float) - source[:n, :20, :20])
    assert corner_change.mean() < 3


@pytest.mark.parametrize(
    ("flag", "words"),
    [("blender.tint=999", ["tint", "255"]), ("blender.nope=1", ["nope", "tint"])],
)
def test_bad_plugin_option_is_one_line_exit_2(site, flag, words, tmp_path) -> None:
    video = tmp_path / "v.mp4"
    video.write_bytes(b"")  # never read: options fail first
    out = tmp_path / "out.mp4"
    run = lipdub(
        str(video), "--audio", str(video), "-o", str(out), "--generator", "warp",
        "--blender", "tint", "--option", flag, site=site,
    )  # fmt: skip
    assert run.returncode == 2
    lines = [line for line in run.stderr.splitlines() if line.startswith("error")]
    assert len(lines) == 1 and "Traceback" not in run.stderr
    assert all(word in lines[0] for word in words), lines
    assert not out.exists()


def test_clash_and_misspelt_hook_warn_and_the_rest_works(site) -> None:
    run = lipdub("plugins", "--json", "--all", site=site)
    assert run.returncode == 0, run.stderr
    clash = [line for line in run.stderr.splitlines() if "'mask'" in line or "mask" in line]
    assert any("lipdub_clash" in line and "lipdub.blenders.mask" in line for line in clash), (
        run.stderr
    )
    assert "register_blender" in run.stderr
    rows = json.loads(run.stdout)
    tint = next(row for row in rows if row.get("distribution") == "lipdub-tint")
    assert tint["version"] == "0.3.1"
    assert "register_blenders" in tint["hooks"]
    (component,) = tint["components"]["blenders"]
    assert component["name"] == "tint"
    (option,) = component["options"]
    assert option["name"] == "tint" and option["default"] == 0
    assert option["minimum"] == 0 and option["maximum"] == 255
    assert any(row.get("status") == "failed" for row in rows if "clash" in row["name"])


@pytest.mark.slow
def test_builtin_mask_still_dubs_beside_a_clashing_plugin(
    site, talking_head, speech_wav, tmp_path
) -> None:
    out = tmp_path / "masked.mp4"
    run = lipdub(
        str(talking_head), "--audio", str(speech_wav), "-o", str(out), "--generator", "warp",
        "--blender", "mask", "-q", site=site,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert out.stat().st_size > 1000
