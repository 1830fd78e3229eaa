"""What ``lipdub eval`` evaluates: one video, a folder of videos, or a manifest.

A manifest is a ``.csv`` file with a header row, or a ``.json`` list of objects, with the
columns ``video`` (required), ``audio`` and ``reference`` (optional); relative paths are
relative to the manifest's folder. In a folder, every video file (by extension, not
recursive, sorted by name) is evaluated; ``--reference DIR`` then pairs each with the file of
the same name (or, failing that, the same stem) in DIR.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from lipdub.errors import InputError

VIDEO_EXTENSIONS = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".flv"}
MANIFEST_EXTENSIONS = {".csv", ".json"}


@dataclass(frozen=True)
class EvalItem:
    """One video to evaluate, the audio to judge it against and its ground truth."""

    video: Path
    audio: Path | None = None
    reference: Path | None = None


def _paired_reference(video: Path, reference_dir: Path) -> Path:
    same_name = reference_dir / video.name
    if same_name.is_file():
        return same_name
    stems = sorted(p for p in reference_dir.iterdir() if p.is_file() and p.stem == video.stem)
    if not stems:
        raise InputError(f"no reference for {video.name} in {reference_dir} (same name or stem)")
    return stems[0]


def _manifest_path(value: object, base: Path, row: int, column: str) -> Path | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise InputError(f"manifest row {row}: {column} must be a path, got {value!r}")
    path = Path(value.strip()).expanduser()
    return path if path.is_absolute() else base / path


def read_manifest(path: Path) -> list[EvalItem]:
    """The items of a ``.csv`` or ``.json`` manifest."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read manifest {path}: {exc}") from None
    if path.suffix.lower() == ".json":
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"manifest {path} is not valid JSON ({exc.msg}, line {exc.lineno})"
            ) from None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise InputError(f"manifest {path} must be a JSON list of objects")
    else:
        rows = list(csv.DictReader(text.splitlines()))
    items = []
    for number, row in enumerate(rows, start=1):
        video = _manifest_path(row.get("video"), path.parent, number, "video")
        if video is None:
            raise InputError(f"manifest {path}, row {number}: no 'video' column/value")
        items.append(
            EvalItem(
                video=video,
                audio=_manifest_path(row.get("audio"), path.parent, number, "audio"),
                reference=_manifest_path(row.get("reference"), path.parent, number, "reference"),
            )
        )
    if not items:
        raise InputError(f"manifest {path} lists no videos")
    return items


def collect_items(
    target: Path, audio: Path | None = None, reference: Path | None = None
) -> tuple[list[EvalItem], bool]:
    """``(items, several)``: what to evaluate and whether ``target`` named several videos."""
    if not target.exists():
        raise InputError(f"{target} does not exist")
    if target.is_dir():
        if audio is not None:
            raise InputError("--audio applies to one video; give a manifest for per-video audio")
        if reference is not None and not reference.is_dir():
            raise InputError(f"with a folder of videos, --reference must be a folder ({reference})")
        videos = sorted(p for p in target.iterdir() if p.suffix.lower() in VIDEO_EXTENSIONS)
        if not videos:
            raise InputError(f"no video files in {target}")
        return [
            EvalItem(v, None, None if reference is None else _paired_reference(v, reference))
            for v in videos
        ], True
    if target.suffix.lower() in MANIFEST_EXTENSIONS:
        if audio is not None or reference is not None:
            raise InputError("with a manifest, give audio and reference in its columns")
        return read_manifest(target), True
    if reference is not None and reference.is_dir():
        reference = _paired_reference(target, reference)
    return [EvalItem(target, audio, reference)], False
