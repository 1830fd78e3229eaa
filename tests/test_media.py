"""Media in and out through ffmpeg: probe, frame reader, audio decoding and the writer."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from lipdub.errors import FFmpegError, InputError, OutputError
from lipdub.media import reader as reader_module
from lipdub.media.audio import load_audio
from lipdub.media.ffmpeg import find_ffmpeg, last_error_line
from lipdub.media.probe import probe
from lipdub.media.reader import VideoReader, count_frames, read_image
from lipdub.media.writer import VideoWriter, check_output_path, partial_path

SIZE = "160x120"


def ffmpeg(*args: str | os.PathLike[str]) -> None:
    """Run ffmpeg quietly (to make test media); fail the test with its error otherwise."""
    command = [find_ffmpeg(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    result = subprocess.run([*command, *map(str, args)], capture_output=True)
    assert result.returncode == 0, result.stderr.decode()


def has_encoder(name: str) -> bool:
    result = subprocess.run([find_ffmpeg(), "-hide_banner", "-encoders"], capture_output=True)
    return f" {name} " in result.stdout.decode()


def lavfi_video(spec: str) -> list[str]:
    return ["-f", "lavfi", "-i", spec]


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small generated files shared by the tests of this module."""
    folder = tmp_path_factory.mktemp("media")
    files = {name: folder / name for name in ("av.mp4", "short_gop.mp4", "sine.wav", "still.png")}
    sine = lavfi_video("sine=frequency=440:sample_rate=44100:duration=2")
    ffmpeg(
        *lavfi_video(f"testsrc2=size={SIZE}:rate=25:duration=2"), *sine,
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2", "-shortest",
        files["av.mp4"],
    )  # fmt: skip
    ffmpeg(
        *lavfi_video(f"testsrc2=size={SIZE}:rate=25:duration=3"),
        "-c:v", "libx264", "-g", "10", "-bf", "2", files["short_gop.mp4"],
    )  # fmt: skip
    ffmpeg(*lavfi_video("sine=frequency=440:sample_rate=44100:duration=1.5"),
           "-ac", "2", files["sine.wav"])  # fmt: skip
    ffmpeg(*lavfi_video(f"testsrc2=size={SIZE}"), "-frames:v", "1", files["still.png"])
    return files


# --------------------------------------------------------------------------------- ffmpeg


def test_find_ffmpeg_honours_env_and_explains_a_bad_value(monkeypatch: pytest.MonkeyPatch) -> None:
    real = find_ffmpeg()
    try:
        monkeypatch.setenv("LIPDUB_FFMPEG", real)
        find_ffmpeg.cache_clear()
        assert find_ffmpeg() == real
        monkeypatch.setenv("LIPDUB_FFMPEG", "/nonexistent/ffmpeg")
        find_ffmpeg.cache_clear()
        with pytest.raises(FFmpegError, match="LIPDUB_FFMPEG"):
            find_ffmpeg()
    finally:
        monkeypatch.delenv("LIPDUB_FFMPEG")
        find_ffmpeg.cache_clear()


def test_find_ffmpeg_without_any_binary_says_how_to_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    import imageio_ffmpeg

    def unavailable() -> str:
        raise RuntimeError("no binary")

    monkeypatch.delenv("LIPDUB_FFMPEG", raising=False)
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", unavailable)
    find_ffmpeg.cache_clear()
    try:
        with pytest.raises(FFmpegError, match="ffmpeg was not found: install ffmpeg"):
            find_ffmpeg()
    finally:
        find_ffmpeg.cache_clear()


def test_last_error_line_skips_ffmpeg_noise() -> None:
    stderr = (
        "[libx264 @ 0x55f9] width not divisible by 2 (161x121)\n"
        "[vost#0:0/libx264 @ 0x55f2] Error while opening encoder - maybe incorrect parameters\n"
        "[vost#0:0/libx264 @ 0x55f2] Terminating thread with return code -22\n"
        "Conversion failed!\n"
    )
    assert last_error_line(stderr) == "width not divisible by 2 (161x121)"


# ---------------------------------------------------------------------------------- probe


def test_probe_mp4_with_audio(media: dict[str, Path]) -> None:
    info = probe(media["av.mp4"])
    assert (info.has_video, info.has_audio, info.is_still) == (True, True, False)
    assert (info.width, info.height, info.rotation) == (160, 120, 0)
    assert info.fps == 25.0 and info.duration == pytest.approx(2.0, abs=0.05)
    assert info.n_frames == 50
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert (info.audio_sample_rate, info.audio_channels) == (44100, 2)


def test_probe_mkv_keeps_exact_ntsc_rate(tmp_path: Path) -> None:
    path = tmp_path / "ntsc.mkv"
    ffmpeg(*lavfi_video(f"testsrc2=size={SIZE}:rate=30000/1001:duration=1"),
           *lavfi_video("sine=duration=1"), "-c:v", "libx264", "-c:a", "libopus", path)  # fmt: skip
    info = probe(path)
    assert info.fps == pytest.approx(30000 / 1001, abs=1e-9)
    assert info.n_frames == 30 and info.audio_codec == "opus" and info.audio_channels == 1


@pytest.mark.skipif(not has_encoder("libvpx-vp9"), reason="ffmpeg built without libvpx")
def test_probe_webm_vp9(tmp_path: Path) -> None:
    path = tmp_path / "clip.webm"
    ffmpeg(*lavfi_video(f"testsrc2=size={SIZE}:rate=24:duration=1"),
           "-c:v", "libvpx-vp9", "-deadline", "realtime", path)  # fmt: skip
    info = probe(path)
    assert (info.video_codec, info.width, info.height, info.fps) == ("vp9", 160, 120, 24.0)
    assert not info.has_audio and info.n_frames == 24


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp"])
def test_probe_still_images(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"still{suffix}"
    ffmpeg(*lavfi_video("testsrc2=size=90x64"), "-frames:v", "1", path)
    info = probe(path)
    assert info.is_still and info.fps is None and info.n_frames == 1 and not info.has_audio
    assert (info.width, info.height) == (90, 64)
    assert read_image(path).shape == (64, 90, 3)


def test_probe_single_frame_image_codec_video_is_still(tmp_path: Path) -> None:
    path = tmp_path / "one.mkv"
    ffmpeg(*lavfi_video(f"testsrc2=size={SIZE}"), "-frames:v", "1", "-c:v", "png", path)
    assert probe(path).is_still


def test_probe_audio_files(media: dict[str, Path], tmp_path: Path) -> None:
    info = probe(media["sine.wav"])
    assert (info.has_video, info.has_audio) == (False, True)
    assert (info.audio_sample_rate, info.audio_channels) == (44100, 2)
    assert info.audio_codec == "pcm_s16le"
    assert info.duration == pytest.approx(1.5, abs=0.01) and info.width is None
    if has_encoder("libmp3lame"):
        mp3 = tmp_path / "sine.mp3"
        ffmpeg("-i", media["sine.wav"], mp3)
        info = probe(mp3)
        assert info.audio_codec == "mp3" and info.duration == pytest.approx(1.5, abs=0.05)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.mp4", None, "missing.mp4: no such file"),
        ("folder.mp4", "dir", "is a directory"),
        ("zero.mp4", b"", "is empty"),
        ("video.mp4", b"this is not a video\n" * 50, "video.mp4: not a media file ffmpeg can read"),
        ("notes.txt", b"hello\n" * 50, "not a media file"),
    ],
)
def test_probe_rejects_non_media(
    tmp_path: Path, name: str, content: bytes | str | None, message: str
) -> None:
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(InputError, match=message) as caught:
        probe(path)
    assert "\n" not in str(caught.value)


# --------------------------------------------------------------------------------- reader


def test_reader_gives_every_frame_as_rgb(media: dict[str, Path]) -> None:
    reader = VideoReader(media["av.mp4"])
    frames = list(reader.frames())
    assert len(frames) == reader.n_frames == count_frames(media["av.mp4"]) == 50
    assert all(f.shape == (120, 160, 3) and f.dtype == np.uint8 for f in frames)
    assert frames[0].flags.writeable
    assert not np.array_equal(frames[0], frames[25])  # testsrc2 moves


def test_reader_seek_matches_sequential_decode(media: dict[str, Path]) -> None:
    reader = VideoReader(media["short_gop.mp4"])  # 75 frames, a keyframe every 10
    frames = list(reader.frames())
    assert len(frames) == 75
    for start in (1, 9, 10, 11, 37, 60, 74):
        chunk = list(reader.frames(start=start, count=4))
        expected = frames[start : start + 4]
        assert len(chunk) == len(expected)
        assert all(np.array_equal(a, b) for a, b in zip(chunk, expected, strict=True)), start
    assert list(reader.frames(start=75)) == []
    assert len(list(reader.frames(start=70))) == 5


def test_reader_resamples_to_requested_fps(media: dict[str, Path]) -> None:
    frames = list(VideoReader(media["short_gop.mp4"]).frames())
    at_50 = list(VideoReader(media["short_gop.mp4"], fps=50).frames())
    assert len(at_50) == 150
    assert np.array_equal(at_50[20], frames[10]) and np.array_equal(at_50[21], frames[10])


def test_reader_applies_rotation(media: dict[str, Path], tmp_path: Path) -> None:
    rotated = tmp_path / "portrait.mp4"
    # display_rotation is counter-clockwise: 270 ccw == 90 clockwise, like a phone clip.
    ffmpeg("-display_rotation", "270", "-i", media["av.mp4"], "-c", "copy", rotated)
    info = probe(rotated)
    assert (info.rotation, info.width, info.height) == (90, 120, 160)
    upright = next(VideoReader(media["av.mp4"]).frames())
    turned = next(VideoReader(info).frames(start=0, count=1))
    assert turned.shape == (160, 120, 3)
    assert np.array_equal(turned, np.rot90(upright, k=-1))  # clockwise


#: Source times of the VFR test clip: 10 frames 0.2 s apart, then 10 frames 0.04 s apart.
VFR_TIMES = [0.2 * n for n in range(10)] + [2 + 0.04 * k for k in range(10)]


def _vfr_gray_clip(path: Path) -> None:
    """The 20 frames of ``VFR_TIMES``, frame n filled with gray level 30 + 10 n."""
    ffmpeg(
        *lavfi_video(f"color=c=black:size={SIZE}:rate=25:duration=0.8"),
        "-vf", "geq=lum='30+10*N':cb=128:cr=128,settb=1/1000,"
        "setpts='if(lt(N,10),N*0.2,2+(N-10)*0.04)/TB'",
        "-fps_mode", "vfr", "-c:v", "libx264", "-crf", "10", "-g", "4", path,
    )  # fmt: skip


def test_reader_variable_frame_rate_keeps_time(tmp_path: Path) -> None:
    path = tmp_path / "vfr.mp4"
    _vfr_gray_clip(path)
    frames = list(VideoReader(path, fps=10).frames())
    levels = [round((f.mean() / (255 / 219) + 16 - 30) / 10) for f in frames]
    # Frame i shows the latest source frame whose time, rounded to the 0.1 s grid, is <= i.
    slots = [round(t * 10) for t in VFR_TIMES]
    expected = [max(n for n, slot in enumerate(slots) if slot <= i) for i in range(24)]
    assert expected[18:24] == [9, 9, 11, 13, 16, 18]  # slow part held, fast part thinned
    assert levels[:24] == expected
    for start in (3, 17, 21):
        chunk = list(VideoReader(path, fps=10).frames(start=start, count=3))
        assert all(
            np.array_equal(a, b) for a, b in zip(chunk, frames[start : start + 3], strict=True)
        )


def test_reader_variable_frame_rate_default_fps_seeks_exactly(tmp_path: Path) -> None:
    path = tmp_path / "vfr.mp4"
    _vfr_gray_clip(path)
    reader = VideoReader(path)  # average rate, not a round number
    frames = list(reader.frames())
    for start in (5, 14, len(frames) - 2):
        chunk = list(reader.frames(start=start, count=2))
        assert all(
            np.array_equal(a, b) for a, b in zip(chunk, frames[start : start + 2], strict=True)
        )


def test_closing_the_generator_stops_ffmpeg(
    media: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[reader_module.FFmpegProcess] = []

    class Recording(reader_module.FFmpegProcess):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            started.append(self)

    monkeypatch.setattr(reader_module, "FFmpegProcess", Recording)
    frames = VideoReader(media["av.mp4"]).frames()
    next(frames)
    assert started[0].popen.poll() is None
    frames.close()
    assert started[0].popen.poll() is not None


def test_still_image_reads_exact_pixels(tmp_path: Path) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (33, 47, 3), dtype=np.uint8)
    path = tmp_path / "exact.png"
    raw = tmp_path / "exact.rgb"
    raw.write_bytes(pixels.tobytes())
    ffmpeg("-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "47x33", "-i", raw, path)
    assert np.array_equal(read_image(path), pixels)
    repeated = list(VideoReader(path, fps=25).frames(count=3))
    assert len(repeated) == 3 and all(np.array_equal(f, pixels) for f in repeated)


def test_reader_rejects_audio_only(media: dict[str, Path]) -> None:
    with pytest.raises(InputError, match="has no video stream"):
        VideoReader(media["sine.wav"])


# ---------------------------------------------------------------------------------- audio


def _peak_hz(wav: np.ndarray, rate: int) -> float:
    return float(np.argmax(np.abs(np.fft.rfft(wav))) * rate / len(wav))


def test_load_audio_resamples_and_mixes_down(media: dict[str, Path]) -> None:
    wav = load_audio(media["sine.wav"])
    assert wav.dtype == np.float32 and wav.ndim == 1
    assert len(wav) == pytest.approx(1.5 * 16000, abs=32)
    assert _peak_hz(wav, 16000) == pytest.approx(440, abs=2)
    assert 0.05 < np.abs(wav).max() <= 1.0
    assert len(load_audio(media["sine.wav"], sample_rate=8000)) == pytest.approx(12000, abs=16)


def test_load_audio_from_a_video_stream(media: dict[str, Path]) -> None:
    wav = load_audio(media["av.mp4"])
    assert len(wav) == pytest.approx(32000, abs=1100)
    assert _peak_hz(wav, 16000) == pytest.approx(440, abs=2)


def test_load_audio_keeps_a_late_start_in_sync(tmp_path: Path) -> None:
    path = tmp_path / "late.mp4"
    ffmpeg(*lavfi_video(f"testsrc2=size={SIZE}:rate=25:duration=2"), "-itsoffset", "0.5",
           *lavfi_video("sine=duration=1.5"), "-c:v", "libx264", "-c:a", "aac", path)  # fmt: skip
    wav = load_audio(path)
    assert len(wav) == pytest.approx(32000, abs=600)
    assert np.abs(wav[: int(0.4 * 16000)]).max() < 0.01  # silence until the audio starts
    assert np.abs(wav[int(0.6 * 16000) :]).max() > 0.1


def test_load_audio_errors(media: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(InputError, match="short_gop.mp4 has no audio stream"):
        load_audio(media["short_gop.mp4"])
    with pytest.raises(InputError, match="has no audio stream"):
        load_audio(media["still.png"])
    empty = tmp_path / "empty.wav"
    ffmpeg(*lavfi_video("anullsrc=r=16000:cl=mono"), "-t", "0", empty)
    with pytest.raises(InputError, match="empty.wav contains no audio"):
        load_audio(empty)
    junk = tmp_path / "voice.wav"
    junk.write_bytes(b"\x00junk" * 100)
    with pytest.raises(InputError, match="voice.wav"):
        load_audio(junk)


# --------------------------------------------------------------------------------- writer


def _write(output: Path, frames: list[np.ndarray], **options: object) -> None:
    height, width = frames[0].shape[:2]
    with VideoWriter(output, width, height, **options) as writer:  # type: ignore[arg-type]
        for frame in frames:
            writer.write(frame)


@pytest.mark.parametrize("duration", [1.0, 2.6])  # shorter (cut) and longer (padded) than audio
def test_writer_output(media: dict[str, Path], tmp_path: Path, duration: float) -> None:
    frames = list(VideoReader(media["av.mp4"]).frames(count=round(duration * 25)))
    frames += [frames[-1]] * (round(duration * 25) - len(frames))
    output = tmp_path / "out.mp4"
    _write(output, frames, fps=25, audio_path=media["sine.wav"], duration=duration)
    info = probe(output)
    assert (info.has_video, info.has_audio, info.video_codec, info.audio_codec) == (
        True, True, "h264", "aac",
    )  # fmt: skip
    assert (info.width, info.height, info.fps) == (160, 120, 25.0)
    assert info.duration == pytest.approx(duration, abs=0.03)
    assert info.metadata["comment"].startswith("Lip-synced by lipdub ")
    assert count_frames(output) == len(frames)
    assert len(load_audio(output)) == pytest.approx(duration * 16000, abs=0.03 * 16000)
    assert not partial_path(output).exists()
    decoded = next(VideoReader(output).frames())
    assert np.abs(decoded.astype(int) - frames[0]).mean() < 3  # crf 18 is near-lossless


def test_writer_takes_audio_from_a_video_and_pads_odd_sizes(
    media: dict[str, Path], tmp_path: Path
) -> None:
    frames = [f[:119, :159] for f in VideoReader(media["av.mp4"]).frames(count=10)]
    output = tmp_path / "odd.mp4"
    _write(output, frames, fps=25, audio_path=media["av.mp4"], duration=0.4, preset="ultrafast")
    info = probe(output)
    assert (info.width, info.height, info.has_audio) == (160, 120, True)
    first = next(VideoReader(output).frames())
    assert np.abs(first[:119, 159].astype(int) - first[:119, 158]).mean() < 4  # edge repeated


def test_writer_leaves_nothing_when_the_block_raises(tmp_path: Path) -> None:
    output = tmp_path / "out.mp4"
    frame = np.zeros((120, 160, 3), np.uint8)
    for error in (RuntimeError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(error)), VideoWriter(output, 160, 120, 25) as writer:
            for _ in range(100):  # until ffmpeg has created its temporary file
                writer.write(frame)
                if partial_path(output).exists():
                    break
                time.sleep(0.02)
            assert partial_path(output).exists()
            raise error
        assert not output.exists() and not partial_path(output).exists()
    assert list(tmp_path.iterdir()) == []


def test_writer_failure_keeps_old_output_and_cleans_up(tmp_path: Path) -> None:
    output = tmp_path / "out.mp4"
    output.write_bytes(b"previous result")
    frame = np.zeros((120, 160, 3), np.uint8)
    with (
        pytest.raises(FFmpegError, match="preset") as caught,
        VideoWriter(output, 160, 120, 25, preset="no-such-preset") as writer,
    ):
        for _ in range(50):
            writer.write(frame)
    assert "\n" not in str(caught.value)
    assert output.read_bytes() == b"previous result"
    assert not partial_path(output).exists()


def test_writer_rejects_wrong_frames_and_audio_without_stream(
    media: dict[str, Path], tmp_path: Path
) -> None:
    output = tmp_path / "out.mp4"
    with (
        pytest.raises(ValueError, match="frame must be uint8"),
        VideoWriter(output, 160, 120, 25) as writer,
    ):
        writer.write(np.zeros((120, 161, 3), np.uint8))
    with pytest.raises(InputError, match="has no audio stream"):
        VideoWriter(output, 160, 120, 25, audio_path=media["short_gop.mp4"]).open()
    assert list(tmp_path.iterdir()) == []


def test_check_output_path(media: dict[str, Path], tmp_path: Path) -> None:
    source = media["av.mp4"]
    with pytest.raises(OutputError, match="is also an input"):
        check_output_path(source, [source], overwrite=True)
    link = tmp_path / "link.mp4"
    link.symlink_to(source)
    with pytest.raises(OutputError, match="is also an input"):
        check_output_path(link, [media["sine.wav"], source], overwrite=True)
    existing = tmp_path / "done.mp4"
    existing.write_bytes(b"x")
    with pytest.raises(OutputError, match="exists; pass --overwrite to replace it"):
        check_output_path(existing, [source], overwrite=False)
    assert check_output_path(existing, [source], overwrite=True) == existing
    with pytest.raises(OutputError, match="does not exist"):
        check_output_path(tmp_path / "nope" / "out.mp4", [source], overwrite=False)
    with pytest.raises(OutputError, match="is a directory"):
        check_output_path(tmp_path, [source], overwrite=True)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write anywhere")
def test_check_output_path_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="not writable"):
            check_output_path(folder / "out.mp4", [], overwrite=False)
    finally:
        folder.chmod(0o700)
