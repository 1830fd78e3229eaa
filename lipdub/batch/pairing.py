"""Which video goes with which audio: pairing folders by file stem, or reading a manifest CSV."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lipdub.components import kind_of_prefix
from lipdub.errors import InputError

VIDEO_SUFFIXES = frozenset(
    {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv", ".ts",
     ".mts", ".m2ts", ".3gp", ".ogv"}
)  # fmt: skip
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
AUDIO_SUFFIXES = frozenset(
    {".wav", ".mp3", ".m4a", ".aac", ".flac", ".ogg", ".oga", ".opus", ".wma", ".aif", ".aiff"}
)
#: Files ``lipdub batch`` treats as videos (stills are dubbed in static mode) and as audio
#: (a video's audio stream can be the dub).
VIDEO_INPUTS = VIDEO_SUFFIXES | IMAGE_SUFFIXES
AUDIO_INPUTS = AUDIO_SUFFIXES | VIDEO_SUFFIXES


@dataclass
class BatchItem:
    """One dub of a batch. ``error`` is set when the item cannot run (found while pairing)."""

    name: str
    video: Path | None
    audio: Path | None
    output: Path | None
    #: Dub options for this item only (manifest columns), as the CLI would parse them.
    options: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class Pairing:
    """The items of a batch and the audio files no video asked for."""

    items: list[BatchItem]
    unmatched_audio: list[Path] = field(default_factory=list)


def media_files(folder: Path, suffixes: frozenset[str], what: str) -> list[Path]:
    """The (non-hidden) files directly in ``folder`` with one of ``suffixes``, sorted."""
    if not folder.is_dir():
        raise InputError(f"{what} folder {folder} does not exist or is not a folder")
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and not path.name.startswith(".") and path.suffix.lower() in suffixes
    )


def by_stem(files: list[Path]) -> dict[str, list[Path]]:
    """Files grouped by their name without the extension."""
    groups: dict[str, list[Path]] = defaultdict(list)
    for path in files:
        groups[path.stem].append(path)
    return groups


def output_for(video: Path, out_dir: Path) -> Path:
    """Where a batch writes the dub of ``video``: ``OUT_DIR/<stem>.mp4``."""
    return out_dir / f"{video.stem}.mp4"


def pair_folder(
    video_dir: Path,
    out_dir: Path,
    *,
    audio_dir: Path | None = None,
    audio: Path | None = None,
) -> Pairing:
    """Pair every video in ``video_dir`` with the file of the same stem in ``audio_dir``, or
    with the one ``audio`` for all. Videos without (or with ambiguous) audio become items that
    fail with the reason; audio files without a video are returned as ``unmatched_audio``."""
    if (audio_dir is None) == (audio is None):
        raise InputError("give either --audio-dir DIR (pair by name) or --audio FILE (one for all)")
    videos = by_stem(media_files(video_dir, VIDEO_INPUTS, "video"))
    if not videos:
        raise InputError(f"no videos or images found in {video_dir}")
    audios = by_stem(media_files(audio_dir, AUDIO_INPUTS, "audio")) if audio_dir else {}
    if audio is not None and not audio.is_file():
        raise InputError(f"audio file {audio} does not exist")
    items: list[BatchItem] = []
    for stem, found in sorted(videos.items()):
        error = None
        if len(found) > 1:
            names = ", ".join(path.name for path in found)
            error = f"several videos named {stem}.* ({names}); rename all but one"
        matched = audio
        if audio_dir is not None:
            candidates = audios.get(stem, [])
            if not candidates:
                error = error or f"no audio named {stem}.* in {audio_dir}"
            elif len(candidates) > 1:
                names = ", ".join(path.name for path in candidates)
                error = error or f"several audio files named {stem}.* ({names}); keep one"
            else:
                matched = candidates[0]
        items.append(BatchItem(stem, found[0], matched, output_for(found[0], out_dir), error=error))
    unmatched = sorted(
        path for stem, paths in audios.items() if stem not in videos for path in paths
    )
    return Pairing(items, unmatched)


def _pads(text: str) -> list[int]:
    return [int(part) for part in text.replace(",", " ").split()]


def _bool(text: str) -> bool:
    return text.strip().lower() in {"1", "true", "yes", "on"}


def _audio_for(text: str) -> list[str]:
    """``0=alice.wav; 1=bob.wav`` (``;`` between pairs) as ``--audio-for`` flags."""
    return [part.strip() for part in text.split(";") if part.strip()]


def _relative_pair(pair: str, path: Callable[[str], Path | None]) -> str:
    """``TRACK=FILE`` with FILE resolved by ``path`` (a malformed pair is kept as it is)."""
    track, equals, file = pair.partition("=")
    resolved = path(file) if equals else None
    return f"{track}={resolved}" if resolved is not None else pair


#: Manifest columns that set a dub option for one row, and how each cell is read.
MANIFEST_OPTIONS: dict[str, Callable[[str], Any]] = {
    "generator": str,
    "checkpoint": Path,
    "blender": str,
    "tracker": str,
    "model": str,
    "face": str,
    "pads": _pads,
    "fps": float,
    "fit": lambda text: [text],
    "device": str,
    "precision": str,
    "fp32": _bool,
    "allow_no_face": _bool,
    "speakers": Path,
    "audio_for": _audio_for,
    "drive_audio": Path,
    "batch_size": int,
    "scene_threshold": float,
}
_PATH_OPTIONS = {"checkpoint", "speakers", "drive_audio"}


def _column(header: str) -> str:
    return header.strip().lower().lstrip("-").replace("-", "_")


def _is_component_option(column: str) -> bool:
    """``blender.feather``: a column named like ``--option KIND.KEY``."""
    kind, dot, key = column.partition(".")
    return bool(dot and key) and kind_of_prefix(kind) is not None


def read_manifest(manifest: Path, out_dir: Path | None) -> Pairing:
    """Items from a CSV with a header row: ``video``, ``audio``, optional ``output`` and any of
    :data:`MANIFEST_OPTIONS` (empty cells use the batch's options). Relative paths are taken
    from the manifest's folder; rows without an output go to ``out_dir``."""
    if not manifest.is_file():
        raise InputError(f"manifest {manifest} does not exist")
    base = manifest.parent
    try:
        with open(manifest, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"manifest {manifest}: cannot be read as CSV ({exc})") from None
    if not rows:
        raise InputError(f"manifest {manifest} is empty")
    header = [_column(cell) for cell in rows[0]]
    known = {"video", "audio", "output", *MANIFEST_OPTIONS}
    unknown = [cell for cell in header if cell not in known and not _is_component_option(cell)]
    if unknown or "video" not in header or "audio" not in header:
        problem = f"unknown column {unknown[0]!r}" if unknown else "needs video and audio columns"
        raise InputError(
            f"manifest {manifest}: {problem} (columns: video, audio, output, "
            f"{', '.join(MANIFEST_OPTIONS)}, or KIND.KEY for a component option)"
        )
    items = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        cells = dict(zip(header, row, strict=False))
        items.append(_manifest_item(manifest.name, line, cells, base, out_dir))
    if not items:
        raise InputError(f"manifest {manifest} lists no items")
    return Pairing(items)


def _manifest_item(
    source: str, line: int, cells: dict[str, str], base: Path, out_dir: Path | None
) -> BatchItem:
    def path(value: str) -> Path | None:
        value = value.strip()
        return (base / Path(value).expanduser()) if value else None

    video, audio = path(cells.get("video", "")), path(cells.get("audio", ""))
    output = path(cells.get("output", ""))
    name = f"{source}:{line} {video.stem if video else '?'}"
    item = BatchItem(name, video, audio, output)
    if video is None or audio is None:
        item.error = f"line {line}: the {'video' if video is None else 'audio'} cell is empty"
        return item
    if output is None:
        if out_dir is None:
            item.error = f"line {line}: no output column value and no -o OUT_DIR"
            return item
        item.output = output_for(video, out_dir)
    for column, convert in MANIFEST_OPTIONS.items():
        text = cells.get(column, "").strip()
        if not text:
            continue
        try:
            value = convert(text)
        except ValueError:
            item.error = f"line {line}: {column} {text!r} is not a valid value"
            return item
        if column == "audio_for":  # TRACK=FILE pairs: FILE is relative to the manifest too
            value = [_relative_pair(pair, path) for pair in value]
        item.options[column] = path(text) if column in _PATH_OPTIONS else value
    flags = [
        f"{column}={text.strip()}"
        for column, text in cells.items()
        if _is_component_option(column) and text.strip()
    ]
    if flags:
        item.options["option"] = flags
    return item
