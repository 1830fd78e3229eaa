"""The blenders that put a generated patch back into its frame.

The frame is scikit-image's astronaut photo (upscaled to 1024 px, face ~185 px wide) with its
real face-mesh landmarks from mediapipe.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lipdub.blenders import box as box_module
from lipdub.blenders import mask as mask_module
from lipdub.blenders import masks
from lipdub.blenders.box import BoxBlender
from lipdub.blenders.mask import MaskBlender
from lipdub.errors import InputError, PluginError
from lipdub.faces import landmarks as lm
from lipdub.faces.landmarks import regions_from_mediapipe
from lipdub.types import Face, Patch

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    image = skimage_data.astronaut()
    frame = cv2.resize(image, (1024, 1024), interpolation=cv2.INTER_CUBIC)
    frame.flags.writeable = False
    return frame


@pytest.fixture(scope="module")
def points(frame: np.ndarray) -> np.ndarray:
    from mediapipe.python.solutions import face_mesh

    with face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) as mesh:
        result = mesh.process(frame)
    assert result.multi_face_landmarks, "mediapipe found no face in the astronaut photo"
    height, width = frame.shape[:2]
    marks = result.multi_face_landmarks[0].landmark
    return np.array([[p.x * width, p.y * height] for p in marks[:468]], np.float32)


@pytest.fixture(scope="module")
def face(points: np.ndarray) -> Face:
    """A Wav2Lip-like box: from above the eyes to below the chin."""
    x1, y1 = points.min(axis=0)
    x2, y2 = points.max(axis=0)
    height = y2 - y1
    box = (x1 - 10, y1 + 0.1 * height, x2 + 10, y2 + 0.12 * height)
    return Face(box=box, landmarks=points, regions=regions_from_mediapipe(points))


@pytest.fixture(scope="module")
def patch(frame: np.ndarray, face: Face) -> Patch:
    """The source crop in very different colours (channels rotated) with a dark open mouth."""
    x1, y1, x2, y2 = box = face.int_box(frame.shape[1], frame.shape[0])
    image = np.ascontiguousarray(frame[y1:y2, x1:x2][..., [1, 2, 0]])
    mouth = face.landmarks[[lm.UPPER_LIP_INNER_MID, lm.LOWER_LIP_INNER_MID]].mean(axis=0)
    center = (int(mouth[0] - x1), int(mouth[1] - y1))
    cv2.ellipse(image, center, (36, 20), 0, 0, 360, (40, 10, 10), -1)
    return Patch(image=image, box=box)


def blend(frame: np.ndarray, patch: Patch, face: Face, **options: object) -> np.ndarray:
    return MaskBlender(**options).blend(frame.copy(), patch, face)


def diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=-1)


def outside(shape_hw: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    x1, y1, x2, y2 = box
    keep = np.ones(shape_hw, bool)
    keep[y1:y2, x1:x2] = False
    return keep


@pytest.mark.parametrize("color_match", [True, False])
def test_mask_blend_leaves_everything_outside_the_box_and_above_the_nose(
    frame: np.ndarray, patch: Patch, face: Face, color_match: bool
) -> None:
    out = blend(frame, patch, face, color_match=color_match)
    changed = diff(out, frame) > 0
    assert not changed[outside(frame.shape[:2], patch.box)].any()
    # Eyes, nose bridge and nose tip: rows above the nose tip between the outer eye corners.
    x1, y1, _, _ = patch.box
    nose_tip_row = int(face.landmarks[lm.NOSE_TIP][1])
    left = int(face.landmarks[lm.RIGHT_EYE_OUTER][0])
    right = int(face.landmarks[lm.LEFT_EYE_OUTER][0])
    assert not changed[y1:nose_tip_row, left:right].any()
    tip_x, tip_y = face.landmarks[lm.NOSE_TIP].astype(int)
    assert not changed[tip_y - 3 : tip_y + 4, tip_x - 3 : tip_x + 4].any()


def test_mask_blend_redraws_the_mouth(frame: np.ndarray, patch: Patch, face: Face) -> None:
    out = blend(frame, patch, face, color_match=False)
    x1, y1, _, _ = patch.box
    mouth_x, mouth_y = face.landmarks[[lm.UPPER_LIP_INNER_MID, lm.LOWER_LIP_INNER_MID]].mean(0)
    rows = slice(int(mouth_y) - 8, int(mouth_y) + 8)
    cols = slice(int(mouth_x) - 20, int(mouth_x) + 20)
    assert diff(out, frame)[rows, cols].min() > 60
    # The mask is fully on over the mouth: the patch shows there unchanged.
    patch_rows = slice(rows.start - y1, rows.stop - y1)
    patch_cols = slice(cols.start - x1, cols.stop - x1)
    assert diff(out[rows, cols], patch.image[patch_rows, patch_cols]).max() <= 1
    # And the mouth corners are redrawn as well.
    weights = MaskBlender().mask(face, patch.box)
    for index in (lm.MOUTH_CORNER_RIGHT, lm.MOUTH_CORNER_LEFT, lm.LOWER_LIP_OUTER_MID):
        x, y = face.landmarks[index].astype(int)
        assert weights[y - y1, x - x1] > 0.99


def test_mask_blend_shows_no_box_edge(frame: np.ndarray, patch: Patch, face: Face) -> None:
    changed = diff(blend(frame, patch, face), frame)
    x1, y1, x2, y2 = patch.box
    border = np.concatenate(
        [changed[y1, x1:x2], changed[y2 - 1, x1:x2], changed[y1:y2, x1], changed[y1:y2, x2 - 1]]
    )
    assert border.max() < 2
    assert changed[y1:y2, x1:x2].max() > 60


def test_mask_has_no_hard_step(face: Face, patch: Patch) -> None:
    weights = MaskBlender().mask(face, patch.box)
    assert weights.dtype == np.float32
    assert weights.min() == 0.0 and weights.max() == pytest.approx(1.0)
    step = max(np.abs(np.diff(weights, axis=0)).max(), np.abs(np.diff(weights, axis=1)).max())
    assert step < 0.2
    # A wider feather gives a gentler ramp.
    wide = MaskBlender(feather=0.2).mask(face, patch.box)
    assert np.abs(np.diff(wide, axis=1)).max() < np.abs(np.diff(weights, axis=1)).max()


def test_color_match_brings_the_patch_to_the_skin_colour(
    frame: np.ndarray, patch: Patch, face: Face
) -> None:
    x1, y1, x2, y2 = patch.box
    skin = masks.lower_face_skin(face.regions, (y2 - y1, x2 - x1), offset_xy=(x1, y1))
    skin &= MaskBlender().mask(face, patch.box) > 0.99
    assert skin.sum() > 2000

    def skin_mean(image: np.ndarray) -> np.ndarray:
        return image[y1:y2, x1:x2][skin].astype(np.float64).mean(axis=0)

    target = skin_mean(frame)
    error_matched = np.abs(skin_mean(blend(frame, patch, face)) - target).max()
    error_raw = np.abs(skin_mean(blend(frame, patch, face, color_match=False)) - target).max()
    assert error_raw > 40
    assert error_matched < 3


def test_color_match_gain_is_clamped(frame: np.ndarray, face: Face, patch: Patch) -> None:
    """A nearly flat patch is not stretched into the skin's full contrast (noise would blow up)."""
    x1, y1, x2, y2 = patch.box
    source = frame[y1:y2, x1:x2].astype(np.float32)
    flat = Patch(image=(128 + 0.1 * (source - 128)).astype(np.uint8), box=patch.box)
    out = blend(frame, flat, face)
    weights = MaskBlender().mask(face, patch.box)
    inner = weights > 0.99
    spread_out = out[y1:y2, x1:x2][inner].astype(np.float64).std(axis=0)
    spread_source = frame[y1:y2, x1:x2][inner].astype(np.float64).std(axis=0)
    assert np.all(spread_out < 0.35 * spread_source)
    assert np.all(spread_out > 0.1 * spread_source)


def test_mask_fades_out_inside_a_box_that_cuts_through_the_face(
    frame: np.ndarray, patch: Patch, face: Face
) -> None:
    """A box tighter than the lower face still shows no edge: the mask fades to 0 inside it."""
    nose_x, nose_y = face.landmarks[lm.NOSE_BOTTOM]
    chin_y = face.landmarks[lm.CHIN][1]
    x1, y1 = int(nose_x - 60), int(nose_y)
    x2, y2 = int(nose_x + 60), int(chin_y - 15)
    px1, py1 = patch.box[:2]
    tight = Patch(image=patch.image[y1 - py1 : y2 - py1, x1 - px1 : x2 - px1], box=(x1, y1, x2, y2))
    changed = diff(blend(frame, tight, face), frame)
    assert not (changed > 0)[outside(frame.shape[:2], tight.box)].any()
    border = np.concatenate(
        [changed[y1, x1:x2], changed[y2 - 1, x1:x2], changed[y1:y2, x1], changed[y1:y2, x2 - 1]]
    )
    assert border.max() < 2
    assert changed[y1 + 3 : y2 - 3, x1 + 3].max() < 20
    weights = MaskBlender().mask(face, tight.box)
    assert np.abs(np.diff(weights, axis=1)).max() < 0.2


def test_box_blender_pastes_exactly(frame: np.ndarray, patch: Patch, face: Face) -> None:
    out = BoxBlender().blend(frame.copy(), patch, face)
    x1, y1, x2, y2 = patch.box
    np.testing.assert_array_equal(out[y1:y2, x1:x2], patch.image)
    assert not (diff(out, frame) > 0)[outside(frame.shape[:2], patch.box)].any()


@pytest.mark.parametrize("blender", [MaskBlender(), BoxBlender()], ids=["mask", "box"])
def test_blend_works_in_place_and_copies_a_read_only_frame(
    frame: np.ndarray, patch: Patch, face: Face, blender: MaskBlender | BoxBlender
) -> None:
    writable = frame.copy()
    assert blender.blend(writable, patch, face) is writable
    assert not frame.flags.writeable
    out = blender.blend(frame, patch, face)
    assert out is not frame and diff(out, frame).max() > 0


def test_face_without_regions_gets_a_feathered_ellipse(
    frame: np.ndarray, patch: Patch, face: Face
) -> None:
    bare = Face(box=face.box, landmarks=face.landmarks)  # raw landmarks alone are not used
    out = blend(frame, patch, bare)
    changed = diff(out, frame)
    x1, y1, x2, y2 = patch.box
    assert not (changed > 0)[outside(frame.shape[:2], patch.box)].any()
    height = y2 - y1
    assert changed[y1 : y1 + int(0.35 * height), x1:x2].max() == 0
    center_x = (x1 + x2) // 2
    assert changed[y1 + int(0.7 * height), center_x - 10 : center_x + 10].min() > 0
    weights = MaskBlender().mask(bare, patch.box)
    assert np.abs(np.diff(weights, axis=0)).max() < 0.2


@pytest.mark.parametrize("blender", [MaskBlender(), BoxBlender()], ids=["mask", "box"])
def test_box_partly_outside_the_frame_is_clipped(
    frame: np.ndarray, patch: Patch, face: Face, blender: MaskBlender | BoxBlender
) -> None:
    x1, y1, x2, y2 = patch.box
    shifted = Patch(image=patch.image, box=(x1 - 400, y1, x2 - 400, y2))
    moved = Face(box=face.box, regions=face.regions.translated(-400, 0))
    out = blender.blend(frame.copy(), shifted, moved)
    assert out.shape == frame.shape
    assert not (diff(out, frame) > 0)[:, x2 - 400 :].any()
    nowhere = Patch(image=patch.image, box=(-500, -500, -500 + x2 - x1, -500 + y2 - y1))
    np.testing.assert_array_equal(blender.blend(frame.copy(), nowhere, face), frame)


@pytest.mark.parametrize("blender", [MaskBlender(), BoxBlender()], ids=["mask", "box"])
def test_patch_of_the_wrong_size_is_a_plugin_error(
    frame: np.ndarray, patch: Patch, face: Face, blender: MaskBlender | BoxBlender
) -> None:
    wrong = Patch(image=patch.image[:-3], box=patch.box)
    with pytest.raises(PluginError, match="patch"):
        blender.blend(frame.copy(), wrong, face)


def test_options_are_checked_and_strings_accepted() -> None:
    blender = MaskBlender(feather="0.1", color_match="false", mask_dilate="0")
    assert (blender.feather, blender.color_match, blender.mask_dilate) == (0.1, False, 0.0)
    with pytest.raises(InputError, match="feather"):
        MaskBlender(feather="wide")
    with pytest.raises(InputError, match="feather"):
        MaskBlender(feather=3)
    with pytest.raises(InputError, match="color_match"):
        MaskBlender(color_match="maybe")


def test_hooks_register_the_blenders() -> None:
    registered: list[type] = []
    mask_module.register_blenders(register=registered.append)
    box_module.register_blenders(register=registered.append)
    assert registered == [MaskBlender, BoxBlender]
    assert (MaskBlender.name, BoxBlender.name) == ("mask", "box")


def test_lower_face_mask_of_a_crop_matches_the_full_frame_mask(
    frame: np.ndarray, face: Face, patch: Patch
) -> None:
    full = masks.lower_face_mask(face.regions, frame.shape[:2], feather_px=12, dilate_px=5)
    x1, y1, x2, y2 = patch.box
    crop = masks.lower_face_mask(
        face.regions, (y2 - y1, x2 - x1), offset_xy=(x1, y1), feather_px=12, dilate_px=5
    )
    np.testing.assert_allclose(crop, full[y1:y2, x1:x2], atol=0.02)
    # Dilation grows the mask below the chin.
    chin_x, chin_y = face.landmarks[lm.CHIN].astype(int)
    grown = masks.lower_face_mask(face.regions, frame.shape[:2], feather_px=12, dilate_px=20)
    assert grown[chin_y + 14, chin_x] > 0.9 > full[chin_y + 14, chin_x]


def test_feather_ramps_over_the_given_width() -> None:
    step = np.zeros((20, 100), np.float32)
    step[:, 50:] = 1.0
    soft = masks.feather(step, 20)
    row = soft[10]
    assert row[:40].max() == 0.0 and row[60:].min() == 1.0
    assert np.all(np.diff(row) >= 0) and 0.3 < row[49] < 0.5 < row[50] < 0.7
    # The region continues beyond the border: a full row stays full.
    assert masks.feather(np.ones((10, 10)), 8).min() == 1.0
