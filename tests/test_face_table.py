"""Faces stored by column: what goes in comes back, also once a long table has moved its
regions to disk, and smoothing, tracks and the cache give the same faces from either."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lipdub import spill
from lipdub.faces import face_table
from lipdub.faces.detections import Detections
from lipdub.faces.face_table import FaceSeries
from lipdub.faces.regions import POINTS, FaceRegions
from lipdub.faces.smoothing import smooth_track
from lipdub.pipeline.analysis_cache import AnalysisCache
from lipdub.spill import RowBlocks
from lipdub.types import Face


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of 8 rows that spill past 16 rows, so a few dozen faces reach the disk."""
    monkeypatch.setattr(spill, "BLOCK_ROWS", 8)
    monkeypatch.setattr(spill, "SPILL_ROWS", 16)
    monkeypatch.setattr(face_table, "REGION_BLOCK_ROWS", 8)


def test_a_spilled_column_gives_back_every_row(small_blocks: None) -> None:
    rng = np.random.default_rng(0)
    data = rng.normal(size=(101, 3, 2)).astype(np.float32)
    column = RowBlocks((3, 2), np.float32, spill=True)
    column.extend(data[:50])
    for row in data[50:]:
        column.append(row)
    assert len(column) == 101
    assert column._blocks[0] is None  # the first rows live in the file now
    np.testing.assert_array_equal(column.array(), data)
    for rows in (rng.integers(0, 101, 40), np.array([0, 7]), np.array([100, 3, 3])):
        np.testing.assert_array_equal(column.take(rows), data[rows])
    with pytest.raises(IndexError):
        column.take(np.array([101]))
    column.close()


def test_spilled_rows_can_be_overwritten(small_blocks: None) -> None:
    column = RowBlocks((4,), np.float64, spill=True)
    column.extend(np.full((40, 4), np.nan))
    assert column._blocks[0] is None
    rows = np.array([0, 3, 9, 17, 39])
    column.put(rows, np.arange(20.0).reshape(5, 4))
    got = column.array()
    np.testing.assert_array_equal(got[rows], np.arange(20.0).reshape(5, 4))
    assert np.isnan(np.delete(got, rows, axis=0)).all()


def test_without_a_temporary_file_rows_stay_in_memory(
    small_blocks: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(spill.tempfile, "TemporaryFile", refuse)
    monkeypatch.setattr(spill, "_WARNED", set())
    data = np.arange(100.0)
    columns = [RowBlocks((), np.float64, spill=True, what="test rows") for _ in range(3)]
    for column in columns:
        column.extend(data)
        np.testing.assert_array_equal(column.array(), data)
        assert not column.spilled
    warnings = [r for r in caplog.records if "test rows kept in memory" in r.getMessage()]
    assert len(warnings) == 1 and "No space left" in warnings[0].getMessage()


def random_face(rng: np.random.Generator, k: int, regions: bool = True) -> Face:
    x, y = rng.uniform(0, 200, 2)
    points = FaceRegions(rng.uniform(0, 300, (POINTS, 2))) if regions else None
    detector = (x, y, x + 50.0, y + 60.0) if k % 3 == 0 else None
    return Face((x, y, x + 40.0 + k, y + 50.0), None, 0.5 + k / 1000, points, detector)


def assert_same_face(got: Face | None, want: Face | None) -> None:
    assert (got is None) == (want is None)
    if got is None or want is None:
        return
    assert got.box == pytest.approx(want.box)  # float32, like the analysis cache
    assert (got.detector_box is None) == (want.detector_box is None)
    assert got.detector_box == pytest.approx(want.detector_box)
    assert got.score == pytest.approx(want.score)
    assert (got.regions is None) == (want.regions is None)
    if got.regions is not None and want.regions is not None:
        np.testing.assert_array_equal(got.regions.points, want.regions.points)


def test_a_series_gives_back_its_faces_by_frame_and_by_slice(small_blocks: None) -> None:
    rng = np.random.default_rng(1)
    faces = [None if k % 7 == 3 else random_face(rng, k, k % 5 != 1) for k in range(60)]
    series = FaceSeries.of(faces)
    assert len(series) == 60 and series.table.points._blocks[0] is None
    for got, want in zip(series, faces, strict=True):
        assert_same_face(got, want)
    for k in (0, 3, 59, -1):
        assert_same_face(series[k], faces[k])
    part = series[10:30]
    assert isinstance(part, FaceSeries) and len(part) == 20
    for got, want in zip(part, faces[10:30], strict=True):
        assert_same_face(got, want)


def test_smoothing_is_the_same_whether_the_regions_were_spilled_or_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(2)
    base = rng.uniform(100, 200, (POINTS, 2))
    faces: list[Face | None] = []
    for k in range(80):
        points = base + rng.normal(0, 1.5, 2) + k
        box = (float(k), 10.0, k + 100.0, 120.0)
        faces.append(None if k == 40 else Face(box, None, 1.0, FaceRegions(points)))
    shots = [0] * 60 + [1] * 20
    whole = list(smooth_track(faces, shots, fps=25))
    monkeypatch.setattr(spill, "BLOCK_ROWS", 8)
    monkeypatch.setattr(spill, "SPILL_ROWS", 16)
    monkeypatch.setattr(face_table, "REGION_BLOCK_ROWS", 8)
    spilled = smooth_track(faces, shots, fps=25)
    assert spilled.table.points._blocks[0] is None
    for got, want in zip(spilled, whole, strict=True):
        assert_same_face(got, want)


def test_detections_tracks_and_the_cache_survive_spilling(
    small_blocks: None, tmp_path: Path
) -> None:
    rng = np.random.default_rng(3)
    frames, appearances, shots = [], [], []
    for k in range(70):  # two people side by side, the second gone for a while
        left = Face(
            (10.0 + k % 3, 10.0, 110.0, 130.0),
            None,
            0.9,
            FaceRegions(rng.uniform(0, 99, (POINTS, 2))),
        )
        right = Face((300.0, 12.0, 380.0, 110.0 + k % 2))
        frames.append([left] if 30 <= k < 40 else [left, right])
        appearances.append([rng.normal(size=14) for _ in frames[-1]])
        shots.append(0 if k < 50 else 1)
    found = Detections.from_lists(shots, frames, appearances, 640, 360)
    assert found.table.points._blocks[0] is None
    tracks = found.tracks()
    assert sorted((t.shot, t.frames) for t in tracks) == [(0, 40), (0, 50), (1, 20), (1, 20)]
    left, right = sorted((t for t in tracks if t.shot == 0), key=lambda t: t.mean_x)
    assert left.frames == 50 and right.frames == 40 and left.id != right.id
    assert_same_face(left.faces[35], frames[35][0])
    assert_same_face(right.faces[45], frames[45][1])
    assert 35 not in right.faces
    cache = AnalysisCache(tmp_path)
    cache.save("12" * 32, found, complete=True)
    back = cache.load("12" * 32, None)
    assert back is not None and back.shots == shots
    for k in range(70):
        for got, want in zip(back.faces_in(k), frames[k], strict=True):
            assert_same_face(got, want)
        want = np.array(appearances[k], np.float32).reshape(-1, 14)
        np.testing.assert_array_equal(back.appearances_in(k), want)
