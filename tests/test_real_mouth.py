"""``warp`` with real mouth interiors from the shot, and the painted fallback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lipdub.eval.agreement import eval_tracker
from lipdub.faces.regions import LAYOUT, FaceRegions
from lipdub.generators.warp import WarpGenerator
from lipdub.generators.warp.mouth_bank import MIN_OPENING, MouthBank, capture
from lipdub.media.reader import VideoReader
from lipdub.types import Face, GeneratorInput

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
#: An open, neutral mouth pose in ``articulation`` rows (opening, spread, voicing, loudness).
OPEN = np.tile(np.float32([[0.9, 0.0, 1.0, 1.0]]), (4, 1))


@pytest.fixture(scope="module")
def smiling() -> tuple[np.ndarray, Face]:
    """The example's first frame: a smile that shows the upper teeth (an open mouth)."""
    frame = next(iter(VideoReader(EXAMPLES / "astronaut.mp4").frames())).copy()
    tracker = eval_tracker()
    try:
        face = max(tracker.detect(frame), key=lambda face: face.area)
    finally:
        tracker.close()
    assert face.regions is not None and face.regions.mouth_opening >= MIN_OPENING
    return frame, face


def closed_face(face: Face) -> Face:
    """``face`` with its tracked lower inner lip moved onto the upper one (a closed mouth)."""
    assert face.regions is not None
    points = face.regions.points.copy()
    inner = LAYOUT["lips_inner"]
    loop = points[inner].copy()
    loop[1:10] = loop[19:10:-1]
    points[inner] = loop
    return Face(face.box, face.landmarks, face.score, FaceRegions(points))


def dub_one(generator: WarpGenerator, frame: np.ndarray, face: Face) -> np.ndarray:
    generator.begin_shot(0, [face])
    patch = generator.generate([GeneratorInput(frame, face, OPEN, 0, 0, 0)])[0]
    assert patch.redrawn
    return patch.image


def test_open_mouth_of_the_shot_lends_its_real_teeth(smiling) -> None:
    frame, face = smiling
    real = dub_one(WarpGenerator(), frame, face)
    painted = dub_one(WarpGenerator(real_mouth=False), frame, face)
    assert real.shape == painted.shape
    assert np.abs(real.astype(int) - painted).mean() > 0.2
    # The source's own teeth, just under the upper lip, show in the redrawn mouth.
    entry = capture(frame, face.regions)
    teeth = entry.image[12:22, 40:60].reshape(-1, 3).mean(axis=0)
    assert teeth.mean() > 150, "the example shows its upper teeth"
    mouth = WarpGenerator().generate([GeneratorInput(frame, face, OPEN, 0, 0, 0)])[0]
    x1, y1 = mouth.box[:2]
    cx, cy = face.regions.upper_lip_inner - (x1, y1)
    below_lip = real[int(cy) + 2 : int(cy) + 6, int(cx) - 3 : int(cx) + 4].reshape(-1, 3).mean(0)
    assert np.abs(below_lip - teeth).mean() < 40


def test_a_shot_without_open_mouths_keeps_the_painted_interior(smiling) -> None:
    frame, face = smiling
    shut = closed_face(face)
    bank = MouthBank()
    bank.begin_shot([shut])
    bank.observe(frame, shut)
    assert bank.entries == []
    real = dub_one(WarpGenerator(), frame, shut)
    painted = dub_one(WarpGenerator(real_mouth=False), frame, shut)
    assert np.array_equal(real, painted)


def test_the_bank_keeps_a_bounded_spread_of_openings(smiling) -> None:
    frame, face = smiling
    bank = MouthBank(max_entries=3)
    faces = [Face(face.box, face.landmarks, face.score, face.regions) for _ in range(10)]
    bank.begin_shot([None, *faces])
    for other in faces:
        bank.observe(frame, other)
    assert len(bank.entries) == 3
    bank.begin_shot([])
    assert bank.entries == []


def test_another_face_of_the_shot_does_not_lend_its_mouth(smiling) -> None:
    frame, face = smiling
    assert face.regions is not None
    bank = MouthBank()
    bank.begin_shot([face])
    bank.observe(frame, face)
    entry = bank.entries[0]
    height = face.regions.face_height
    assert bank.best(entry.shape, entry.anchor, height) is entry
    assert bank.best(entry.shape, entry.anchor + (height, 0.0), height) is None
    assert bank.best(entry.shape, entry.anchor, 2 * height) is None
