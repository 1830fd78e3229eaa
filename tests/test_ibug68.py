"""A 68-point (iBUG) tracker works everywhere: regions, boxes, masks, warp, Wav2Lip, eval.

The ``ibug68-test`` tracker keeps only the 68 iBUG points of mediapipe's mesh and builds its
regions from those alone, so these tests fail wherever something still needs the 468 mesh.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lipdub import plugins, testing_trackers
from lipdub.blenders.mask import MaskBlender
from lipdub.cli.app import main
from lipdub.faces import ibug68
from lipdub.faces import landmarks as lm
from lipdub.faces.boxes import box_iou, wav2lip_box
from lipdub.faces.ibug68 import MEDIAPIPE_TO_IBUG68, ibug68_from_mediapipe, regions_from_ibug68
from lipdub.faces.landmarks import regions_from_mediapipe
from lipdub.faces.mediapipe_tracker import MediapipeTracker
from lipdub.generators.warp import render_mouth
from lipdub.generators.warp.shape import MouthPose, build_mesh
from lipdub.media.reader import VideoReader
from lipdub.testing import lipdub_plugins  # noqa: F401 - fixture
from lipdub.testing_trackers import Ibug68TestTracker
from lipdub.types import Face
from tests.conftest import astronaut_face, make_talking_head, speech_like, write_wav

TRACKER = "ibug68-test"


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


@pytest.fixture(scope="module")
def faces(astronaut: np.ndarray) -> tuple[Face, Face]:
    """The astronaut as the mediapipe tracker and as the 68-point test tracker see it."""
    mesh_tracker, point_tracker = MediapipeTracker(max_faces=1), Ibug68TestTracker(max_faces=1)
    try:
        (mesh_face,) = mesh_tracker.detect(astronaut)
        (point_face,) = point_tracker.detect(astronaut)
    finally:
        mesh_tracker.close()
        point_tracker.close()
    return mesh_face, point_face


def test_mapping_table_names_the_matching_mesh_points() -> None:
    assert len(MEDIAPIPE_TO_IBUG68) == 68 == len(set(MEDIAPIPE_TO_IBUG68))
    assert all(0 <= index < lm.NUM_LANDMARKS for index in MEDIAPIPE_TO_IBUG68)
    table = MEDIAPIPE_TO_IBUG68
    assert table[ibug68.CHIN] == lm.CHIN and table[ibug68.NOSE_TIP] == lm.NOSE_TIP
    assert table[ibug68.SUBNASALE] == lm.NOSE_BOTTOM
    assert (table[ibug68.ALA_IMAGE_LEFT], table[ibug68.ALA_IMAGE_RIGHT]) == (
        lm.NOSE_ALA_RIGHT,
        lm.NOSE_ALA_LEFT,
    )
    assert (table[48], table[54], table[60], table[64]) == (61, 291, 78, 308)
    assert (table[36], table[39], table[42], table[45]) == (33, 133, 362, 263)
    assert set(table[:17]) <= set(lm.FACE_OVAL)
    assert set(table[48:68]) <= set(lm.LIPS_OUTER) | set(lm.LIPS_INNER)


def test_rejects_other_point_counts() -> None:
    with pytest.raises(ValueError, match="68"):
        regions_from_ibug68(np.zeros((468, 2)))


def test_test_tracker_gives_68_points_and_their_regions(faces: tuple[Face, Face]) -> None:
    _, face = faces
    assert face.landmarks.shape == (68, 2) and face.regions is not None
    expected = regions_from_ibug68(face.landmarks).clipped(512, 512)
    np.testing.assert_array_equal(face.regions.points, expected.points)
    # The regions come from the 68 points: the jaw runs through them, chin and corners exact.
    np.testing.assert_allclose(face.regions.chin, face.landmarks[ibug68.CHIN])
    np.testing.assert_allclose(face.regions.mouth_corners, face.landmarks[[48, 54]])
    np.testing.assert_allclose(face.regions.lips_inner[[0, 10]], face.landmarks[[60, 64]])


def test_wav2lip_box_matches_the_mesh_tracker(faces: tuple[Face, Face]) -> None:
    mesh_face, point_face = faces
    size = (512, 512)
    iou = box_iou(wav2lip_box(mesh_face, frame_size=size), wav2lip_box(point_face, frame_size=size))
    assert iou > 0.85
    # The estimated forehead lands near the mesh's own oval top.
    height = mesh_face.regions.face_height
    assert np.linalg.norm(point_face.regions.forehead - mesh_face.regions.forehead) < 0.05 * height


def test_static_mesh_box_and_mask_match_too(astronaut: np.ndarray) -> None:
    from mediapipe.python.solutions import face_mesh

    with face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) as model:
        marks = model.process(astronaut).multi_face_landmarks[0].landmark[: lm.NUM_LANDMARKS]
    mesh = np.array([[p.x * 512, p.y * 512] for p in marks], np.float32)
    mesh_regions = regions_from_mediapipe(mesh)
    point_regions = regions_from_ibug68(ibug68_from_mediapipe(mesh))
    mesh_face = Face(box=(0, 0, 1, 1), regions=mesh_regions)
    point_face = Face(box=(0, 0, 1, 1), regions=point_regions)
    assert box_iou(wav2lip_box(mesh_face), wav2lip_box(point_face)) > 0.85
    box = tuple(int(v) for v in wav2lip_box(mesh_face, frame_size=(512, 512)))
    mesh_mask = MaskBlender().mask(mesh_face, box) > 0.5
    point_mask = MaskBlender().mask(point_face, box) > 0.5
    assert (mesh_mask & point_mask).sum() / (mesh_mask | point_mask).sum() > 0.9
    five_error = np.linalg.norm(mesh_regions.five_points() - point_regions.five_points(), axis=1)
    assert five_error.max() < 0.02 * mesh_regions.face_height


def test_lip_loops_match_in_order(faces: tuple[Face, Face]) -> None:
    """Point k of the inner loop faces point k of the outer one (the warp's spokes)."""
    _, face = faces
    centre = face.regions.lips_inner.mean(axis=0)
    outer = face.regions.lips_outer - centre
    inner = face.regions.lips_inner - centre
    cosine = (outer * inner).sum(1) / np.linalg.norm(outer, axis=1) / np.linalg.norm(inner, axis=1)
    assert cosine.min() > 0.7


def test_warp_and_mask_redraw_a_68_point_face(astronaut: np.ndarray, faces) -> None:
    _, face = faces
    mesh = build_mesh(face.regions, MouthPose(opening=1.0))
    assert np.all(np.isfinite(mesh.source)) and np.all(np.isfinite(mesh.target))
    patch = render_mouth(astronaut, face.regions, MouthPose(opening=1.0))
    assert patch.redrawn and patch.note is None
    out = MaskBlender().blend(astronaut.copy(), patch, face)
    changed = np.any(out != astronaut, axis=2)
    assert changed.sum() > 200
    rows = np.flatnonzero(changed.any(axis=1))
    assert rows.min() > face.regions.nose_tip[1] and rows.max() < face.regions.chin[1] + 20


def test_meets_the_tracker_contract() -> None:
    from lipdub.testing import check_tracker

    face = astronaut_face(256)
    edge = np.zeros_like(face)
    edge[:, :181] = face[:, 75:]  # the face cut by the frame's left edge
    assert check_tracker(Ibug68TestTracker(), [face, edge, np.zeros_like(face)]) >= 2


def test_registered_only_when_a_test_registers_it(lipdub_plugins) -> None:  # noqa: F811
    assert TRACKER not in plugins.components("face_trackers")
    lipdub_plugins.register(testing_trackers, name=TRACKER)
    assert plugins.get_component("face_trackers", TRACKER) is Ibug68TestTracker


# -- end to end ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("ibug68")
    video = make_talking_head(folder / "face.mp4", seconds=1.0)
    return video, write_wav(folder / "speech.wav", speech_like(1.0, seed=7))


def frames_of(path: Path) -> np.ndarray:
    return np.stack(list(VideoReader(path).frames())).astype(np.int16)


def assert_only_the_mouth_changed(source: Path, dubbed: Path) -> float:
    before, after = frames_of(source), frames_of(dubbed)
    diff = np.abs(after[: len(before)] - before[: len(after)]).mean(axis=(0, 3))
    size = diff.shape[0]
    top = diff[: size // 4].mean()
    sides = np.r_[diff[:, : size // 8].ravel(), diff[:, -size // 8 :].ravel()].mean()
    tracker = Ibug68TestTracker()
    (face,) = tracker.detect(before[0].astype(np.uint8))
    tracker.close()
    cx, cy = face.regions.lips_outer.mean(axis=0)
    half_w, half_h = int(0.12 * face.regions.face_height), int(0.07 * face.regions.face_height)
    mouth = diff[int(cy) - half_h : int(cy) + half_h, int(cx) - half_w : int(cx) + half_w].mean()
    assert top < 2.5 and sides < 2.5, (top, sides)
    assert mouth > 4 * max(top, sides, 0.5), (mouth, top, sides)
    return float(mouth)


def dub_cli(clip: tuple[Path, Path], out: Path, *extra: str) -> int:
    video, speech = clip
    args = [str(video), "--audio", str(speech), "-o", str(out), "--tracker", TRACKER]
    return main([*args, "--blender", "mask", "--overwrite", *extra])


@pytest.mark.slow
def test_warp_dub_with_the_68_point_tracker(clip, tmp_path, lipdub_plugins, capsys) -> None:  # noqa: F811
    lipdub_plugins.register(testing_trackers, name=TRACKER)
    out = tmp_path / "warp.mp4"
    assert dub_cli(clip, out, "-g", "warp") == 0
    err = capsys.readouterr().err
    assert "25 frames redrawn" in err and "skipped" not in err
    assert_only_the_mouth_changed(clip[0], out)


@pytest.mark.slow
def test_wav2lip_dub_with_the_68_point_tracker(
    clip,
    tmp_path,
    seeded_checkpoint,
    lipdub_plugins,  # noqa: F811
) -> None:
    lipdub_plugins.register(testing_trackers, name=TRACKER)
    out = tmp_path / "wav2lip.mp4"
    code = dub_cli(clip, out, "-g", "wav2lip", "--checkpoint", str(seeded_checkpoint), "-q")
    assert code == 0
    assert_only_the_mouth_changed(clip[0], out)


@pytest.mark.slow
def test_eval_uses_the_chosen_tracker(clip, tmp_path, lipdub_plugins) -> None:  # noqa: F811
    lipdub_plugins.register(testing_trackers, name=TRACKER)
    video, speech = clip
    report = tmp_path / "eval.json"
    args = ["eval", str(video), "--audio", str(speech), "--metrics", "agreement"]
    assert main([*args, "--tracker", TRACKER, "-o", str(report), "-q", "--no-plots"]) == 0
    data = json.loads(report.read_text())
    row = data["videos"][0]
    assert row["face_frames"] == row["frames"] == 25
    assert np.isfinite(row["agreement_r"])
    assert main([*args, "--tracker", "no-such", "-o", str(tmp_path / "x.json"), "-q"]) != 0
