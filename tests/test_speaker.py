"""Face tracks with identity, ``--face speaker``/``N``/image, honest outcomes, ``lipdub faces``.

The clips are made here: the astronaut made to talk to audio X by the warp generator, beside a
mirrored, recoloured copy that stays still (or the other way round), with X as the clip's audio.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from lipdub.cli.app import main
from lipdub.media.probe import probe
from lipdub.media.reader import VideoReader
from lipdub.pipeline.dub import DubRequest, dub
from tests.conftest import make_talking_head, run_ffmpeg, speech_like, write_wav

pytestmark = pytest.mark.slow
RECOLOUR = "hflip,hue=h=60:s=1.3"
HALF = 256


def _encode(out: Path, inputs: list[Path], graph: str, audio: bool = True) -> Path:
    args = [a for path in inputs for a in ("-i", str(path))]
    maps = ["-map", "[v]"] + (["-map", f"{len(inputs) - 1}:a", "-c:a", "aac"] if audio else [])
    run_ffmpeg(*args, "-filter_complex", graph, *maps, "-c:v", "libx264", "-crf", "12",
               "-pix_fmt", "yuv420p", "-shortest", str(out))  # fmt: skip
    return out


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``two``: left talks to X; ``swap``: right talks; ``other``: the recoloured copy talks
    (left), the astronaut is still (right); ``cut``: ``two`` then ``other``; ``still``: nobody
    talks; ``silent``: ``two`` without audio; plus the audio ``x``, ``y``, ``y4`` (4 s)."""
    work = tmp_path_factory.mktemp("speaker")
    x = write_wav(work / "x.wav", speech_like(2.0, seed=1))
    y = write_wav(work / "y.wav", speech_like(2.0, seed=7))
    y4 = write_wav(work / "y4.wav", speech_like(4.0, seed=7))
    face = make_talking_head(work / "face.mp4")
    recoloured = _encode(work / "recoloured.mp4", [face], f"[0:v]{RECOLOUR}[v]", audio=False)
    talk, talk_r = work / "talk.mp4", work / "talk_r.mp4"
    for source, out in ((face, talk), (recoloured, talk_r)):
        assert main([str(source), "--audio", str(x), "-g", "warp", "-o", str(out), "-q"]) == 0
    c = {"x": x, "y": y, "y4": y4, "face": face}
    right = f"[1:v]{RECOLOUR}[r]"
    c["two"] = _encode(work / "two.mp4", [talk, face, x], f"{right};[0:v][r]hstack[v]")
    c["swap"] = _encode(work / "swap.mp4", [talk, face, x], f"{right};[r][0:v]hstack[v]")
    c["other"] = _encode(work / "other.mp4", [talk_r, face, x], "[0:v][1:v]hstack[v]")
    c["still"] = _encode(work / "still.mp4", [face, face, x], f"{right};[0:v][r]hstack[v]")
    c["silent"] = _encode(work / "silent.mp4", [c["two"]], "[0:v]null[v]", audio=False)
    c["cut"] = work / "cut.mp4"
    run_ffmpeg("-i", str(c["two"]), "-i", str(c["other"]), "-filter_complex",
               "[0:v][0:a][1:v][1:a]concat=n=2:v=1:a=1[v][a]", "-map", "[v]", "-map", "[a]",
               "-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p", "-c:a", "aac",
               str(c["cut"]))  # fmt: skip
    return c


def frames_of(path: Path) -> np.ndarray:
    return np.stack(list(VideoReader(path).frames())).astype(np.float32)


def run_dub(clips, name: str, tmp_path: Path, face: str = "speaker", audio: str = "y"):
    request = DubRequest(
        video=clips[name], audio=clips[audio], output=tmp_path / f"{name}.mp4", generator="warp",
        face=face,
    )  # fmt: skip
    return dub(request)


@pytest.mark.parametrize(
    ("name", "talker"), [("two", "left"), ("swap", "right"), ("other", "left")]
)
def test_speaker_redraws_only_the_face_that_talks(clips, tmp_path, name, talker) -> None:
    summary = run_dub(clips, name, tmp_path)
    (choice,) = summary.shot_choices
    assert choice.score is not None and choice.score >= 0.5 and choice.note is None
    source, dubbed = frames_of(clips[name]), frames_of(summary.output)
    assert dubbed.shape == source.shape and summary.dubbed_frames == len(source)
    kept, moved = halves(np.abs(dubbed - source).mean(axis=3), talker)
    assert kept.mean() < 2.5 and np.percentile(kept, 99.9) < 12  # re-encoding only
    assert np.percentile(moved, 99.9) > 30  # the speaker's mouth was redrawn


def halves(diff: np.ndarray, talker: str) -> tuple[np.ndarray, np.ndarray]:
    """``diff`` (T, H, W) split into the still face's half and the talker's half."""
    left, right = diff[:, :, :HALF], diff[:, :, HALF:]
    return (right, left) if talker == "left" else (left, right)


def test_largest_would_pick_the_still_face_in_other(clips, tmp_path) -> None:
    # the measurement behind the default: the still astronaut is the larger face here
    summary = run_dub(clips, "other", tmp_path, face="largest")
    kept, moved = halves(
        np.abs(frames_of(summary.output) - frames_of(clips["other"])).mean(3), "right"
    )
    assert np.percentile(moved, 99.9) > 30 and np.percentile(kept, 99.9) < 12


def test_chosen_track_changes_at_the_cut(clips, tmp_path) -> None:
    summary = run_dub(clips, "cut", tmp_path, audio="y4")
    assert summary.shots == 2
    first, second = summary.shot_choices
    assert first.track != second.track
    assert first.score > 0.5 and second.score > 0.5


def test_track_ids_follow_the_person_across_shots(clips) -> None:
    from lipdub.faces.mediapipe_tracker import MediapipeTracker
    from lipdub.pipeline.analysis import detect

    reader = VideoReader(clips["cut"])
    tracks = detect(reader.frames(), MediapipeTracker(), reader.fps).tracks()
    seen = {(t.shot, t.id): t.mean_x < HALF for t in tracks if t.frames > 10}
    # shot 0: astronaut left, copy right; shot 1: copy left, astronaut right
    assert seen == {(0, 0): True, (0, 1): False, (1, 1): True, (1, 0): False}
    again = detect(VideoReader(clips["cut"]).frames(), MediapipeTracker(), reader.fps).tracks()
    assert [(t.shot, t.id, t.frames) for t in again] == [(t.shot, t.id, t.frames) for t in tracks]


@pytest.mark.parametrize(
    ("name", "note"),
    [("still", "no face moves with the source audio"), ("silent", "the source has no audio")],
)
def test_speaker_falls_back_to_the_largest_face_and_says_so(clips, tmp_path, name, note) -> None:
    summary = run_dub(clips, name, tmp_path)
    (choice,) = summary.shot_choices
    assert choice.track is not None and choice.score is None and note in choice.note


def test_summary_lists_the_chosen_track_per_shot(clips, tmp_path, capsys) -> None:
    out = tmp_path / "out.mp4"
    args = [str(clips["two"]), "--audio", str(clips["y"]), "-g", "warp", "-o", str(out)]
    assert main([*args, "--face", "speaker"]) == 0
    err = capsys.readouterr().err
    assert "shot 0: track 0 (score 0.9" in err


def test_face_number_beyond_the_faces_is_an_error(clips, tmp_path, capsys) -> None:
    out = tmp_path / "out.mp4"
    code = main([str(clips["two"]), "--audio", str(clips["y"]), "--face", "5", "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "2 faces found" in err and "Traceback" not in err
    assert not out.exists()


def test_nothing_to_redraw_is_an_error_unless_allowed(tmp_path, clips, capsys) -> None:
    blank = tmp_path / "blank.mp4"
    run_ffmpeg("-f", "lavfi", "-i", "color=c=gray:s=128x128:r=25:d=1", "-c:v", "libx264",
               "-pix_fmt", "yuv420p", str(blank))  # fmt: skip
    out = tmp_path / "out.mp4"
    args = [str(blank), "--audio", str(clips["y"]), "-g", "warp", "-o", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "no face to redraw" in err and "--allow-no-face" in err and "Traceback" not in err
    assert not out.exists()
    assert main([*args, "--allow-no-face", "-q"]) == 0 and probe(out).has_video


def test_reference_image_picks_that_person(clips, tmp_path) -> None:
    frame = next(VideoReader(clips["two"]).frames())
    ref = tmp_path / "ref.jpg"
    cv2.imwrite(str(ref), cv2.cvtColor(frame[:, HALF:], cv2.COLOR_RGB2BGR))  # the still copy
    summary = run_dub(clips, "two", tmp_path, face=str(ref))
    (choice,) = summary.shot_choices
    assert choice.track == 1
    dubbed, source = frames_of(summary.output), frames_of(clips["two"])
    kept, moved = halves(np.abs(dubbed - source).mean(axis=3), "right")
    assert kept.mean() < 2.5 and np.percentile(kept, 99.9) < 12
    assert np.percentile(moved, 99.9) > 30


def test_missing_reference_image_is_an_error(clips, tmp_path, capsys) -> None:
    args = [str(clips["two"]), "--audio", str(clips["y"]), "--face", str(tmp_path / "no.jpg")]
    assert main(args) == 2
    assert "no such image" in capsys.readouterr().err


def test_faces_command_lists_tracks_and_writes_a_sheet(clips, tmp_path, capsys) -> None:
    sheet = tmp_path / "sheet.png"
    assert main(["faces", str(clips["two"]), "--sheet", str(sheet), "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert [row["id"] for row in listing["tracks"]] == [0, 1]
    scores = [row["speaking_score"] for row in listing["tracks"]]
    assert scores[0] > 0.5 and (scores[1] is None or scores[1] < 0.3)
    image = cv2.imread(str(sheet))
    assert image is not None and image.shape[1] == 2 * 160
    assert main(["faces", str(clips["two"]), "--sheet", str(sheet)]) == 2  # exists


def test_syncnet_confidence_rates_the_moving_faces_when_its_weights_are_local(
    clips, tmp_path, monkeypatch
) -> None:
    from lipdub.eval.syncnet_files import SYNCNET_V2_FILENAME
    from lipdub.eval.syncnet_v2 import save_syncnet_v2, seeded_syncnet_v2
    from lipdub.pipeline import speaker_sync
    from lipdub.weights.registry import models_dir

    monkeypatch.setenv("LIPDUB_HOME", str(tmp_path / "home"))
    save_syncnet_v2(seeded_syncnet_v2(), models_dir() / SYNCNET_V2_FILENAME)
    monkeypatch.setattr(speaker_sync, "MIN_SYNC_CONFIDENCE", -np.inf)  # seeded: any score
    rated: dict[int, float] = {}
    score = speaker_sync.SyncNetTrackScorer.__call__

    def spy(self, tracks, frames):
        rated.update(score(self, tracks, frames))
        return rated

    monkeypatch.setattr(speaker_sync.SyncNetTrackScorer, "__call__", spy)
    summary = run_dub(clips, "two", tmp_path)
    (choice,) = summary.shot_choices
    assert len(rated) == 1 and np.isfinite(rated[choice.track])  # the still face is not rated
    assert choice.note == speaker_sync.SCORE_NAME and choice.score == rated[choice.track]
    diff = np.abs(frames_of(summary.output) - frames_of(clips["two"])).mean(3)
    kept, moved = halves(diff, "left")
    assert np.percentile(moved, 99.9) > 30 and np.percentile(kept, 99.9) < 12


@pytest.mark.parametrize(("score", "chosen"), [(0.9, "largest"), (1.1, "talker")])
def test_a_learned_score_below_its_threshold_falls_back_to_the_largest(
    clips, score, chosen
) -> None:
    from lipdub.faces.mediapipe_tracker import MediapipeTracker
    from lipdub.faces.speaker import SpeakerScoring
    from lipdub.media.audio import load_audio
    from lipdub.pipeline.analysis import analyse

    reader = VideoReader(clips["other"])  # the talker (left) is the smaller face
    scoring = SpeakerScoring(lambda tracks, frames: {t.id: score for t in tracks}, 1.0, "test")
    analysis = analyse(
        reader.frames(), MediapipeTracker(), reader.fps, face_mode="speaker",
        source_audio=load_audio(clips["other"], 16000), speaker_scoring=lambda audio: scoring,
    )  # fmt: skip
    (choice,) = analysis.choices
    talker = next(t for t in analysis.tracks if t.id == choice.track)
    assert (talker.mean_x < HALF) == (chosen == "talker")
    assert (choice.note == "test") == (chosen == "talker")
