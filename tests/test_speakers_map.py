"""Several speakers: ``--speakers map.csv`` / ``--audio-for TRACK=FILE`` drive each face track
with its own stem, ``--drive-audio`` drives the chosen face with a separate vocal stem.

The two-face clips are the astronaut (left, track 0) beside a mirrored, recoloured copy (right,
track 1); mouth openings are measured on the output with the tracker's regions and the stems'
loudness as the agreement metric measures it.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from lipdub.audio.samples import shifted
from lipdub.batch.pairing import read_manifest
from lipdub.cli.app import main
from lipdub.errors import InputError
from lipdub.eval.agreement import best_lag_correlation, loudness_per_frame
from lipdub.media.audio import load_audio
from lipdub.media.reader import VideoReader
from lipdub.pipeline.drive_audio import (
    parse_audio_for,
    read_speaker_map,
    speaker_map,
)
from tests.conftest import make_talking_head, run_ffmpeg, speech_like, write_wav

RECOLOUR = "hflip,hue=h=60:s=1.3"
HALF = 256
FPS = 25
RATE = 16000


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


# -- parsing (fast) ---------------------------------------------------------------------------


def test_audio_for_flags_parse_and_resolve(tmp_path) -> None:
    assert parse_audio_for(["0=a.wav", " 1 = b c.wav "]) == {0: Path("a.wav"), 1: Path("b c.wav")}
    assert parse_audio_for(["2=a.wav"], base=tmp_path) == {2: tmp_path / "a.wav"}


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("0", "expected TRACK=FILE"),
        ("=a.wav", "expected TRACK=FILE"),
        ("0=", "expected TRACK=FILE"),
        ("left=a.wav", "'left' is not a track id"),
        ("-1=a.wav", "is not a track id"),
    ],
)
def test_malformed_audio_for_is_an_input_error(flag, message) -> None:
    with pytest.raises(InputError, match=message):
        parse_audio_for([flag])


def test_track_given_twice_is_an_error() -> None:
    with pytest.raises(InputError, match="track 0 is given twice"):
        parse_audio_for(["0=a.wav", "0=b.wav"])


def test_speaker_map_csv_paths_are_relative_to_it(tmp_path) -> None:
    (tmp_path / "stems").mkdir()
    csv_path = _write_csv(
        tmp_path / "stems" / "map.csv",
        [["Track", "Audio"], ["0", "alice.wav"], ["# a comment", ""], [], ["1", "/abs/bob.wav"]],
    )
    assert read_speaker_map(csv_path) == {
        0: tmp_path / "stems" / "alice.wav",
        1: Path("/abs/bob.wav"),
    }


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["id", "file"], ["0", "a.wav"]], "needs a header row with track and audio"),
        ([["track", "audio"], ["x", "a.wav"]], "map.csv:2: track 'x' is not a track id"),
        ([["track", "audio"], ["0", ""]], "map.csv:2: the audio cell is empty"),
        ([["track", "audio"], ["0", "a.wav"], ["0", "b.wav"]], "map.csv:3: track 0 is given"),
        ([["track", "audio"]], "lists no tracks"),
    ],
)
def test_bad_speaker_map_is_an_input_error(tmp_path, rows, message) -> None:
    with pytest.raises(InputError, match=message):
        read_speaker_map(_write_csv(tmp_path / "map.csv", rows))


def test_audio_for_wins_over_the_map_and_files_must_exist(tmp_path) -> None:
    a, b = (write_wav(tmp_path / f"{n}.wav", np.zeros(160)) for n in "ab")
    csv_path = _write_csv(tmp_path / "map.csv", [["track", "audio"], ["0", "a.wav"]])
    assert speaker_map(csv_path, [f"0={b}", f"1={a}"]) == {0: b, 1: a}
    with pytest.raises(InputError, match="--audio-for 1=.*nope.wav: no such file"):
        speaker_map(None, [f"1={tmp_path / 'nope.wav'}"])
    with pytest.raises(InputError, match="--speakers .*: no such file"):
        speaker_map(tmp_path / "none.csv", None)
    with pytest.raises(InputError, match="--drive-audio drives the one chosen face"):
        speaker_map(None, [f"0={a}"], drive_audio=b)
    with pytest.raises(InputError, match="--drive-audio .*: no such file"):
        speaker_map(None, None, drive_audio=tmp_path / "nope.wav")
    assert speaker_map(None, None, drive_audio=b) == {}


def test_a_stem_is_cut_or_padded_with_silence_to_the_mix() -> None:
    wav = np.ones(5, np.float32)
    assert shifted(wav, 3)[:].tolist() == [1, 1, 1]
    assert shifted(wav, 7)[:].tolist() == [1, 1, 1, 1, 1, 0, 0]


def test_manifest_takes_speaker_columns_relative_to_it(tmp_path) -> None:
    manifest = _write_csv(
        tmp_path / "list.csv",
        [
            ["video", "audio", "output", "audio_for", "speakers", "drive_audio", "allow_no_face"],
            ["v.mp4", "mix.wav", "o.mp4", "0=a.wav; 1=/x/b.wav", "map.csv", "", "yes"],
            ["v.mp4", "mix.wav", "p.mp4", "", "", "voc.wav", "0"],
        ],
    )
    first, second = read_manifest(manifest, None).items
    assert first.options == {
        "allow_no_face": True,
        "speakers": tmp_path / "map.csv",
        "audio_for": [f"0={tmp_path / 'a.wav'}", "1=/x/b.wav"],
    }
    assert second.options == {"allow_no_face": False, "drive_audio": tmp_path / "voc.wav"}


# -- dubs on generated clips (slow) -----------------------------------------------------------


def _encode(out: Path, inputs: list[Path], graph: str) -> Path:
    args = [a for path in inputs for a in ("-i", str(path))]
    run_ffmpeg(*args, "-filter_complex", graph, "-map", "[v]", "-map", f"{len(inputs) - 1}:a",
               "-c:a", "aac", "-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p", "-shortest",
               str(out))  # fmt: skip
    return out


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``still``: two still faces, audio x; ``two``: the left face talks to x in the source;
    stems ``a``, ``b`` (a dialogue: they take turns every 0.5 s), ``mix`` (a + b),
    ``silence``, ``x``; ``face``: the one-face clip without audio.

    Turns, because two independent speech-like signals have correlated loudness (r = 0.37
    for these seeds, mostly their shared pauses), which a face following only its own stem
    shows against the other stem too."""
    work = tmp_path_factory.mktemp("speakers")
    turns = np.floor(np.arange(2 * RATE) / (0.5 * RATE)) % 2 == 0
    a, b = speech_like(2.0, seed=3) * turns, speech_like(2.0, seed=11) * ~turns
    m = {
        "a": write_wav(work / "a.wav", a),
        "b": write_wav(work / "b.wav", b),
        "mix": write_wav(work / "mix.wav", 0.5 * (a + b)),
        "silence": write_wav(work / "silence.wav", np.zeros(2 * RATE, np.float32)),
        "x": write_wav(work / "x.wav", speech_like(2.0, seed=1)),
    }
    m["face"] = face = make_talking_head(work / "face.mp4")
    talk = work / "talk.mp4"
    assert main([str(face), "--audio", str(m["x"]), "-g", "warp", "-o", str(talk), "-q"]) == 0
    right = f"[1:v]{RECOLOUR}[r]"
    m["still"] = _encode(work / "still.mp4", [face, face, m["x"]], f"{right};[0:v][r]hstack[v]")
    m["two"] = _encode(work / "two.mp4", [talk, face, m["x"]], f"{right};[0:v][r]hstack[v]")
    return m


def openings_by_side(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Mouth opening (``FaceRegions.mouth_opening``) of the left and right face per frame."""
    from lipdub.faces.mediapipe_tracker import MediapipeTracker

    tracker = MediapipeTracker()
    left, right = [], []
    try:
        for frame in VideoReader(path).frames():
            sides = [np.nan, np.nan]
            for face in tracker.detect(frame):
                if face.regions is not None:
                    side = int((face.box[0] + face.box[2]) / 2 >= HALF)
                    sides[side] = face.regions.mouth_opening
            left.append(sides[0])
            right.append(sides[1])
    finally:
        tracker.close()
    return np.asarray(left), np.asarray(right)


def r_with(opening: np.ndarray, stem: Path) -> float:
    """Agreement r (best over +-3 frames of lag) of ``opening`` with the stem's loudness."""
    loudness = loudness_per_frame(load_audio(stem, RATE), FPS, len(opening), RATE)
    return best_lag_correlation(opening, loudness, max_lag=3).r


def _dub(media, video: str, out: Path, *flags: str, audio: str = "mix") -> int:
    args = [str(media[video]), "--audio", str(media[audio]), "-g", "warp", "-o", str(out)]
    return main([*args, "-q", *flags])


@pytest.mark.slow
def test_each_face_follows_its_own_stem(media, tmp_path) -> None:
    out = tmp_path / "out.mp4"
    flags = ["--audio-for", f"0={media['a']}", "--audio-for", f"1={media['b']}"]
    assert _dub(media, "still", out, *flags) == 0
    left, right = openings_by_side(out)
    assert np.isfinite(left).mean() > 0.9 and np.isfinite(right).mean() > 0.9
    r = {
        "left~a": r_with(left, media["a"]),
        "left~b": r_with(left, media["b"]),
        "right~b": r_with(right, media["b"]),
        "right~a": r_with(right, media["a"]),
    }
    print("r values:", {k: round(v, 3) for k, v in r.items()})
    assert r["left~a"] >= 0.5 and r["right~b"] >= 0.5, r
    assert r["left~b"] < 0.2 and r["right~a"] < 0.2, r
    assert abs(len(load_audio(out, RATE)) - len(load_audio(media["mix"], RATE))) < RATE // 10


@pytest.mark.slow
def test_a_silent_stem_keeps_that_mouth_closed(media, tmp_path) -> None:
    # the left face talks in the source; its silent stem must close it, the right one follows b
    speakers = _write_csv(
        tmp_path / "map.csv",
        [["track", "audio"], ["0", str(media["silence"])], ["1", str(media["b"])]],
    )
    out = tmp_path / "out.mp4"
    assert _dub(media, "two", out, "--speakers", str(speakers)) == 0
    source_left, _ = openings_by_side(media["two"])
    left, right = openings_by_side(out)

    def spread(values: np.ndarray) -> float:
        known = values[np.isfinite(values)]
        return float(np.percentile(known, 95) - np.percentile(known, 5))

    print("opening spread: source left", spread(source_left), "dubbed left", spread(left))
    assert spread(source_left) > 0.04 and spread(left) < 0.02
    assert np.nanmean(left) < np.nanmean(source_left)
    assert r_with(right, media["b"]) >= 0.5


@pytest.mark.slow
def test_drive_audio_drives_the_lips_and_audio_is_muxed(media, tmp_path) -> None:
    out = tmp_path / "out.mp4"
    assert _dub(media, "face", out, "--drive-audio", str(media["a"]), audio="b") == 0
    opening, _ = openings_by_side(out)
    assert r_with(opening, media["a"]) >= 0.5 and r_with(opening, media["b"]) < 0.2
    muxed = loudness_per_frame(load_audio(out, RATE), FPS, len(opening), RATE)
    expected = loudness_per_frame(load_audio(media["b"], RATE), FPS, len(opening), RATE)
    assert np.corrcoef(muxed, expected)[0, 1] > 0.9


@pytest.mark.slow
@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--audio-for", "5={a}"], "--audio-for 5: no such face track (2 tracks found: 0, 1;"),
        (["--audio-for", "0"], "--audio-for '0': expected TRACK=FILE"),
        (["--audio-for", "0={a}", "--audio-for", "1={nope}"], "1={nope}: no such file"),
        (["--audio-for", "0={face}"], "--audio-for 0={face}: has no audio stream"),
        (["--speakers", "{nope}"], "--speakers {nope}: no such file"),
        (["--drive-audio", "{a}", "--audio-for", "0={b}"], "--drive-audio drives the one"),
        (["--drive-audio", "{face}"], "--drive-audio {face}: has no audio stream"),
    ],
)
def test_bad_speaker_input_exits_2_with_one_line(media, tmp_path, capsys, flags, message) -> None:
    names = {**{k: str(v) for k, v in media.items()}, "nope": str(tmp_path / "nope.wav")}
    out = tmp_path / "out.mp4"
    assert _dub(media, "still", out, *(f.format(**names) for f in flags)) == 2
    err = capsys.readouterr().err.strip()
    assert message.format(**names) in err and "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    assert not out.exists()


@pytest.mark.slow
def test_batch_manifest_with_audio_for_column(media, tmp_path, capsys) -> None:
    for name in ("still", "a", "b", "mix"):
        (tmp_path / media[name].name).symlink_to(media[name])
    manifest = _write_csv(
        tmp_path / "list.csv",
        [["video", "audio", "output", "audio_for"],
         ["still.mp4", "mix.wav", "o.mp4", "0=a.wav;1=b.wav"],
         ["still.mp4", "mix.wav", "bad.mp4", "7=a.wav"]],
    )  # fmt: skip
    code = main(["batch", "--manifest", str(manifest), "-g", "warp", "-q", "--report",
                 str(tmp_path / "r.json")])  # fmt: skip
    assert code == 1  # the row naming track 7 fails, the other is done
    import json

    items = {
        Path(i["output"]).name: i for i in json.loads((tmp_path / "r.json").read_text())["items"]
    }
    assert items["o.mp4"]["status"] == "done" and items["bad.mp4"]["status"] == "failed"
    assert "no such face track" in items["bad.mp4"]["reason"]
    left, right = openings_by_side(tmp_path / "o.mp4")
    assert r_with(left, media["a"]) >= 0.5 and r_with(right, media["b"]) >= 0.5
