"""The weight-free ``warp`` generator and its ``articulation`` audio extractor."""

from __future__ import annotations

import wave
from pathlib import Path

import cv2
import numpy as np
import pytest

from lipdub import plugins
from lipdub.blenders.mask import MaskBlender
from lipdub.errors import InputError
from lipdub.faces import landmarks as lm
from lipdub.faces.landmarks import regions_from_mediapipe
from lipdub.faces.regions import POINTS, FaceRegions
from lipdub.generators.warp import ArticulationExtractor, WarpGenerator, render_mouth
from lipdub.generators.warp.articulation import (
    ABSOLUTE_FLOOR_DB,
    OPENING,
    STOP_QUIET_DB,
    articulate,
)
from lipdub.generators.warp.articulation import measure as measure_audio
from lipdub.generators.warp.shape import MouthPose, build_mesh, inner_gap
from lipdub.generators.warp.warp import warp_region
from lipdub.types import Face, GeneratorInput

RATE = 16000
ROWS_PER_SECOND = 100


def voiced(seconds: float, pitch: float = 140.0, amplitude: float = 0.3) -> np.ndarray:
    """A vowel-like sound: a harmonic series with a formant-like spectral envelope."""
    t = np.arange(int(seconds * RATE)) / RATE
    wave = np.zeros_like(t)
    for harmonic in range(1, 25):
        freq = harmonic * pitch
        envelope = np.exp(-(((freq - 700) / 300) ** 2)) + 0.5 * np.exp(
            -(((freq - 1200) / 400) ** 2)
        )
        wave += (envelope + 0.02) * np.sin(2 * np.pi * freq * t + harmonic)
    return (amplitude * wave / np.abs(wave).max()).astype(np.float32)


def silence(seconds: float, noise_db: float = -80.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    level = 10 ** (noise_db / 20)
    return (level * rng.standard_normal(int(seconds * RATE))).astype(np.float32)


@pytest.fixture(scope="module")
def extractor() -> ArticulationExtractor:
    return ArticulationExtractor()


# ---------------------------------------------------------------- articulation


def test_registered_as_weight_free_plugins() -> None:
    generator = plugins.get_component("generators", "warp")
    assert generator is WarpGenerator
    assert plugins.get_component("audio_extractors", "articulation") is ArticulationExtractor
    assert generator.needs_weights is False and generator.default_weights is None
    assert generator.audio_extractor == "articulation"


def test_silence_keeps_the_mouth_closed(extractor: ArticulationExtractor) -> None:
    for wav in (np.zeros(RATE, np.float32), silence(1.0)):
        features = extractor.extract(wav)
        assert features.shape == (100, 4) and features.dtype == np.float32
        assert np.all(features[:, OPENING] == 0.0)


def test_speech_burst_opens_within_one_video_frame_of_its_onset(extractor) -> None:
    wav = np.concatenate([silence(0.5), voiced(0.5), silence(0.6, seed=1)])
    opening = extractor.extract(wav)[:, OPENING]
    assert opening.max() > 0.5
    first_open = np.flatnonzero(opening > 0.2)[0] / ROWS_PER_SECOND
    assert abs(first_open - 0.5) <= 0.04
    assert np.all(opening[: int(0.4 * ROWS_PER_SECOND)] == 0.0)
    # Closed again well inside the trailing silence; never open in it after 100 ms.
    assert np.all(opening[int(1.1 * ROWS_PER_SECOND) :] == 0.0)


def test_pause_of_200_ms_closes_the_lips(extractor) -> None:
    wav = np.concatenate([voiced(0.4), silence(0.25), voiced(0.4, pitch=180.0)])
    opening = extractor.extract(wav)[:, OPENING]
    pause = slice(int(0.48 * ROWS_PER_SECOND), int(0.6 * ROWS_PER_SECOND))
    assert np.all(opening[pause] == 0.0)
    assert opening[: int(0.4 * ROWS_PER_SECOND)].max() > 0.4
    assert opening[int(0.65 * ROWS_PER_SECOND) :].max() > 0.4


STOPS = Path(__file__).parent / "data" / "stops"


def stop_gap(word: str) -> tuple[np.ndarray, slice]:
    """The articulation of an espeak-ng syllable (``scripts/make_stop_samples.py``) and the
    rows of its stop's silent gap (the longest near-silent run between the two vowels)."""
    with wave.open(str(STOPS / f"{word}.wav")) as source:
        samples = np.frombuffer(source.readframes(source.getnframes()), np.int16)
    wav = samples.astype(np.float32) / 32768.0
    level = measure_audio(wav)["level_db"]
    reference = np.percentile(level[level > ABSOLUTE_FLOOR_DB], 95)
    loud = np.flatnonzero(level > reference - 10)
    quiet = level < reference - STOP_QUIET_DB
    quiet[: loud[0]] = quiet[loud[-1] :] = False
    runs = np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]])))
    start, end = max(runs.reshape(-1, 2), key=lambda run: run[1] - run[0])
    return articulate(wav)[:, OPENING], slice(start, end)


@pytest.mark.parametrize("word", ["apa", "ipi"])
def test_lips_shut_for_p(word: str) -> None:
    opening, gap = stop_gap(word)
    assert gap.stop - gap.start >= 3 and np.all(opening[gap] == 0.0)
    assert opening[: gap.start].max() > 0.3 and opening[gap.stop :].max() > 0.3


@pytest.mark.parametrize("word", ["ata", "aka", "iti", "iki"])
def test_lips_stay_apart_for_t_and_k(word: str) -> None:
    """/t/ and /k/ also have a silent gap and a burst, but they release high: the tongue
    shuts the mouth, not the lips (the first design closed the lips for every stop)."""
    opening, gap = stop_gap(word)
    assert gap.stop - gap.start >= 3 and opening[gap].min() > 0.05


def test_articulation_is_deterministic_and_sized_to_the_audio(extractor) -> None:
    wav = np.concatenate([voiced(0.3), silence(0.2), voiced(0.25)])
    first, second = extractor.extract(wav), ArticulationExtractor().extract(wav.copy())
    assert first.shape[0] == int(np.ceil(len(wav) / 160))
    np.testing.assert_array_equal(first, second)
    assert np.all(np.isfinite(first))
    assert np.all((first[:, 1] >= -1) & (first[:, 1] <= 1))


def test_articulation_blocks_join_seamlessly(monkeypatch: pytest.MonkeyPatch) -> None:
    from lipdub.generators.warp import articulation

    wav = np.concatenate([voiced(0.7), silence(0.25), voiced(0.6, pitch=190.0), silence(0.3)])
    whole = articulate(wav)
    monkeypatch.setattr(articulation, "BLOCK", 29)
    np.testing.assert_array_equal(articulate(wav), whole)


def test_articulation_rejects_bad_audio_and_options(extractor) -> None:
    with pytest.raises(InputError):
        extractor.extract(np.array([0.0, np.nan], np.float32))
    with pytest.raises(InputError):
        ArticulationExtractor(window=3)


# ---------------------------------------------------------------- face warp


@pytest.fixture(scope="module")
def astronaut() -> tuple[np.ndarray, FaceRegions, object]:
    """The astronaut portrait, its face regions (from the face mesh) and a measurer."""
    skimage_data = pytest.importorskip("skimage.data")
    face_mesh = pytest.importorskip("mediapipe").solutions.face_mesh
    image = skimage_data.astronaut()
    mesh = face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1)

    def measure(frame: np.ndarray) -> FaceRegions:
        result = mesh.process(frame)
        assert result.multi_face_landmarks, "no face found"
        points = result.multi_face_landmarks[0].landmark[: lm.NUM_LANDMARKS]
        height, width = frame.shape[:2]
        mesh_points = np.array([[p.x * width, p.y * height] for p in points], np.float32)
        return regions_from_mediapipe(mesh_points)

    yield image, measure(image), measure
    mesh.close()


def _face(regions: FaceRegions) -> Face:
    return Face(box=regions.oval_box(), regions=regions)


def _dub(image: np.ndarray, points: FaceRegions, pose: MouthPose) -> np.ndarray:
    patch = render_mouth(image, points, pose)
    return MaskBlender().blend(image.copy(), patch, _face(points))


def test_open_target_parts_the_lips_and_closed_target_closes_them(astronaut) -> None:
    """Measured as the lead's acceptance test does: face mesh on the output, inner-lip gap
    over face height. The portrait smiles with parted lips, so it is closed first."""
    image, points, measure = astronaut
    opened_more = inner_gap(measure(_dub(image, points, MouthPose(opening=1.0))))
    assert opened_more >= inner_gap(points) + 0.008
    closed = _dub(image, points, MouthPose(opening=0.0))
    closed_points = measure(closed)
    assert inner_gap(closed_points) <= 0.02
    reopened = inner_gap(measure(_dub(closed, closed_points, MouthPose(opening=0.7))))
    assert reopened >= inner_gap(closed_points) + 0.03
    still_closed = inner_gap(measure(_dub(closed, closed_points, MouthPose(opening=0.0))))
    assert still_closed <= 0.02


def test_patch_changes_only_the_mouth_and_jaw(astronaut) -> None:
    image, points, _ = astronaut
    patch = render_mouth(image, points, MouthPose(opening=0.8, spread=0.5))
    x1, y1, x2, y2 = patch.box
    assert patch.image.shape == (y2 - y1, x2 - x1, 3) and patch.image.dtype == np.uint8
    source = image[y1:y2, x1:x2]
    changed = np.any(patch.image != source, axis=2)
    assert changed.sum() > 100
    rows = np.flatnonzero(changed.any(axis=1)) + y1
    assert rows.min() > points.nose_base[1]
    assert rows.max() < points.chin[1] + 0.35 * points.face_height
    # The outermost ring of the patch is untouched, so the blender shows no box.
    assert not changed[0].any() and not changed[-1].any()
    assert not changed[:, 0].any() and not changed[:, -1].any()


def test_warp_is_continuous_outside_the_mouth(astronaut) -> None:
    """Warping a smooth pattern gives a smooth result: no tears or folds anywhere but at the
    painted mouth opening."""
    image, points, _ = astronaut
    height, width = image.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    pattern = 127 + 100 * np.sin(xs / 7.0) * np.cos(ys / 9.0)
    pattern = np.repeat(pattern[..., None], 3, axis=2).astype(np.uint8)
    source_step = np.abs(np.diff(pattern[..., 0].astype(int), axis=0)).max()
    for pose in (MouthPose(1.0, 1.0), MouthPose(0.5, -1.0), MouthPose(0.0, 0.0)):
        mesh = build_mesh(points, pose)
        x1, y1 = np.floor(mesh.source.min(axis=0)).astype(int) - 3
        x2, y2 = np.ceil(mesh.source.max(axis=0)).astype(int) + 3
        warped, _ = warp_region(pattern, mesh.source, mesh.target, mesh.triangles, (x1, y1, x2, y2))
        assert np.all(np.isfinite(warped))
        cavity = np.zeros(warped.shape[:2], np.uint8)
        cv2.fillPoly(cavity, [np.round(mesh.cavity_polygon() - [x1, y1]).astype(np.int32)], 1)
        cavity = cv2.dilate(cavity, np.ones((5, 5), np.uint8)) > 0
        luma = warped[..., 0].astype(int)
        step_y = np.abs(np.diff(luma, axis=0))[~(cavity[1:] | cavity[:-1])]
        step_x = np.abs(np.diff(luma, axis=1))[~(cavity[:, 1:] | cavity[:, :-1])]
        assert max(step_y.max(), step_x.max()) <= 3 * source_step + 2


def test_generator_makes_one_patch_per_item_and_tolerates_missing_landmarks(astronaut) -> None:
    image, points, _ = astronaut
    generator = WarpGenerator()
    window = np.tile(np.array([[0.9, 0.0, 0.8, 0.9]], np.float32), (4, 1))
    items = [
        GeneratorInput(frame=image, face=_face(points), audio=window, index=0, source_index=0),
        GeneratorInput(frame=image, face=_face(points), audio=window[:0], index=1, source_index=1),
        GeneratorInput(
            frame=image, face=Face(box=(150, 60, 300, 200)), audio=window, index=2, source_index=2
        ),
    ]
    opened, empty_window, no_mesh = generator.generate(items)
    assert not np.array_equal(
        opened.image, image[opened.box[1] : opened.box[3], opened.box[0] : opened.box[2]]
    )
    closed = render_mouth(image, points, MouthPose(0.0, 0.0))
    np.testing.assert_array_equal(empty_window.image, closed.image)
    x1, y1, x2, y2 = no_mesh.box
    np.testing.assert_array_equal(no_mesh.image, image[y1:y2, x1:x2])
    assert opened.redrawn and empty_window.redrawn and opened.note is None
    assert not no_mesh.redrawn and no_mesh.note == "no landmarks"
    # A collapsed mesh (tracker glitch) leaves the frame as it is instead of failing.
    collapsed = render_mouth(image, FaceRegions(np.full((POINTS, 2), 100.0)), MouthPose(1.0))
    x1, y1, x2, y2 = collapsed.box
    np.testing.assert_array_equal(collapsed.image, image[y1:y2, x1:x2])
    assert not collapsed.redrawn and collapsed.note == "face too small"
    broken = FaceRegions(np.where(np.arange(POINTS)[:, None] == 3, np.nan, points.points))
    assert render_mouth(image, broken, MouthPose(1.0)).note == "unusable landmarks"


def test_generator_options_are_checked() -> None:
    with pytest.raises(InputError):
        WarpGenerator(max_opening="wide")
    with pytest.raises(InputError):
        WarpGenerator(teeth="maybe")
    with pytest.raises(InputError):
        WarpGenerator(colour="red")
    assert WarpGenerator(max_opening="0.1", teeth="false").teeth is False
