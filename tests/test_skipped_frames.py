"""Frames a generator could not redraw are left unchanged, not counted as dubbed, and the
summary says why."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from rich.console import Console

from lipdub.cli.render import summary_table
from lipdub.components import Generator
from lipdub.media.reader import VideoReader
from lipdub.pipeline.dub import DubRequest, DubSummary, dub
from lipdub.testing import lipdub_plugins, plugin_module  # noqa: F401 - fixture
from lipdub.types import GeneratorInput, Patch
from tests.conftest import make_talking_head, speech_like, write_wav


class EveryOtherFrame(Generator):
    """Paints the face box black on even frames; says odd frames' faces are too small."""

    name: ClassVar[str] = "every-other-test"
    audio_extractor: ClassVar[str] = "articulation"
    needs_weights: ClassVar[bool] = False

    def generate(self, items: Sequence[GeneratorInput]) -> list[Patch]:
        patches = []
        for item in items:
            box = item.face.int_box(item.frame.shape[1], item.frame.shape[0])
            image = np.zeros((box[3] - box[1], box[2] - box[0], 3), np.uint8)
            if item.index % 2:
                patches.append(Patch(image, box, redrawn=False, note="face too small"))
            else:
                patches.append(Patch(image, box))
        return patches


def summary(**counts: object) -> DubSummary:
    values = dict(
        output=Path("out.mp4"), generator="warp", generator_note=None, frames=10,
        dubbed_frames=6, faces_found=8, no_face_frames=2, shots=1, width=64, height=64,
        fps=25.0, duration=0.4, seconds={"total": 1.0},
    )  # fmt: skip
    values.update(counts)
    return DubSummary(**values)  # type: ignore[arg-type]


def rendered(result: DubSummary) -> str:
    console = Console(width=200, record=True)
    console.print(summary_table(result))
    return console.export_text()


def test_summary_table_lists_skipped_frames_and_reasons() -> None:
    text = rendered(summary(skipped_frames=2, skip_reasons={"face too small": 2}))
    assert "6 frames redrawn" in text and "2 without a face" in text
    assert "2 frames with a face not redrawn" in text and "face too small: 2" in text
    assert "skipped" not in rendered(summary())


@pytest.mark.slow
def test_frames_not_redrawn_are_counted_and_left_alone(tmp_path, lipdub_plugins) -> None:  # noqa: F811
    module = plugin_module(
        "every_other", register_generators=lambda register: register(EveryOtherFrame)
    )
    lipdub_plugins.register(module)
    video = make_talking_head(tmp_path / "face.mp4", seconds=0.4)
    audio = write_wav(tmp_path / "speech.wav", speech_like(0.4, seed=2))
    request = DubRequest(
        video=video,
        audio=audio,
        output=tmp_path / "out.mp4",
        generator=EveryOtherFrame.name,
        blender="box",
    )
    result = dub(request)
    assert (result.frames, result.dubbed_frames, result.skipped_frames) == (10, 5, 5)
    assert result.faces_found == 10 and result.skip_reasons == {"face too small": 5}
    source = np.stack(list(VideoReader(video).frames())).astype(np.int16)
    out = np.stack(list(VideoReader(tmp_path / "out.mp4").frames())).astype(np.int16)
    centre = slice(96, 160)  # inside the face box of the 256 px clip
    change = np.abs(out - source)[:, centre, centre].mean(axis=(1, 2, 3))
    assert change[1::2].max() < 4.0 and change[0::2].min() > 40.0
