"""Face finding, tracking, selection, smoothing and the Wav2Lip crop box."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from mediapipe.python.solutions import face_mesh_connections as connections
from skimage import data

from lipdub import plugins
from lipdub.errors import InputError
from lipdub.faces import landmarks as lm
from lipdub.faces import mediapipe_tracker
from lipdub.faces.boxes import box_center, landmarks_box, wav2lip_box
from lipdub.faces.mediapipe_tracker import MediapipeTracker
from lipdub.faces.selection import select_faces
from lipdub.faces.smoothing import smooth_track
from lipdub.types import Face

# Where the astronaut's face is in skimage's 512x512 picture (x1, y1, x2, y2), by eye.
ASTRONAUT_FACE = (170, 60, 280, 185)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut()


@pytest.fixture(scope="module")
def tracker():
    tracker = MediapipeTracker()
    yield tracker
    tracker.close()


def place(canvas: np.ndarray, image: np.ndarray, x: int, y: int, scale: float = 1.0) -> None:
    """Paste ``image`` scaled by ``scale`` into ``canvas`` with its top-left at ``(x, y)``."""
    if scale != 1.0:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = image.shape[:2]
    canvas[y : y + h, x : x + w] = image[: canvas.shape[0] - y, : canvas.shape[1] - x]


def two_faces(astronaut: np.ndarray) -> np.ndarray:
    """A 1024x400 frame: a big astronaut face on the left, a smaller one right of centre."""
    crop = astronaut[20:240, 110:340]  # the head, 230x220
    frame = np.full((400, 1024, 3), 80, np.uint8)
    place(frame, crop, 60, 80, 1.4)
    place(frame, crop, 560, 120, 0.9)
    return frame


def inside(point, box, margin: float = 0.0) -> bool:
    return (
        box[0] - margin <= point[0] <= box[2] + margin
        and box[1] - margin <= point[1] <= box[3] + margin
    )


# -- landmark index sets ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loop", "edges", "closed"),
    [
        (lm.LIPS_OUTER, connections.FACEMESH_LIPS, True),
        (lm.LIPS_INNER, connections.FACEMESH_LIPS, True),
        (lm.FACE_OVAL, connections.FACEMESH_FACE_OVAL, True),
        (lm.JAW_CONTOUR, connections.FACEMESH_FACE_OVAL, False),
        (lm.RIGHT_EYE, connections.FACEMESH_RIGHT_EYE, True),
        (lm.LEFT_EYE, connections.FACEMESH_LEFT_EYE, True),
        (lm.RIGHT_EYEBROW_UPPER, connections.FACEMESH_RIGHT_EYEBROW, False),
        (lm.LEFT_EYEBROW_LOWER, connections.FACEMESH_LEFT_EYEBROW, False),
    ],
)
def test_landmark_loops_follow_mesh_edges(loop, edges, closed):
    edge_set = {frozenset(edge) for edge in edges}
    pairs = list(zip(loop[:-1], loop[1:], strict=True)) + ([(loop[-1], loop[0])] if closed else [])
    assert all(frozenset(pair) in edge_set for pair in pairs)
    assert len(set(loop)) == len(loop)


def test_named_landmarks_sit_where_their_names_say(tracker, astronaut):
    (face,) = tracker.detect(astronaut)
    p = face.landmarks
    assert p[lm.MOUTH_CORNER_RIGHT][0] < p[lm.MOUTH_CORNER_LEFT][0]
    assert p[lm.CHEEK_RIGHT][0] < p[lm.NOSE_TIP][0] < p[lm.CHEEK_LEFT][0]
    assert p[lm.FOREHEAD][1] < p[lm.NOSE_TIP][1] < p[lm.UPPER_LIP_INNER_MID][1]
    assert p[lm.UPPER_LIP_INNER_MID][1] <= p[lm.LOWER_LIP_INNER_MID][1] < p[lm.CHIN][1]
    assert p[lm.RIGHT_EYE_OUTER][0] < p[lm.LEFT_EYE_OUTER][0]
    assert p[lm.NOSE_TIP][1] <= p[lm.NOSE_BOTTOM][1] + 1


# -- tracker ---------------------------------------------------------------------------------


def test_tracker_is_registered_as_a_builtin_plugin():
    registered = []
    mediapipe_tracker.register_face_trackers(register=registered.append)
    assert registered == [MediapipeTracker] and MediapipeTracker.name == "mediapipe"
    assert "lipdub.faces.mediapipe_tracker" in plugins.DEFAULT_PLUGINS


def test_finds_the_astronaut_with_a_full_mesh(tracker, astronaut):
    tracker.reset()
    faces = tracker.detect(astronaut)
    assert len(faces) == 1
    face = faces[0]
    assert face.landmarks.shape == (468, 2) and face.landmarks.dtype == np.float32
    assert np.allclose(face.box, landmarks_box(face.landmarks))
    assert inside(box_center(face.box), ASTRONAUT_FACE)
    x1, y1, x2, y2 = face.box
    assert 70 < x2 - x1 < 130 and 80 < y2 - y1 < 140


@pytest.mark.parametrize("kind", ["blank", "noise"])
def test_no_face_in_blank_or_noise(tracker, kind):
    tracker.reset()
    rng = np.random.default_rng(0)
    frame = (
        np.full((360, 640, 3), 128, np.uint8)
        if kind == "blank"
        else rng.integers(0, 256, (360, 640, 3), dtype=np.uint8)
    )
    assert tracker.detect(frame) == []
    assert tracker.detect(frame) == []


def test_finds_a_small_face_in_a_wide_frame(tracker, astronaut):
    # A ~45 px wide face in 1280x720: too small for the whole-frame detectors.
    tracker.reset()
    frame = np.full((720, 1280, 3), 90, np.uint8)
    place(frame, astronaut, 800, 300, 0.4)
    faces = tracker.detect(frame)
    assert len(faces) == 1 and faces[0].landmarks is not None
    cx, cy = box_center(faces[0].box)  # the face centre is at (225, 123) in the picture
    assert abs(cx - (800 + 0.4 * 225)) < 10 and abs(cy - (300 + 0.4 * 123)) < 10


def test_follows_a_moving_face_and_resets(tracker, astronaut):
    tracker.reset()
    centres = []
    for step in range(24):
        frame = np.full((480, 854, 3), 70, np.uint8)
        place(frame, astronaut, 100 + 6 * step, 0)
        faces = tracker.detect(frame)
        assert len(faces) == 1 and faces[0].landmarks is not None
        centres.append(box_center(faces[0].box)[0] - 6 * step)
    assert np.ptp(centres) < 6  # the face is followed pixel for pixel
    tracker.reset()
    assert len(tracker.detect(astronaut)) == 1


def test_close_then_detect_again(astronaut):
    tracker = MediapipeTracker(max_faces=1)
    assert len(tracker.detect(astronaut)) == 1
    tracker.close()
    assert len(tracker.detect(astronaut)) == 1
    tracker.close()


def test_rejects_a_frame_that_is_not_rgb(tracker):
    with pytest.raises(InputError):
        tracker.detect(np.zeros((10, 10), np.uint8))


# -- selection on real detections ------------------------------------------------------------


@pytest.fixture(scope="module")
def two_face_detections(tracker, astronaut):
    tracker.reset()
    frame = two_faces(astronaut)
    found = [tracker.detect(frame) for _ in range(3)]
    tracker.reset()
    return found, (frame.shape[1], frame.shape[0])


def test_tracker_finds_both_faces(two_face_detections):
    detections, _ = two_face_detections
    assert all(len(faces) == 2 for faces in detections)
    assert all(face.landmarks is not None for faces in detections for face in faces)


@pytest.mark.parametrize(
    ("mode", "expected_side"),
    [("largest", "left"), ("center", "right"), ("0", "left"), ("1", "right"), (1, "right")],
)
def test_select_by_mode(two_face_detections, mode, expected_side):
    detections, size = two_face_detections
    chosen = select_faces(detections, [0, 0, 0], mode, size)
    assert all(face is not None for face in chosen)
    xs = [box_center(face.box)[0] for face in chosen]
    assert all((x < 512) == (expected_side == "left") for x in xs)


def test_select_face_number_beyond_the_faces_gives_none(two_face_detections):
    detections, size = two_face_detections
    assert select_faces(detections, [0, 0, 0], "2", size) == [None, None, None]


@pytest.mark.parametrize("mode", ["biggest", "-1", "", "1.5", -2])
def test_invalid_face_mode(mode):
    with pytest.raises(
        InputError, match="--face must be largest, center, speaker, a face number or an image"
    ):
        select_faces([[]], [0], mode, (100, 100))


# -- selection identity on synthetic tracks --------------------------------------------------


def square(cx: float, cy: float, side: float) -> Face:
    return Face(box=(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2))


def test_selection_keeps_the_same_person_within_a_shot():
    # Person A (left) is the larger all along except in frame 5, where B (right) swells up;
    # A is missed in frames 7-8.
    frames = []
    for i in range(12):
        a = square(200 + i, 200, 100)
        b = square(600, 200, 140 if i == 5 else 60)
        frames.append([b] if i in (7, 8) else [b, a])
    chosen = select_faces(frames, [0] * 12, "largest", (800, 400))
    assert chosen[7] is None and chosen[8] is None
    for i, face in enumerate(chosen):
        if i not in (7, 8):
            assert box_center(face.box)[0] == pytest.approx(200 + i)


def test_selection_chooses_again_in_each_shot():
    left_big = [square(200, 200, 120), square(600, 200, 60)]
    right_big = [square(200, 200, 60), square(600, 200, 120)]
    chosen = select_faces([left_big] * 3 + [right_big] * 3, [0, 0, 0, 1, 1, 1], "largest")
    assert [box_center(f.box)[0] for f in chosen] == [200] * 3 + [600] * 3


# -- smoothing -------------------------------------------------------------------------------


def noisy_track(count: int, rng: np.random.Generator, x: float = 300.0) -> list[Face]:
    base = np.array([x, 200.0, x + 100, 300.0])
    faces = []
    for _ in range(count):
        jitter = rng.normal(0, 3, 2)
        faces.append(Face(box=tuple(base + np.tile(jitter, 2))))
    return faces


def test_smoothing_removes_jitter():
    rng = np.random.default_rng(1)
    faces = noisy_track(100, rng)
    smoothed = smooth_track(faces, [0] * 100, fps=25)
    raw_std = np.std([box_center(f.box) for f in faces], axis=0)
    new_std = np.std([box_center(f.box) for f in smoothed[5:-5]], axis=0)
    assert np.all(new_std < raw_std / 2.5)


def test_smoothing_never_blends_across_a_cut():
    rng = np.random.default_rng(2)
    faces = noisy_track(30, rng, x=100) + noisy_track(30, rng, x=500)
    shots = [0] * 30 + [1] * 30
    smoothed = smooth_track(faces, shots, fps=25)
    assert smoothed[30].box == pytest.approx(faces[30].box)
    assert smoothed[29].box == pytest.approx(faces[29].box)
    assert all(f.box[0] > 480 for f in smoothed[30:])


def test_smoothing_has_no_lag_on_motion():
    faces = [square(100 + 4 * i, 200, 100) for i in range(40)]
    smoothed = smooth_track(faces, [0] * 40, fps=25)
    for raw, new in zip(faces, smoothed, strict=True):
        assert new.box == pytest.approx(raw.box, abs=1e-3)


def test_smoothing_keeps_gaps_and_mouth_motion():
    rng = np.random.default_rng(3)
    template = rng.uniform(0, 100, (468, 2)).astype(np.float32)
    faces: list[Face | None] = []
    for i in range(50):
        points = template + rng.normal(0, 1.5, 2).astype(np.float32)  # whole-face jitter
        points[lm.LOWER_LIP_INNER_MID, 1] += 8 * np.sin(2 * np.pi * i / 6)  # talking
        faces.append(None if i == 20 else Face(box=landmarks_box(points), landmarks=points))
    smoothed = smooth_track(faces, [0] * 50, fps=25)
    assert smoothed[20] is None

    def opening(track):
        return [f.landmarks[lm.LOWER_LIP_INNER_MID, 1] - f.landmarks[:, 1].mean() for f in track]

    assert np.ptp(opening(smoothed[25:45])) > 0.8 * np.ptp(opening(faces[25:45]))
    shift = [f.landmarks[lm.NOSE_TIP] - template[lm.NOSE_TIP] for f in smoothed[25:45]]
    raw_shift = [f.landmarks[lm.NOSE_TIP] - template[lm.NOSE_TIP] for f in faces[25:45]]
    assert np.std(shift) < np.std(raw_shift) / 2


def test_long_runs_smooth_in_chunks_with_the_same_result(monkeypatch) -> None:
    """A long run is smoothed a chunk at a time (bounded memory): small chunks give exactly
    what one chunk gives, at the run's ends too."""
    from lipdub.faces import smoothing

    rng = np.random.default_rng(4)
    template = rng.uniform(0, 100, (468, 2)).astype(np.float32)
    faces = []
    for i in range(61):
        points = template + rng.normal(0, 1.5, 2).astype(np.float32) + np.float32(i)
        faces.append(Face(box=landmarks_box(points), landmarks=points))
    whole = smooth_track(faces, [0] * 61, fps=25)
    monkeypatch.setattr(smoothing, "SMOOTH_CHUNK", 7)
    for one, other in zip(smooth_track(faces, [0] * 61, fps=25), whole, strict=True):
        np.testing.assert_array_equal(one.landmarks, other.landmarks)


# -- the Wav2Lip crop box --------------------------------------------------------------------


def test_wav2lip_box_frames_the_lower_face(tracker, astronaut):
    tracker.reset()
    (face,) = tracker.detect(astronaut)
    x1, y1, x2, y2 = wav2lip_box(face, (0, 0, 0, 0), (512, 512))
    points = face.landmarks

    def rel_y(index: int) -> float:
        return (points[index][1] - y1) / (y2 - y1)

    assert 0.35 < rel_y(lm.NOSE_TIP) < 0.55
    assert 0.5 < rel_y(lm.UPPER_LIP_INNER_MID) < rel_y(lm.LOWER_LIP_INNER_MID) < 0.85
    assert all(inside(points[i], (x1, y1, x2, y2), 1) for i in lm.LIPS_OUTER + lm.JAW_CONTOUR)
    padded = wav2lip_box(face, (0, 10, 0, 0), (512, 512))
    assert padded == pytest.approx((x1, y1, x2, y2 + 10))


def test_wav2lip_box_pads_and_clips_without_landmarks():
    face = Face(box=(5.0, 20.0, 60.0, 90.0))
    assert wav2lip_box(face, (4, 10, 8, 2), (64, 96)) == (0.0, 16.0, 62.0, 96.0)
    assert wav2lip_box(face, (0, 10, 0, 0)) == (5.0, 20.0, 60.0, 100.0)


def test_the_tracker_starts_without_matplotlib_and_mediapipe_can_still_draw() -> None:
    """mediapipe's drawing helpers (and matplotlib, over a second of every dub's start) are
    not imported to track faces; code that draws with mediapipe afterwards still can."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from skimage import data\n"
        "from lipdub.faces.mediapipe_tracker import MediapipeTracker\n"
        "tracker = MediapipeTracker()\n"
        "faces = tracker.detect(np.ascontiguousarray(data.astronaut()))\n"
        "tracker.close()\n"
        "print(len(faces), 'matplotlib.pyplot' in sys.modules)\n"
        "import mediapipe as mp\n"
        "spec = mp.solutions.drawing_utils.DrawingSpec(color=(1, 2, 3))\n"
        "from mediapipe.python.solutions import drawing_styles\n"
        "print(spec.color, len(drawing_styles.get_default_face_mesh_contours_style()) > 0)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["1", "False", "(1,", "2,", "3)", "True"]


def test_landmarks_read_from_wire_bytes_equal_the_points() -> None:
    """The tracker reads a face's 468 landmarks from their serialised bytes at once; the
    result is the points', and a landmark list with other fields set is read point by point."""
    from mediapipe.framework.formats import landmark_pb2

    rng = np.random.default_rng(3)
    values = rng.uniform(-0.2, 1.2, (468, 3)).astype(np.float32)
    landmarks = landmark_pb2.NormalizedLandmarkList()
    for x, y, z in values.tolist():
        landmarks.landmark.add(x=x, y=y, z=z)
    assert np.array_equal(mediapipe_tracker.landmark_coords(landmarks), values[:, :2])
    landmarks.landmark[7].visibility = 0.5
    assert np.array_equal(mediapipe_tracker.landmark_coords(landmarks), values[:, :2])
    empty = landmark_pb2.NormalizedLandmarkList()
    assert mediapipe_tracker.landmark_coords(empty).shape == (0, 2)
