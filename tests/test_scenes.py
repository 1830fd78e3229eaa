"""Streaming shot-cut detection."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from lipdub.errors import InputError
from lipdub.scenes import ShotDetector, shot_ids


def panning(image: np.ndarray, count: int, speed: int = 2) -> list[np.ndarray]:
    """``count`` frames of a slow horizontal pan over ``image`` (a gently moving shot)."""
    return [np.roll(image, speed * i, axis=1) for i in range(count)]


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut()


@pytest.fixture(scope="module")
def coffee() -> np.ndarray:
    return cv2.resize(data.coffee(), (512, 512))


def test_cut_found_at_the_first_frame_of_the_second_shot(astronaut, coffee):
    frames = panning(astronaut, 30) + panning(coffee, 25)
    detector = ShotDetector(fps=25)
    starts = [index for index, frame in enumerate(frames) if detector.push(frame)]
    assert starts == [30]
    assert detector.shot_index == 1


def test_shot_ids_number_the_shots(astronaut, coffee):
    frames = panning(astronaut, 20) + panning(coffee, 20) + panning(astronaut[::-1], 20)
    assert shot_ids(frames, fps=25) == [0] * 20 + [1] * 20 + [2] * 20


def test_gently_moving_single_shot_has_no_cut(astronaut):
    rng = np.random.default_rng(0)
    frames = []
    for frame in panning(astronaut, 60, speed=3):
        noise = rng.normal(0, 4, frame.shape)
        frames.append(np.clip(frame + noise, 0, 255).astype(np.uint8))
    assert set(shot_ids(frames, fps=25)) == {0}


def test_first_frame_is_never_a_cut(coffee):
    detector = ShotDetector(fps=30)
    assert detector.push(coffee) is False
    assert detector.shot_index == 0


def test_cuts_closer_than_the_minimum_shot_are_ignored(astronaut, coffee):
    # A 3-frame flash of another picture inside one shot, with a minimum shot of 10 frames.
    frames = panning(astronaut, 15) + panning(coffee, 3) + panning(astronaut, 15)
    ids = shot_ids(frames, fps=20)  # default minimum: half a second = 10 frames
    assert ids[:15] == [0] * 15
    assert ids[15:] == [1] * 18
    detector = ShotDetector(fps=20, min_shot_frames=2)
    starts = [index for index, frame in enumerate(frames) if detector.push(frame)]
    assert starts == [15, 18]


def test_large_frames_are_handled(astronaut, coffee):
    big_a = cv2.resize(astronaut, (1920, 1080))
    big_b = cv2.resize(coffee, (1920, 1080))
    detector = ShotDetector(fps=25, min_shot_frames=1)
    assert [detector.push(f) for f in (big_a, big_a, big_b, big_b)] == [False, False, True, False]


def test_higher_threshold_misses_a_soft_cut(astronaut):
    darker = (astronaut * 0.75).astype(np.uint8)
    frames = [astronaut] * 5 + [darker] * 5
    assert shot_ids(frames, fps=25, threshold=5.0, min_shot_frames=2)[5] == 1
    assert set(shot_ids(frames, fps=25, threshold=60.0, min_shot_frames=2)) == {0}


@pytest.mark.parametrize("fps", [0, -1.0])
def test_rejects_a_bad_frame_rate(fps):
    with pytest.raises(InputError):
        ShotDetector(fps=fps)


def test_rejects_a_frame_that_is_not_rgb():
    with pytest.raises(InputError):
        ShotDetector(fps=25).push(np.zeros((8, 8), np.uint8))
