"""Probing through PyAV (issue 11, D10 and the probing paragraph): exact counts, SAR,
rotation, no text from names or tags, and a clean fallback to ffmpeg's report."""

from __future__ import annotations

import builtins
from fractions import Fraction
from pathlib import Path

import pytest

from lipdub.errors import InputError
from lipdub.media import probe_banner
from lipdub.media.integrity import damaged_note
from lipdub.media.probe import probe
from lipdub.media.reader import VideoReader, count_frames
from tests.conftest import run_ffmpeg
from tests.odd_media import HOSTILE_NAME, HOSTILE_TAG, cut_in_half, pattern_clip, with_sar, with_tag


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("probe")
    plain = pattern_clip(folder / "plain.mp4", 2.0, "64x64", 25, "-movflags", "+faststart")
    hostile = folder / HOSTILE_NAME
    hostile.write_bytes(plain.read_bytes())
    # Audio 1 s longer than the video: the old estimate (duration x fps) overshot by 25 frames.
    long_audio = folder / "long_audio.mkv"
    run_ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=1.6",
               "-f", "lavfi", "-i", "sine=duration=2.6", "-c:v", "libx264", "-c:a", "libopus",
               str(long_audio))  # fmt: skip
    return {
        "plain": plain,
        "hostile": hostile,
        "tagged": with_tag(plain, folder / "tagged.mp4", HOSTILE_TAG),
        "long_audio": long_audio,
        "half": cut_in_half(plain, folder / "half.mp4"),
        # Anamorphic PAL's pixel shape, stored in the container and in the H.264 headers.
        "pal": with_sar(
            pattern_clip(folder / "pal0.mp4", 0.4, "72x58", 25, "-vf", "setsar=64/45"),
            folder / "pal.mp4",
            "64/45",
        ),
    }


def test_names_and_tags_never_change_what_is_probed(clips: dict[str, Path]) -> None:
    for key in ("hostile", "tagged"):
        info = probe(clips[key])
        assert (info.width, info.height, info.fps, info.n_frames) == (64, 64, 25.0, 50), key
    assert probe(clips["tagged"]).metadata["title"] == HOSTILE_TAG  # read, but only as a tag


def test_fallback_reader_is_not_fooled_by_names_either(clips: dict[str, Path]) -> None:
    info = probe_banner.probe_with_banner(clips["hostile"])
    assert (info.width, info.height, info.fps, info.n_frames) == (64, 64, 25.0, 50)


def test_frame_count_is_exact_and_drives_the_reader(clips: dict[str, Path]) -> None:
    info = probe(clips["long_audio"])  # Matroska: counted by a demux pass, not estimated
    assert info.exact_frames and info.n_frames == 40 == count_frames(info)
    assert info.duration > 2.5  # the container (audio) is longer than the video
    reader = VideoReader(info)
    assert reader.n_frames == 40 == len(list(reader.frames()))
    assert info.frames_at(50.0) == 80


def test_sample_aspect_ratio_and_rotation(clips: dict[str, Path], tmp_path: Path) -> None:
    pal = probe(clips["pal"])
    assert pal.sample_aspect_ratio == Fraction(64, 45) and (pal.width, pal.height) == (72, 58)
    assert probe(clips["plain"]).sample_aspect_ratio == 1
    turned = tmp_path / "turned.mp4"
    run_ffmpeg("-display_rotation", "270", "-i", str(clips["pal"]), "-c", "copy", str(turned))
    info = probe(turned)
    assert (info.rotation, info.width, info.height) == (90, 58, 72)
    assert info.sample_aspect_ratio == Fraction(45, 64)  # pixels turn with the picture


def test_half_a_file_is_noticed_with_counts(clips: dict[str, Path]) -> None:
    info = probe(clips["half"])
    decoded = count_frames(info)
    assert info.n_frames == 50 and 0 < decoded < 40
    note = damaged_note(info, decoded)
    assert note is not None and f"only {decoded} of its 50" in note
    assert damaged_note(probe(clips["plain"]), 50) is None
    assert damaged_note(info, decoded, limit=decoded) is None  # a trimmed read is not damage


def test_without_pyav_the_ffmpeg_report_is_read(
    clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real_import = builtins.__import__

    def no_av(name: str, *args, **kwargs):  # noqa: ANN002, ANN003
        if name == "av" or name.startswith("av."):
            raise ImportError("No module named 'av'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_av)
    seen = []
    original = probe_banner.probe_with_banner
    monkeypatch.setattr(
        "lipdub.media.probe.probe_with_banner", lambda f: seen.append(f) or original(f)
    )
    info = probe(clips["pal"])
    assert seen and info.sample_aspect_ratio == Fraction(64, 45) and info.width == 72
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x17not a video" * 50)
    with pytest.raises(InputError, match="not a media file"):
        probe(junk)


def test_pyav_is_fast(clips: dict[str, Path]) -> None:
    import time

    probe(clips["plain"])
    start = time.perf_counter()
    for _ in range(5):
        probe(clips["long_audio"])
    assert (time.perf_counter() - start) / 5 < 0.5  # generous: ~5 ms here
