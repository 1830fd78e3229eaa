"""The analysis cache: a second dub of the same video skips the first pass, gives the same
picture, and ``--no-cache`` / another tracker setting / other content do not reuse it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lipdub.faces.regions import POINTS, FaceRegions
from lipdub.media.reader import VideoReader
from lipdub.pipeline.analysis import Detections
from lipdub.pipeline.analysis_cache import AnalysisCache, analysis_key
from lipdub.pipeline.dub import dub
from lipdub.testing import lipdub_plugins  # noqa: F401 - fixture
from lipdub.types import Face
from tests.conftest import make_talking_head, speech_like, write_wav
from tests.test_engine import BoxTracker, registered, request_for  # noqa: F401 - fixture


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    work = tmp_path_factory.mktemp("cache")
    video = make_talking_head(work / "face.mp4", seconds=1.2)
    first = write_wav(work / "english.wav", speech_like(1.2, seed=3))
    second = write_wav(work / "french.wav", speech_like(0.8, seed=4))
    return video, first, second


def detections() -> Detections:
    rng = np.random.default_rng(1)
    regions = FaceRegions(rng.uniform(0, 300, (POINTS, 2)))
    faces = [
        [Face((1.0, 2.0, 50.5, 60.25), None, 0.9, regions, (0.0, 1.0, 2.0, 3.0))],
        [],
        [Face((5.0, 6.0, 70.0, 80.0)), Face((100.0, 6.0, 170.0, 80.0), None, 0.5, regions)],
    ]
    appearances = [[rng.normal(size=14) for _ in frame] for frame in faces]
    return Detections.from_lists([0, 0, 1], faces, appearances, 320, 240)


def test_stored_detections_come_back_the_same(tmp_path: Path) -> None:
    found = detections()
    cache = AnalysisCache(tmp_path)
    cache.save("ef" * 32, found, complete=True)
    back = cache.load("ef" * 32, None)
    assert back is not None and back.shots == found.shots
    assert (back.width, back.height) == (320, 240)
    for frame in range(found.n_frames):
        got, want = back.faces_in(frame), found.faces_in(frame)
        assert [f.box for f in got] == [f.box for f in want]
        assert [f.detector_box for f in got] == [f.detector_box for f in want]
        assert [f.score for f in got] == pytest.approx([f.score for f in want])
        for a, b in zip(got, want, strict=True):
            assert (a.regions is None) == (b.regions is None)
            if a.regions is not None:
                np.testing.assert_array_equal(a.regions.points, b.regions.points)
        np.testing.assert_array_equal(back.appearances_in(frame), found.appearances_in(frame))


def test_a_partial_entry_serves_only_shorter_dubs(tmp_path: Path) -> None:
    cache = AnalysisCache(tmp_path)
    cache.save("ab" * 32, detections(), complete=False)
    assert cache.load("ab" * 32, 2).n_frames == 2  # type: ignore[union-attr]
    assert cache.load("ab" * 32, 3) is not None
    assert cache.load("ab" * 32, 4) is None and cache.load("ab" * 32, None) is None
    cache.save("cd" * 32, detections(), complete=True)
    assert cache.load("cd" * 32, None).n_frames == 3  # type: ignore[union-attr]


def test_the_key_follows_content_tracker_options_and_rate(registered, tmp_path: Path) -> None:  # noqa: F811
    from lipdub.faces.mediapipe_tracker import MediapipeTracker

    video = tmp_path / "v.bin"
    video.write_bytes(b"a" * 1000)
    tracker = MediapipeTracker()
    key = analysis_key(video, tracker, 25.0, 27.0)
    assert key == analysis_key(video, MediapipeTracker(), 25.0, 27.0)
    assert key != analysis_key(video, MediapipeTracker(detect_every=3), 25.0, 27.0)
    assert key != analysis_key(video, tracker, 30.0, 27.0)
    assert key != analysis_key(video, tracker, 25.0, 20.0)
    video.write_bytes(b"a" * 999 + b"b")
    assert key != analysis_key(video, tracker, 25.0, 27.0)


@pytest.mark.slow
def test_second_language_reuses_the_first_pass(registered, clip, tmp_path: Path) -> None:  # noqa: F811
    video, english, french = clip
    first = dub(request_for((video, english), tmp_path / "en.mp4"))
    calls = BoxTracker.calls
    assert not first.analysis_reused and calls == first.frames == 30
    assert first.detect_ms_per_frame is not None

    second = dub(request_for((video, french), tmp_path / "fr.mp4"))
    assert second.analysis_reused and BoxTracker.calls == calls  # no frame analysed again
    assert second.frames == 20 and second.dubbed_frames == 20

    fresh = dub(request_for((video, french), tmp_path / "fr2.mp4", analysis_cache=False))
    assert not fresh.analysis_reused and BoxTracker.calls == calls + 20
    cached = np.stack(list(VideoReader(tmp_path / "fr.mp4").frames()))
    uncached = np.stack(list(VideoReader(tmp_path / "fr2.mp4").frames()))
    np.testing.assert_array_equal(cached, uncached)


@pytest.mark.slow
def test_no_cache_writes_no_entry_and_a_longer_dub_analyses_again(
    registered,  # noqa: F811
    clip,
    tmp_path: Path,
) -> None:
    video, english, french = clip
    dub(request_for((video, french), tmp_path / "a.mp4", analysis_cache=False))
    assert BoxTracker.calls == 20
    assert not list(AnalysisCache().root.rglob("*.npz"))
    # an entry for the first 20 frames cannot serve a 30-frame dub: it analyses again
    dub(request_for((video, french), tmp_path / "c.mp4"))
    longer = dub(request_for((video, english), tmp_path / "d.mp4"))
    assert not longer.analysis_reused and BoxTracker.calls == 20 + 20 + 30
