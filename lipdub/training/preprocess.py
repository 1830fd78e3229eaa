"""``lipdub train preprocess``: a folder of talking-face videos -> a training dataset.

Layout of ``DATASET_DIR``: ``clips/<id>.npz`` (see :mod:`lipdub.training.clips`),
``videos/<key>.json`` (one record per source video: its clips, or why it was dropped or failed;
a video with a record is skipped when the command runs again, so an interrupted run resumes)
and ``manifest.json`` (extractors, clips with their split, dropped videos, errors).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from lipdub import defaults
from lipdub.errors import InputError, LipdubError
from lipdub.media.filemode import apply_umask
from lipdub.pipeline.progress import ProgressCallback, no_progress
from lipdub.training.clips import (
    CLIP_FPS,
    ExtractorSpec,
    VideoResult,
    add_features,
    build_extractors,
    extractor_info,
    process_video,
)

MANIFEST_FORMAT = 1
VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".flv"}
SPLITS = ("train", "val", "test")


@dataclass
class PreprocessOptions:
    """What ``lipdub train preprocess`` was asked to do."""

    source: Path
    dataset: Path
    extractors: list[ExtractorSpec] = field(default_factory=lambda: [ExtractorSpec("mel")])
    clip_seconds: float = 5.0
    min_clip_seconds: float = 1.0
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0
    jobs: int = 1
    split_by: str = "clip"
    tracker: str = defaults.TRACKER


def find_videos(source: Path) -> list[Path]:
    """Every video file under ``source`` (recursively), sorted."""
    if not source.is_dir():
        raise InputError(f"{source} is not a folder of videos")
    videos = sorted(
        p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES
    )
    if not videos:
        raise InputError(f"{source} holds no video files ({', '.join(sorted(VIDEO_SUFFIXES))})")
    return videos


def video_key(video: Path, source: Path) -> str:
    """A file-name-safe unique key for ``video`` (its path below ``source``)."""
    relative = video.relative_to(source).with_suffix("").as_posix()
    return re.sub(r"[^A-Za-z0-9._-]+", "_", relative)


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        apply_umask(handle)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(data, stream, indent=1)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


_WORKER: dict[str, Any] = {}


def _process_one(
    video: Path, root: Path, key: str, options: PreprocessOptions
) -> tuple[VideoResult, dict[str, dict[str, Any]]]:
    """Worker: process one video (components are built once per process)."""
    from lipdub.plugins import get_component

    if "extractors" not in _WORKER:
        _WORKER["extractors"] = build_extractors(options.extractors)
        _WORKER["tracker"] = get_component("face_trackers", options.tracker)()
    extractors = _WORKER["extractors"]
    infos = {name: extractor_info(e) for name, e in extractors.items()}
    marker = root / "videos" / f"{key}.json"
    changed = True
    try:
        if marker.is_file():  # resumed: only compute features not stored yet (or changed)
            result = VideoResult(**json.loads(marker.read_text(encoding="utf-8")))
            stale = {
                name
                for name, info in infos.items()
                if result.extractors.get(name, {}).get("identity") != info["identity"]
            }
            for clip in result.clips if stale else []:
                add_features(root, clip, {n: extractors[n] for n in stale}, replace=True)
            changed = bool(stale)
        else:
            result = process_video(
                video,
                root,
                key,
                extractors,
                _WORKER["tracker"],
                clip_seconds=options.clip_seconds,
                min_clip_seconds=options.min_clip_seconds,
            )
    except LipdubError as exc:
        result = VideoResult(video=str(video), error=str(exc))
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the dataset
        result = VideoResult(video=str(video), error=f"{type(exc).__name__}: {exc}")
    result.extractors = {**result.extractors, **infos}
    if result.error is None and changed:
        _write_json(marker, asdict(result))
    return result, infos


def assign_splits(
    groups: list[str], ratios: tuple[float, float, float], seed: int
) -> dict[str, str]:
    """A seeded random train/val/test split of the distinct ``groups`` (sorted first).

    Val and test get ``round(n * ratio)`` groups each, at least one when there are three or
    more groups and the ratio is positive; train gets the rest.
    """
    names = sorted(set(groups))
    if any(r < 0 for r in ratios) or sum(ratios) <= 0:
        raise InputError(f"split ratios must be non-negative and not all 0, got {ratios}")
    total = sum(ratios)
    order = np.random.default_rng(seed).permutation(len(names))
    counts = []
    for ratio in ratios[1:]:
        count = round(len(names) * ratio / total)
        if ratio > 0 and count == 0 and len(names) >= 3:
            count = 1
        counts.append(count)
    n_val, n_test = counts
    split = {}
    for rank, index in enumerate(order):
        split[names[index]] = (
            "val" if rank < n_val else "test" if rank < n_val + n_test else "train"
        )
    return split


def preprocess(
    options: PreprocessOptions, progress: ProgressCallback = no_progress
) -> dict[str, Any]:
    """Build (or resume) the dataset; returns the manifest (also written to manifest.json)."""
    if options.split_by not in ("clip", "video"):
        raise InputError(f"--split-by must be 'clip' or 'video', not {options.split_by!r}")
    from lipdub.plugins import get_component

    for spec in options.extractors:  # unknown names fail here, before any work
        get_component("audio_extractors", spec.name)
    get_component("face_trackers", options.tracker)
    videos = find_videos(options.source)
    root = options.dataset
    root.mkdir(parents=True, exist_ok=True)
    jobs = [(video, video_key(video, options.source)) for video in videos]
    results: list[VideoResult] = []
    infos: dict[str, dict[str, Any]] = {}
    progress("preprocess", 0, len(jobs))

    def collect(outcome: tuple[VideoResult, dict[str, dict[str, Any]]]) -> None:
        results.append(outcome[0])
        infos.update(outcome[1])
        progress("preprocess", len(results), len(jobs))

    if options.jobs <= 1:
        for video, key in jobs:
            collect(_process_one(video, root, key, options))
    else:
        _run_parallel(jobs, root, options, collect)
    _WORKER.clear()
    return write_manifest(root, results, infos, options)


def _run_parallel(
    jobs: list[tuple[Path, str]],
    root: Path,
    options: PreprocessOptions,
    collect: Callable[[tuple[VideoResult, dict[str, dict[str, Any]]]], None],
) -> None:
    with ProcessPoolExecutor(options.jobs, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_process_one, video, root, key, options) for video, key in jobs]
        for future in as_completed(futures):
            collect(future.result())


def write_manifest(
    root: Path,
    results: list[VideoResult],
    infos: dict[str, dict[str, Any]],
    options: PreprocessOptions,
) -> dict[str, Any]:
    """Assemble, split and write ``manifest.json``."""
    results = sorted(results, key=lambda r: r.video)
    clips = [clip for result in results for clip in result.clips]
    group_of = {c["id"]: (c["id"] if options.split_by == "clip" else c["video"]) for c in clips}
    split = assign_splits(list(group_of.values()), options.ratios, options.seed)
    for clip in clips:
        clip["split"] = split[group_of[clip["id"]]]
    previous = root / "manifest.json"
    if previous.is_file():  # features cached by earlier runs (e.g. another --model) stay listed
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            infos = {**json.loads(previous.read_text(encoding="utf-8"))["extractors"], **infos}
    manifest = {
        "format": MANIFEST_FORMAT,
        "fps": CLIP_FPS,
        "clip_seconds": options.clip_seconds,
        "seed": options.seed,
        "ratios": list(options.ratios),
        "split_by": options.split_by,
        "extractors": infos,
        "clips": clips,
        "counts": {name: sum(c["split"] == name for c in clips) for name in SPLITS},
        "dropped": [{"video": r.video, "reason": r.dropped} for r in results if r.dropped],
        "errors": [{"video": r.video, "error": r.error} for r in results if r.error],
    }
    _write_json(root / "manifest.json", manifest)
    return manifest
