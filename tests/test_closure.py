"""Silence closure, audio offset and lip strength, on a real face (the bundled example)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lipdub.cli.app import main
from lipdub.components import Generator
from lipdub.errors import InputError
from lipdub.eval.agreement import eval_tracker
from lipdub.generators.warp import ArticulationExtractor, WarpGenerator
from lipdub.generators.warp.generator import render_mouth
from lipdub.generators.warp.shape import MouthPose
from lipdub.media.reader import VideoReader
from lipdub.pipeline import closure
from lipdub.pipeline.drive_audio import Lane, check_offset, drive_features, shift_audio
from lipdub.types import Face, GeneratorInput

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def face_frame() -> tuple[np.ndarray, Face]:
    frame = next(iter(VideoReader(EXAMPLES / "astronaut.mp4").frames())).copy()
    tracker = eval_tracker()
    try:
        faces = [face for face in tracker.detect(frame) if face.regions is not None]
    finally:
        tracker.close()
    assert faces
    return frame, max(faces, key=lambda face: face.area)


def test_weights_close_long_pauses_only_with_smooth_ramps() -> None:
    voice = np.ones(200, np.float32)
    voice[50:80] = 0.0  # 300 ms pause
    voice[120:135] = 0.0  # 150 ms: too short
    weights = closure.closure_weights(voice, 200.0)
    assert (weights[50:78] == 1.0).all()
    assert (weights[120:135] == 0.0).all()
    assert weights[:40].max() == 0.0 and weights[85:].max() == 0.0
    assert np.abs(np.diff(weights)).max() <= 0.5  # eases in and out over rows
    assert weights[44:50].max() > 0.0  # closes as the sound before the pause ends
    longer = closure.closure_weights(voice, 400.0)
    assert longer.max() == 0.0
    # A pause at the very start is closed from the first row.
    assert closure.closure_weights(np.r_[np.zeros(30), np.ones(30)], 200.0)[0] == 1.0


def test_frame_weight_is_sampled_at_the_frame_middle() -> None:
    weights = np.zeros(100, np.float32)
    weights[40:60] = 1.0
    assert closure.weight_at(weights, 10, 25.0) == 1.0  # 0.42 s
    assert closure.weight_at(weights, 2, 25.0) == 0.0
    assert closure.weight_at(None, 10, 25.0) == 0.0
    assert closure.weight_at(weights, 10_000, 25.0) == 0.0


def test_blend_toward_closed_goes_from_the_patch_to_the_closed_source(face_frame) -> None:
    frame, face = face_frame
    assert face.regions is not None
    opened = render_mouth(frame, face.regions, MouthPose(opening=1.0), teeth=False)
    assert closure.blend_toward_closed(frame, face, opened, 0.0) is opened
    closed = closure.blend_toward_closed(frame, face, opened, 1.0)
    reference = closure.closed_patch(frame, face)
    assert reference is not None
    x1, y1, x2, y2 = closed.box
    canvas = frame[y1:y2, x1:x2].copy()
    rx1, ry1, rx2, ry2 = reference.box
    canvas[ry1 - y1 : ry2 - y1, rx1 - x1 : rx2 - x1] = reference.image
    assert np.abs(closed.image.astype(int) - canvas).max() <= 1
    # The open mouth's dark cavity is gone: the middle of the mouth is as bright as closed lips.
    cx, cy = face.regions.lips_inner.mean(axis=0).astype(int) - (x1, y1)
    assert closed.image[cy, cx].mean() > opened.image[cy - (y1 - opened.box[1]), cx].mean() + 30
    half = closure.blend_toward_closed(frame, face, opened, 0.5)
    assert half.box == closed.box


def item_at(frame: np.ndarray, face: Face, index: int, lane: int = 0) -> GeneratorInput:
    return GeneratorInput(frame, face, np.zeros((4, 4), np.float32), index, 0, 0, lane)


def test_dub_hook_closes_only_inside_pauses_and_can_be_turned_off(face_frame) -> None:
    frame, face = face_frame
    assert face.regions is not None
    voice = np.ones(300, np.float32)
    voice[100:200] = 0.0  # a second of silence from 1 s
    lane = Lane(None, [face], np.zeros((300, 4), np.float32), voice, 25.0)
    opened = render_mouth(frame, face.regions, MouthPose(opening=1.0))
    generator = WarpGenerator()
    in_pause = closure.close_in_pauses(generator, [lane], item_at(frame, face, 37), opened)
    speaking = closure.close_in_pauses(generator, [lane], item_at(frame, face, 10), opened)
    assert speaking is opened
    assert in_pause is not opened and in_pause.redrawn
    off = WarpGenerator(silence_closure=False)
    assert closure.close_in_pauses(off, [lane], item_at(frame, face, 37), opened) is opened
    # An item of a face no lane drives is left as it is.
    assert closure.close_in_pauses(generator, [lane], item_at(frame, face, 37, 1), opened) is opened


def test_closure_options_belong_to_every_generator() -> None:
    options = Generator.Options()
    assert options.silence_closure and options.min_pause_ms == 200.0 and options.vad == "auto"
    with pytest.raises(InputError, match="min_pause_ms"):
        WarpGenerator(min_pause_ms="10")
    assert closure.vad_of(WarpGenerator(silence_closure=False)) is None
    assert closure.vad_of(WarpGenerator(vad="energy")) == "energy"


def test_audio_offset_moves_the_lips_later_or_earlier() -> None:
    wav = np.zeros(16000, np.float32)
    wav[8000:9600] = np.sin(np.arange(1600) * 2 * np.pi * 200 / 16000)
    block = np.zeros(16000, np.float32)
    block[8000:9600] = 0.5
    assert np.flatnonzero(shift_audio(block, 100.0, 16000)[:])[0] == 9600
    assert np.flatnonzero(shift_audio(block, -100.0, 16000)[:])[0] == 6400
    assert len(shift_audio(wav, 5000.0, 16000)) == len(wav)
    extractor = ArticulationExtractor()
    onsets = []
    for offset in (0.0, 200.0, -200.0):
        features = drive_features({}, wav, extractor, None, offset, "energy")
        onsets.append(int(np.flatnonzero(features[None][:, 0] > 0.1)[0]))
        assert features.voice(None) is not None
    assert onsets[1] - onsets[0] == pytest.approx(20, abs=1)
    assert onsets[0] - onsets[2] == pytest.approx(20, abs=1)
    with pytest.raises(InputError, match="--audio-offset"):
        check_offset(20_000)


@pytest.mark.parametrize("value", ["abc", "20000"])
def test_bad_audio_offset_is_one_line_error(tmp_path: Path, capsys, value: str) -> None:
    out = tmp_path / "out.mp4"
    code = main(
        [str(EXAMPLES / "astronaut.mp4"), "--audio", str(EXAMPLES / "speech.wav"), "-o", str(out),
         "--generator", "warp", "--audio-offset", value, "-q"]
    )  # fmt: skip
    assert code != 0
    assert not out.exists()
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and "--audio-offset" in lines[0]


def test_strength_scales_warp_lips_and_zero_keeps_them_closed(face_frame) -> None:
    frame, face = face_frame
    audio = np.tile(np.float32([[0.8, 0.0, 1.0, 1.0]]), (4, 1))
    item = GeneratorInput(frame, face, audio, 0, 0, 0)
    full, weak = (
        WarpGenerator(real_mouth=False, strength=s).generate([item])[0] for s in (1.0, 0.0)
    )
    still = WarpGenerator(real_mouth=False).generate(
        [GeneratorInput(frame, face, audio * 0, 0, 0, 0)]
    )[0]
    assert (
        full.image.shape != weak.image.shape
        or np.abs(full.image.astype(int) - weak.image).max() > 40
    )
    assert weak.box == still.box and np.array_equal(weak.image, still.image)


def test_cli_flags_reach_the_request() -> None:
    from lipdub.cli.dub_cmd import request_from_options

    video, audio = EXAMPLES / "astronaut.mp4", EXAMPLES / "speech.wav"
    values = {"generator": "warp", "no_silence_closure": True, "audio_offset": -40.0}
    request = request_from_options(video, audio, None, values)
    assert request.options["generator"]["silence_closure"] is False
    assert request.audio_offset_ms == -40.0
    default = request_from_options(video, audio, None, {"generator": "warp"})
    assert "generator" not in default.options and default.audio_offset_ms == 0.0
