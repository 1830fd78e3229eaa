"""The streaming engine: stages overlap, keep order, and stop cleanly on errors and Ctrl-C."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from lipdub.components import FaceTracker, Generator
from lipdub.media.reader import VideoReader
from lipdub.pipeline import stages
from lipdub.pipeline.dub import DubRequest, dub
from lipdub.pipeline.engine import Drain, Prefetch, ThreadPlan
from lipdub.testing import lipdub_plugins, plugin_module  # noqa: F401 - fixture
from lipdub.types import Face, GeneratorInput, Patch
from tests.conftest import make_talking_head, speech_like, write_wav

BOX = (80.0, 70.0, 176.0, 186.0)


class BoxTracker(FaceTracker):
    """One face at a fixed box in every frame (no model: fast)."""

    name: ClassVar[str] = "box-tracker-test"
    calls: ClassVar[int] = 0

    def detect(self, frame: np.ndarray) -> list[Face]:
        type(self).calls += 1
        return [Face(box=BOX)]


class DarkenMouth(Generator):
    """Paints the face box dark grey, slowly (so the stages have something to overlap)."""

    name: ClassVar[str] = "darken-test"
    audio_extractor: ClassVar[str] = "articulation"
    needs_weights: ClassVar[bool] = False
    batch_size: ClassVar[int] = 4
    fail_at: ClassVar[int | None] = None
    interrupt_at: ClassVar[int | None] = None

    def generate(self, items: Sequence[GeneratorInput]) -> list[Patch]:
        patches = []
        for item in items:
            if item.index == self.fail_at:
                raise RuntimeError("generator broke")
            if item.index == self.interrupt_at:
                raise KeyboardInterrupt
            box = item.face.int_box(item.frame.shape[1], item.frame.shape[0])
            image = np.full((box[3] - box[1], box[2] - box[0], 3), 30, np.uint8)
            patches.append(Patch(image, box))
        time.sleep(0.002 * len(items))
        return patches


@pytest.fixture
def registered(lipdub_plugins):  # noqa: F811
    module = plugin_module(
        "engine_test",
        register_generators=lambda register: register(DarkenMouth),
        register_face_trackers=lambda register: register(BoxTracker),
    )
    lipdub_plugins.register(module)
    DarkenMouth.fail_at = DarkenMouth.interrupt_at = None
    BoxTracker.calls = 0
    yield


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    work = tmp_path_factory.mktemp("engine")
    video = make_talking_head(work / "face.mp4", seconds=1.2)
    audio = write_wav(work / "speech.wav", speech_like(1.2, seed=3))
    return video, audio


def request_for(clip: tuple[Path, Path], output: Path, **values: object) -> DubRequest:
    video, audio = clip
    # Closing the mouth in pauses (voice detection on the audio) is not what these test.
    closure = "silence_closure" in Generator.Options.model_fields
    quick = {"silence_closure": False} if closure else {}
    return DubRequest(
        video=video,
        audio=audio,
        output=output,
        generator=DarkenMouth.name,
        tracker=BoxTracker.name,
        blender="box",
        options={"generator": quick},
        **values,  # type: ignore[arg-type]
    )


def ffmpeg_children() -> list[int]:
    """Process ids of this process's ffmpeg children still alive."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and b"ffmpeg" in cmdline and " Z " not in stat:
            found.append(int(entry.name))
    return found


def test_prefetch_keeps_order_and_bounds_how_far_it_reads_ahead() -> None:
    produced: list[int] = []

    def numbers() -> Iterator[int]:
        for n in range(100):
            produced.append(n)
            yield n

    with Prefetch(numbers(), depth=3) as ahead:
        first = next(ahead)
        time.sleep(0.1)
        assert first == 0 and len(produced) <= 1 + 3 + 1  # taken + queued + one in hand
        assert [first, *ahead] == list(range(100))


def test_prefetch_hands_over_the_error_and_close_stops_the_source() -> None:
    closed = threading.Event()

    def failing() -> Iterator[int]:
        yield 1
        raise ValueError("bad frame")

    with pytest.raises(ValueError, match="bad frame"), Prefetch(failing()) as ahead:
        list(ahead)

    def endless() -> Iterator[int]:
        try:
            while True:
                yield 0
        finally:
            closed.set()

    ahead = Prefetch(endless(), depth=2)
    next(ahead)
    ahead.close()
    assert closed.wait(2.0)


def test_drain_consumes_in_order_and_raises_the_consumer_error() -> None:
    seen: list[int] = []
    sink: Drain[int] = Drain(seen.append, depth=2)
    for n in range(50):
        sink.put(n)
    sink.finish()
    assert seen == list(range(50))

    def broken(n: int) -> None:
        if n == 3:
            raise OSError("disk full")

    sink = Drain(broken, depth=1)
    with pytest.raises(OSError, match="disk full"):
        for n in range(100):
            sink.put(n)
        sink.finish()


def test_thread_plan_never_oversubscribes() -> None:
    for cores in (1, 2, 4, 16):
        plan = ThreadPlan.for_cores(cores)
        assert 1 <= plan.torch <= cores and 1 <= plan.encoder <= cores
    assert ThreadPlan.for_cores(8).torch == 7


@pytest.mark.slow
def test_pipelined_dub_writes_every_frame_in_order(registered, clip, tmp_path) -> None:
    result = dub(request_for(clip, tmp_path / "out.mp4"))
    assert result.frames == 30 and result.dubbed_frames == 30
    assert {"decode", "generate", "blend", "encode"} <= set(result.cpu_seconds)
    source = np.stack(list(VideoReader(clip[0]).frames())).astype(np.int16)
    out = np.stack(list(VideoReader(tmp_path / "out.mp4").frames())).astype(np.int16)
    assert out.shape == source.shape
    inside = out[:, 100:160, 100:160]
    assert np.abs(inside - 30).mean() < 6  # every frame's box was painted
    # outside the box the frames are the source frames, in their order
    outside = np.abs(out[:, :, :60] - source[:, :, :60]).mean(axis=(1, 2, 3))
    shifted = np.abs(out[1:, :, :60] - source[:-1, :, :60]).mean()
    assert outside.max() < 3.0 and shifted > outside.mean()


@pytest.mark.slow
@pytest.mark.parametrize("stop", ["error", "interrupt", "compose"])
def test_a_stopped_dub_leaves_no_file_and_no_ffmpeg(
    registered, clip, tmp_path, monkeypatch, stop
) -> None:
    output = tmp_path / "out.mp4"
    if stop == "error":
        DarkenMouth.fail_at = 17
        expected: type[BaseException] = RuntimeError
    elif stop == "interrupt":
        DarkenMouth.interrupt_at = 17
        expected = KeyboardInterrupt
    else:
        real = stages.compose
        blended = []

        def compose_then_fail(parts, frame, patch, face):  # type: ignore[no-untyped-def]
            blended.append(1)
            if len(blended) == 10:
                raise MemoryError("out of memory while blending")
            return real(parts, frame, patch, face)

        monkeypatch.setattr(stages, "compose", compose_then_fail)
        expected = MemoryError
    with pytest.raises(expected):
        dub(request_for(clip, output))
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    deadline = time.monotonic() + 3.0
    while ffmpeg_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ffmpeg_children() == []


def test_large_frames_get_smaller_batches() -> None:
    assert stages.frames_per_batch(16, 1280, 720) == 16
    at_4k = stages.frames_per_batch(16, 3840, 2160)
    assert 1 <= at_4k < 8
    in_flight = stages.BATCHES_IN_FLIGHT * at_4k * 3840 * 2160 * 3
    assert in_flight <= stages.FRAME_BUDGET_BYTES
    assert stages.frames_per_batch(16, 7680, 4320) == 1


def test_a_huge_still_is_refused_in_one_line(capsys, tmp_path: Path) -> None:
    from lipdub.cli.app import main
    from tests.conftest import run_ffmpeg

    still = tmp_path / "big.jpg"
    run_ffmpeg("-f", "lavfi", "-i", "color=c=gray:s=8000x7500", "-frames:v", "1", str(still))
    audio = write_wav(tmp_path / "a.wav", speech_like(0.5))
    code = main([str(still), "--audio", str(audio), "-g", "warp", "-q"])
    err = capsys.readouterr().err.strip()
    assert code != 0 and "8000x7500 is 60 megapixels" in err and "scale it down" in err
    assert len(err.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "big.jpg"]
