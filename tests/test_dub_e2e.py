"""The main command end to end, measured the way a user sees the result."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lipdub.cli.app import main
from lipdub.media.probe import probe
from lipdub.media.reader import VideoReader
from tests.conftest import make_talking_head, run_ffmpeg, speech_like, write_wav

pytestmark = pytest.mark.slow


def frames_of(path: Path) -> np.ndarray:
    return np.stack(list(VideoReader(path).frames())).astype(np.int16)


@pytest.fixture(scope="module")
def neural_dub(talking_head: Path, speech_wav: Path, seeded_checkpoint: Path, media_dir: Path):
    out = media_dir / "neural_dub.mp4"
    code = main(
        [
            str(talking_head),
            "--audio",
            str(speech_wav),
            "--checkpoint",
            str(seeded_checkpoint),
            "-g",
            "wav2lip",
            "-o",
            str(out),
            "-q",
            "--overwrite",
        ]
    )
    assert code == 0
    return out


def test_output_format_and_length(neural_dub: Path, talking_head: Path, speech_wav: Path) -> None:
    source, dubbed, audio = probe(talking_head), probe(neural_dub), probe(speech_wav)
    assert dubbed.has_video and dubbed.has_audio and dubbed.audio_codec == "aac"
    assert dubbed.video_codec == "h264"
    assert (dubbed.width, dubbed.height) == (source.width, source.height)
    assert dubbed.fps == pytest.approx(source.fps)
    assert dubbed.duration == pytest.approx(audio.duration, abs=0.08)
    assert "lipdub" in dubbed.metadata.get("comment", "")


def mouth_window(frame: np.ndarray) -> tuple[slice, slice]:
    """Rows and columns around the lips, found with the face mesh."""
    from lipdub.faces.landmarks import CHIN, FOREHEAD, LIPS_OUTER
    from lipdub.faces.mediapipe_tracker import MediapipeTracker

    tracker = MediapipeTracker()
    (face,) = tracker.detect(frame.astype(np.uint8))
    tracker.close()
    cx, cy = face.landmarks[list(LIPS_OUTER)].mean(axis=0)
    height = float(np.linalg.norm(face.landmarks[FOREHEAD] - face.landmarks[CHIN]))
    half_w, half_h = int(0.12 * height), int(0.07 * height)
    return slice(int(cy) - half_h, int(cy) + half_h), slice(int(cx) - half_w, int(cx) + half_w)


def test_only_the_mouth_changes(neural_dub: Path, talking_head: Path) -> None:
    source, dubbed = frames_of(talking_head), frames_of(neural_dub)
    n = len(source)  # the first pass of pingpong shows the source frames in order
    diff = np.abs(dubbed[:n] - source).mean(axis=(0, 3))
    size = diff.shape[0]
    top = diff[: size // 4].mean()  # forehead / background: untouched apart from re-encoding
    corners = np.r_[diff[:, : size // 8].ravel(), diff[:, -size // 8 :].ravel()].mean()
    rows, cols = mouth_window(source[0])
    mouth = diff[rows, cols].mean()
    assert top < 2.5 and corners < 2.5
    assert mouth > 8.0 and mouth > 4 * max(top, corners)


def test_still_image_input(tmp_path: Path, media_dir: Path, speech_wav: Path) -> None:
    from tests.conftest import astronaut_face

    image = tmp_path / "face.png"
    raw = tmp_path / "face.rgb"
    raw.write_bytes(astronaut_face(200).tobytes())
    run_ffmpeg("-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "200x200", "-i", str(raw), str(image))
    out = tmp_path / "still.mp4"
    assert (
        main(
            [
                str(image),
                "--audio",
                str(speech_wav),
                "-g",
                "warp",
                "--fps",
                "20",
                "-o",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    info = probe(out)
    assert (info.width, info.height, info.fps) == (200, 200, 20)
    assert info.duration == pytest.approx(3.0, abs=0.1)


def test_keep_policy_leaves_the_rest_untouched(tmp_path: Path, talking_head: Path) -> None:
    short = write_wav(tmp_path / "short.wav", speech_like(1.0, seed=3))
    out = tmp_path / "keep.mp4"
    assert (
        main(
            [
                str(talking_head),
                "--audio",
                str(short),
                "-g",
                "warp",
                "--fit",
                "keep",
                "-o",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    info = probe(out)
    assert info.duration == pytest.approx(2.0, abs=0.08) and info.has_audio
    source, dubbed = frames_of(talking_head), frames_of(out)
    assert len(dubbed) == len(source)
    assert np.abs(dubbed[30:] - source[30:]).mean() < 2.5  # re-encoding only


def test_frames_without_a_face_pass_through(tmp_path: Path, capsys) -> None:
    clip = make_talking_head(tmp_path / "face.mp4", seconds=1.2)
    blank = tmp_path / "blank.mp4"
    run_ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "color=c=gray:s=256x256:r=25:d=0.8",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        str(blank),
    )
    joined = tmp_path / "joined.mp4"
    run_ffmpeg(
        "-i",
        str(clip),
        "-i",
        str(blank),
        "-filter_complex",
        "[0:v][1:v]concat=n=2:v=1:a=0",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        str(joined),
    )
    audio = write_wav(tmp_path / "a.wav", speech_like(2.0, seed=5))
    out = tmp_path / "out.mp4"
    assert main([str(joined), "--audio", str(audio), "-g", "warp", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "20 without a face" in err
    assert probe(out).duration == pytest.approx(2.0, abs=0.08)
