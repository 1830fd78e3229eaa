"""The face-alignment tracker plugin: seeded S3FD and FAN weights in the public layout (no
download), the 68-point path, the exact S3FD-plus-pads Wav2Lip box, and weight errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("face_alignment")

import lipdub_face_alignment.plugin as fa_plugin  # noqa: E402
from lipdub_face_alignment.testing import write_seeded_weights  # noqa: E402
from lipdub_face_alignment.tracker import FaceAlignmentTracker  # noqa: E402
from lipdub_face_alignment.weights import FAN_FILES, S3FD  # noqa: E402

from lipdub.errors import CheckpointError, InputError, WeightsMissingError  # noqa: E402
from lipdub.faces.boxes import wav2lip_box  # noqa: E402
from lipdub.faces.smoothing import smooth_track  # noqa: E402
from lipdub.plugins import components  # noqa: E402
from lipdub.testing import (  # noqa: E402
    check_tracker,
    isolated_plugins,  # noqa: F401 - fixture
    lipdub_plugins,  # noqa: F401 - fixture
)
from lipdub.types import Face  # noqa: E402
from tests.conftest import (  # noqa: E402
    astronaut_face,
    make_talking_head,
    run_ffmpeg,
    speech_like,
    write_wav,
)

#: Where the stand-in detector puts the face in the 256 x 256 astronaut crop.
STAND_IN_BOX = (60.0, 40.0, 196.0, 200.0)


@pytest.fixture(scope="module")
def seeded_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """S3FD and 2D-FAN state dicts from the package's own classes, seeded, saved under the
    public file names (a folder laid out like lipdub's model cache)."""
    return write_seeded_weights(tmp_path_factory.mktemp("fa-models"))


@pytest.fixture
def weights_home(seeded_weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """LIPDUB_HOME whose model cache holds the seeded files; an empty torch hub cache."""
    models = tmp_path / "home" / "models"
    models.mkdir(parents=True)
    for path in seeded_weights.iterdir():
        (models / path.name).symlink_to(path)
    monkeypatch.setenv("LIPDUB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return models


@pytest.fixture
def stand_in_detector(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """S3FD (one frame or a batch) replaced by a fixed box (seeded S3FD finds nothing);
    counts the frames it saw."""
    calls: list[int] = []

    def boxes(self, frame):
        calls.append(1)
        return [(STAND_IN_BOX, 0.99)]

    def batch(self, frames):
        return [boxes(self, frame) for frame in frames]

    monkeypatch.setattr(FaceAlignmentTracker, "detector_boxes", boxes)
    monkeypatch.setattr(FaceAlignmentTracker, "detector_boxes_batch", batch)
    return calls


def test_registered_with_typed_options(isolated_plugins, lipdub_plugins) -> None:  # noqa: F811
    lipdub_plugins.register(fa_plugin, name="face-alignment-test")
    entry = components("face_trackers")["face-alignment"]
    tracker = entry.cls({"threshold": "0.7", "batch_size": "4", "landmark_model": "2.5d"})
    assert (tracker.options.threshold, tracker.options.batch_size) == (0.7, 4)
    with pytest.raises(InputError, match="landmark_model"):
        entry.cls({"landmark_model": "3d"})
    with pytest.raises(InputError, match="device"):
        entry.cls({"device": "tpu"})


def test_s3fd_registered_for_pull_with_the_published_digest(
    isolated_plugins,  # noqa: F811
    lipdub_plugins,  # noqa: F811
) -> None:
    from lipdub.weights.registry import get_spec

    lipdub_plugins.register(fa_plugin, name="face-alignment-test")
    spec = get_spec("s3fd")
    assert spec.filename == "s3fd-619a316812.pth" and spec.size == 89_843_225
    assert spec.sha256.startswith("619a31681264d3f7")


def test_fan_registered_for_pull_with_its_digest_prefix(
    isolated_plugins,  # noqa: F811
    lipdub_plugins,  # noqa: F811
) -> None:
    from lipdub.weights.registry import get_spec

    lipdub_plugins.register(fa_plugin, name="face-alignment-test")
    spec = get_spec("fan-2d")
    assert spec.filename == FAN_FILES["2d"] and spec.sha256 == "11f355bf06"
    assert spec.urls == ("https://www.adrianbulat.com/downloads/python-fan/" + spec.filename,)
    assert get_spec("fan-2.5d").sha256 == "7835d9f11d"


def test_missing_weights_is_one_line_naming_the_pull_command(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(WeightsMissingError) as caught:
        FaceAlignmentTracker(device="cpu").load()
    message = str(caught.value)
    assert "lipdub models pull s3fd" in message and "\n" not in message


def test_missing_fan_names_its_file(weights_home: Path) -> None:
    (weights_home / FAN_FILES["2d"]).unlink()
    with pytest.raises(WeightsMissingError, match="2DFAN4-11f355bf06.*models pull fan-2d"):
        FaceAlignmentTracker(device="cpu").load()


def test_other_weights_make_another_analysis_cache_key(weights_home: Path, tmp_path: Path) -> None:
    from lipdub.pipeline.analysis_cache import analysis_key

    video = tmp_path / "clip.mp4"
    video.write_bytes(b"same content")
    key = analysis_key(video, FaceAlignmentTracker(device="cpu"), 25.0, 27.0)
    assert key == analysis_key(video, FaceAlignmentTracker(device="cpu"), 25.0, 27.0)
    detector = weights_home / S3FD.filename
    replaced = detector.read_bytes()[:-1] + b"x"  # other S3FD weights under the same name
    detector.unlink()
    detector.write_bytes(replaced)
    assert key != analysis_key(video, FaceAlignmentTracker(device="cpu"), 25.0, 27.0)


def test_wrong_detector_weights_are_one_line(weights_home: Path) -> None:
    path = weights_home / S3FD.filename
    path.unlink()
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError) as caught:
        FaceAlignmentTracker(device="cpu").load()
    message = str(caught.value)
    assert "lipdub models pull s3fd" in message and "\n" not in message


def test_wrong_landmark_weights_are_one_line(weights_home: Path) -> None:
    import torch

    path = weights_home / FAN_FILES["2d"]
    path.unlink()
    torch.save({"conv1.weight": torch.zeros(1)}, path)
    with pytest.raises(CheckpointError, match="2DFAN-4") as caught:
        FaceAlignmentTracker(device="cpu").load()
    assert "\n" not in str(caught.value)


def test_seeded_s3fd_and_fan_run_on_cpu(weights_home: Path) -> None:
    tracker = FaceAlignmentTracker(device="cpu", flip_input=False)
    frame = astronaut_face(256)
    found = tracker.detector_boxes(frame)  # the real S3FD network and post-processing
    assert all(len(box) == 4 and 0 <= score <= 1 for box, score in found)
    points = tracker._landmarks(frame, [STAND_IN_BOX])
    assert points[0].shape == (68, 2) and np.isfinite(points[0]).all()


def test_68_point_faces_carry_regions_and_the_exact_wav2lip_box(
    weights_home: Path, stand_in_detector: list[int]
) -> None:
    tracker = FaceAlignmentTracker(device="cpu", flip_input=False)
    faces = tracker.detect(astronaut_face(256))
    assert len(faces) == 1
    face = faces[0]
    assert face.landmarks.shape == (68, 2) and face.detector_box == STAND_IN_BOX
    points = face.regions.points
    assert (points >= 0).all() and (points[:, 0] <= 256).all() and (points[:, 1] <= 256).all()
    x1, y1, x2, y2 = STAND_IN_BOX
    assert wav2lip_box(face, (0, 10, 0, 0), (256, 256)) == (x1, y1, x2, y2 + 10)
    assert wav2lip_box(face, (0, 100, 5, 0), (256, 256)) == (x1 - 5, y1, x2, 256.0)


def test_keeps_the_tracker_contract(weights_home: Path, stand_in_detector: list[int]) -> None:
    frame = astronaut_face(256)
    frames = [frame, frame[:, 30:], np.ascontiguousarray(frame[::-1])]
    assert check_tracker(FaceAlignmentTracker(device="cpu", flip_input=False), frames) == 3


@pytest.mark.slow
def test_detect_every_follows_a_still_face_between_s3fd_passes(
    weights_home: Path, stand_in_detector: list[int]
) -> None:
    tracker = FaceAlignmentTracker(device="cpu", flip_input=False, detect_every=2)
    frame = astronaut_face(256)
    faces = [tracker.detect(frame)[0] for _ in range(3)]
    assert len(stand_in_detector) == 2  # frames 0 and 2; frame 1 follows the landmarks
    assert all(np.allclose(face.detector_box, STAND_IN_BOX, atol=1e-3) for face in faces)
    tracker.reset()
    tracker.detect(frame)
    assert len(stand_in_detector) == 3


def test_smoothing_carries_the_detector_box() -> None:
    faces = [Face(box=(0, 0, 10, 10), detector_box=(float(i), 0.0, 10.0, 10.0)) for i in range(5)]
    faces.append(Face(box=(0, 0, 10, 10)))
    smoothed = smooth_track(faces, [0] * 6, fps=25.0)
    assert smoothed[0].detector_box == (0.0, 0.0, 10.0, 10.0)
    assert smoothed[2].detector_box == pytest.approx((2.0, 0.0, 10.0, 10.0))
    assert smoothed[5].detector_box is None


@pytest.mark.slow
def test_dub_with_the_face_alignment_tracker(
    weights_home: Path,
    stand_in_detector: list[int],
    isolated_plugins,  # noqa: F811
    lipdub_plugins,  # noqa: F811
    tmp_path: Path,
) -> None:
    from lipdub.cli.app import main

    lipdub_plugins.register(fa_plugin, name="face-alignment-test")
    video = make_talking_head(tmp_path / "face.mp4", seconds=0.4)
    audio = write_wav(tmp_path / "speech.wav", speech_like(0.4))
    out = tmp_path / "dub.mp4"
    args = [str(video), "--audio", str(audio), "-o", str(out), "-g", "warp", "-q"]
    args += ["--tracker", "face-alignment", "--option", "tracker.flip_input=false"]
    args += ["--option", "tracker.device=cpu"]
    assert main(args) == 0
    assert out.is_file() and out.stat().st_size > 0
    assert stand_in_detector  # the plugin's tracker ran
    calls = len(stand_in_detector)
    report = tmp_path / "eval.json"
    args = [str(out), "-m", "agreement", "--tracker", "face-alignment", "-o", str(report), "-q"]
    assert main(["eval", *args, "--no-plots"]) == 0
    assert json.loads(report.read_text())["videos"][0]["face_frames"] == 10
    assert len(stand_in_detector) > calls


@pytest.mark.slow
def test_preprocess_with_the_face_alignment_tracker(
    weights_home: Path,
    stand_in_detector: list[int],
    isolated_plugins,  # noqa: F811
    lipdub_plugins,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lipdub.cli.app import main

    lipdub_plugins.register(fa_plugin, name="face-alignment-test")
    landmarks, seen = FaceAlignmentTracker._landmarks, []

    def once(self, frame, boxes):  # FAN runs once on CPU; later frames reuse its points
        seen.append(1)
        if len(seen) == 1:
            once.points = landmarks(self, frame, boxes)
        return once.points

    monkeypatch.setattr(FaceAlignmentTracker, "_landmarks", once)
    head = make_talking_head(tmp_path / "head.mp4", seconds=1.2)
    audio = write_wav(tmp_path / "speech.wav", speech_like(1.2))
    (tmp_path / "videos").mkdir()
    run_ffmpeg("-i", str(head), "-i", str(audio), "-c:v", "copy", "-c:a", "aac",
               str(tmp_path / "videos" / "talk.mp4"))  # fmt: skip
    data = tmp_path / "data"
    args = ["train", "preprocess", str(tmp_path / "videos"), "-o", str(data), "-q"]
    assert main([*args, "--tracker", "face-alignment"]) == 0
    (clip,) = json.loads((data / "manifest.json").read_text())["clips"]
    assert clip["faces"] == clip["frames"] == 30 and len(seen) >= 30


@pytest.mark.slow
def test_detect_batch_runs_s3fd_once_on_the_due_frames(
    weights_home: Path, stand_in_detector: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []

    def boxes(self, frames):
        batches.append(len(frames))
        return [[(STAND_IN_BOX, 0.99)] for _ in frames]

    monkeypatch.setattr(FaceAlignmentTracker, "detector_boxes_batch", boxes)
    tracker = FaceAlignmentTracker(device="cpu", flip_input=False, detect_every=2)
    frame = astronaut_face(256)
    batched = tracker.detect_batch([frame] * 3)
    assert batches == [2] and not stand_in_detector  # frames 0 and 2 in one S3FD pass
    tracker.reset()
    alone = [tracker.detect(frame) for _ in range(3)]
    for one, other in zip(alone, batched, strict=True):
        assert np.allclose(one[0].regions.points, other[0].regions.points, atol=0.5)


def test_first_pass_groups_frames_within_shots() -> None:
    from lipdub.components import FaceTracker
    from lipdub.pipeline.analysis import detect

    class Grouped(FaceTracker):
        name = "grouped"
        frames_per_batch = 3

        def __init__(self) -> None:
            super().__init__()
            self.calls: list[object] = []

        def detect(self, frame):
            return [Face(box=(10.0, 10.0, 50.0, 50.0))]

        def detect_batch(self, frames):
            self.calls.append(len(frames))
            return super().detect_batch(frames)

        def reset(self) -> None:
            self.calls.append("reset")

    dark, bright = np.full((64, 64, 3), 20, np.uint8), np.full((64, 64, 3), 230, np.uint8)
    tracker = Grouped()
    found = detect([dark] * 4 + [bright] * 2, tracker, fps=2.0)  # shots of 1 frame+
    assert found.shots == [0, 0, 0, 0, 1, 1] and all(
        len(found.faces_in(i)) == 1 for i in range(found.n_frames)
    )
    assert tracker.calls == ["reset", 3, 1, "reset", 2]  # the cut ends the first group
