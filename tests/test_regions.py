"""Named face regions: the canonical layout, resampling, transforms and mediapipe's regions."""

from __future__ import annotations

import numpy as np
import pytest

from lipdub.faces import landmarks as lm
from lipdub.faces import regions as rg
from lipdub.faces.boxes import landmarks_box
from lipdub.faces.landmarks import regions_from_mediapipe
from lipdub.faces.regions import FaceRegions, resample_path
from lipdub.faces.smoothing import smooth_track
from lipdub.types import Face


@pytest.fixture(scope="module")
def mesh() -> np.ndarray:
    """mediapipe's 468 face-mesh points of the astronaut portrait (512x512)."""
    from mediapipe.python.solutions import face_mesh
    from skimage import data

    image = data.astronaut()
    with face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) as model:
        result = model.process(image)
    marks = result.multi_face_landmarks[0].landmark[: lm.NUM_LANDMARKS]
    return np.array([[p.x * 512, p.y * 512] for p in marks], np.float32)


def circle(count: int, start: float, stop: float, radius: float = 10.0) -> np.ndarray:
    angles = np.linspace(start, stop, count)
    return np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)


def ellipse_regions(centre=(100.0, 100.0)) -> FaceRegions:
    """Regions of a drawn face (any point counts): a circle oval, an arc jaw, oval lips."""
    cx, cy = centre
    oval = circle(49, -np.pi / 2, 1.5 * np.pi, 40.0)[:-1] + centre  # forehead top first
    jaw = circle(13, np.pi, 0.0, 40.0) + centre  # image-left cheek, chin, image-right cheek
    lip = circle(15, np.pi, -np.pi, 1.0)[:-1] * [12.0, 4.0] + [cx, cy + 20]
    return FaceRegions.build(
        oval=oval,
        jaw=jaw,
        lips_outer=lip,
        lips_inner=(lip - [cx, cy + 20]) * [0.8, 0.3] + [cx, cy + 20],
        outer_corner=7,
        inner_corner=7,
        nose_tip=[cx, cy + 5],
        nose_base=[cx, cy + 10],
        nose_alae=[[cx - 6, cy + 9], [cx + 6, cy + 9]],
        eyes=[[cx - 15, cy - 10], [cx + 15, cy - 10]],
    )


def test_layout_is_one_array_with_named_slices() -> None:
    assert rg.POINTS == rg.OVAL_POINTS + rg.JAW_POINTS + 2 * rg.LIP_POINTS + 6
    slices = list(rg.LAYOUT.values())
    assert slices[0].start == 0 and slices[-1].stop == rg.POINTS
    assert all(a.stop == b.start for a, b in zip(slices[:-1], slices[1:], strict=True))
    with pytest.raises(ValueError, match="FaceRegions needs"):
        FaceRegions(np.zeros((10, 2)))


def test_resample_path_is_even_by_arc_length_and_keeps_the_ends() -> None:
    path = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0]])
    out = resample_path(path, 11)
    np.testing.assert_allclose(out[:, 0], np.arange(11.0))
    assert np.all(out[:, 1] == 0)
    np.testing.assert_array_equal(resample_path(np.ones((3, 2)), 4), np.ones((4, 2)))


def test_build_resamples_to_canonical_counts_with_anchors_in_place() -> None:
    regions = ellipse_regions()
    assert regions.points.shape == (rg.POINTS, 2) and regions.points.dtype == np.float32
    assert regions.oval.shape == (rg.OVAL_POINTS, 2) and regions.jaw.shape == (rg.JAW_POINTS, 2)
    np.testing.assert_allclose(regions.forehead, [100, 60], atol=1e-4)
    np.testing.assert_allclose(regions.oval[rg.OVAL_CHIN], [100, 140], atol=1e-4)
    np.testing.assert_allclose(regions.chin, [100, 140], atol=1e-4)
    np.testing.assert_allclose(regions.cheeks, [[60, 100], [140, 100]], atol=1e-4)
    # The oval runs down the image-right side first.
    assert regions.oval[rg.OVAL_CHIN // 2, 0] > 130 and regions.oval[-rg.OVAL_CHIN // 2, 0] < 70
    # Lip corners exact, lower lip (larger y) first, middles where their names say.
    np.testing.assert_allclose(regions.mouth_corners, [[88, 120], [112, 120]], atol=1e-4)
    assert np.all(regions.lips_outer[1 : rg.LIP_CORNER, 1] > 120)
    assert np.all(regions.lips_outer[rg.LIP_CORNER + 1 :, 1] < 120)
    np.testing.assert_allclose(regions.upper_lip_outer, [100, 116], atol=0.2)
    np.testing.assert_allclose(regions.lower_lip_inner, [100, 121.2], atol=0.1)
    assert regions.face_height == pytest.approx(80) and regions.face_width == pytest.approx(80)
    assert regions.mouth_opening == pytest.approx(2.4 / 80, rel=0.05)


def test_five_points_are_in_arcface_order() -> None:
    five = ellipse_regions().five_points()
    assert five.shape == (5, 2)
    left_eye, right_eye, nose, left_mouth, right_mouth = five
    assert left_eye[0] < nose[0] < right_eye[0] and left_mouth[0] < nose[0] < right_mouth[0]
    assert left_eye[1] < nose[1] < left_mouth[1]


def test_transforms_move_every_point() -> None:
    regions = ellipse_regions()
    moved = regions.translated(-100, -50)
    np.testing.assert_allclose(moved.points, regions.points - [100, 50])
    np.testing.assert_allclose(regions.scaled(0.5).points, regions.points * 0.5)
    np.testing.assert_allclose(regions.map(lambda p: p[:, ::-1]).points, regions.points[:, ::-1])
    assert moved.face_height == pytest.approx(regions.face_height)


def test_mediapipe_regions_are_the_mesh_contours(mesh: np.ndarray) -> None:
    regions = regions_from_mediapipe(mesh)
    np.testing.assert_array_equal(regions.oval, mesh[list(lm.FACE_OVAL)])
    np.testing.assert_array_equal(regions.jaw, mesh[list(lm.JAW_CONTOUR[::-1])])
    np.testing.assert_array_equal(regions.lips_outer, mesh[list(lm.LIPS_OUTER)])
    np.testing.assert_array_equal(regions.lips_inner, mesh[list(lm.LIPS_INNER)])
    np.testing.assert_array_equal(regions.forehead, mesh[lm.FOREHEAD])
    np.testing.assert_array_equal(regions.chin, mesh[lm.CHIN])
    np.testing.assert_array_equal(regions.cheeks, mesh[[lm.CHEEK_RIGHT, lm.CHEEK_LEFT]])
    np.testing.assert_array_equal(regions.nose_base, mesh[lm.NOSE_BOTTOM])
    np.testing.assert_array_equal(
        regions.mouth_corners, mesh[[lm.MOUTH_CORNER_RIGHT, lm.MOUTH_CORNER_LEFT]]
    )
    np.testing.assert_array_equal(regions.upper_lip_inner, mesh[lm.UPPER_LIP_INNER_MID])
    np.testing.assert_array_equal(regions.lower_lip_inner, mesh[lm.LOWER_LIP_INNER_MID])
    five = regions.five_points()
    assert five[0, 0] < five[2, 0] < five[1, 0] and five[3, 0] < five[4, 0]
    assert np.linalg.norm(five[0] - mesh[list(lm.RIGHT_EYE)].mean(axis=0)) < 1e-3


def test_smoothing_smooths_regions_and_keeps_mouth_motion(mesh: np.ndarray) -> None:
    rng = np.random.default_rng(4)
    base = regions_from_mediapipe(mesh)
    faces: list[Face | None] = []
    for i in range(40):
        points = base.points + rng.normal(0, 1.5, 2).astype(np.float32)  # whole-face jitter
        lower = rg.LAYOUT["lips_inner"].start + rg.LOWER_MID
        points[lower, 1] += 4 * np.sin(2 * np.pi * i / 6)  # talking
        regions = FaceRegions(points)
        faces.append(None if i == 10 else Face(box=landmarks_box(points), regions=regions))
    smoothed = smooth_track(faces, [0] * 40, fps=25)
    assert smoothed[10] is None and all(f.landmarks is None for f in smoothed if f)
    tips = np.array([f.regions.nose_tip for f in smoothed[15:35]])
    raw_tips = np.array([f.regions.nose_tip for f in faces[15:35]])
    assert np.std(tips, axis=0).max() < np.std(raw_tips, axis=0).max() / 2
    gap = [f.regions.lower_lip_inner[1] - f.regions.nose_tip[1] for f in smoothed[15:35]]
    raw_gap = [f.regions.lower_lip_inner[1] - f.regions.nose_tip[1] for f in faces[15:35]]
    assert np.ptp(gap) > 0.8 * np.ptp(raw_gap)
