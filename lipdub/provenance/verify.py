"""``lipdub verify``'s work: read a file's manifest, look for the watermark, read the tags."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lipdub.errors import InputError
from lipdub.provenance import manifest as manifests
from lipdub.provenance import tags as tag_reader
from lipdub.provenance.detect import Detector, MarkReport

#: Frames verify reads by default (the mark is in every redrawn frame; 20 s at 25 fps).
DEFAULT_MAX_FRAMES = 500


@dataclass
class VerifyReport:
    """Everything verify found in one file."""

    path: Path
    manifest: manifests.ManifestReport
    watermark: MarkReport | None
    tags: dict[str, str]
    #: Why the watermark was not looked for (a still image, a file without video).
    watermark_note: str | None = None

    @property
    def marks(self) -> list[str]:
        """The marks found: ``manifest``, ``watermark``, ``tags``."""
        found = []
        if self.manifest.synthetic:
            found.append("manifest")
        if self.watermark is not None and self.watermark.found:
            found.append("watermark")
        if self.tags:
            found.append("tags")
        return found

    @property
    def marked(self) -> bool:
        return bool(self.marks)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "marked": self.marked,
            "marks": self.marks,
            "manifest": self.manifest.to_json(),
            "watermark": None if self.watermark is None else self.watermark.to_json(),
            "watermark_note": self.watermark_note,
            "tags": self.tags,
        }


def verify(
    path: Path,
    tracker: Any,
    max_frames: int | None = DEFAULT_MAX_FRAMES,
    progress: Callable[[int, int | None], None] | None = None,
) -> VerifyReport:
    """Check ``path`` for all three marks; ``tracker`` is a face tracker (re-finds the face)."""
    from lipdub.media.probe import probe

    if not Path(path).is_file():
        raise InputError(f"{path}: no such file")
    info = probe(path)
    report = VerifyReport(path, manifests.read(Path(path)), None, {})
    report.tags = tag_reader.read_tags(Path(path), dict(info.metadata or {}))
    if not info.has_video:
        report.watermark_note = "no video stream"
    elif info.is_still:
        report.watermark_note = "a still image (the watermark needs video frames)"
    else:
        report.watermark = find_watermark(info, tracker, max_frames, progress)
    return report


def find_watermark(
    info: Any,
    tracker: Any,
    max_frames: int | None = DEFAULT_MAX_FRAMES,
    progress: Callable[[int, int | None], None] | None = None,
) -> MarkReport:
    """Track the faces of the video ``info`` and correlate every face with the mark."""
    from lipdub.media.reader import VideoReader

    detector = Detector()
    total = info.n_frames if max_frames is None else min(info.n_frames or max_frames, max_frames)
    reader = VideoReader(info)
    for index, frame in enumerate(reader.frames(count=max_frames)):
        for face in tracker.detect(frame):
            detector.add(frame, face.regions, index)
        if progress is not None:
            progress(index + 1, total)
    return detector.report()
