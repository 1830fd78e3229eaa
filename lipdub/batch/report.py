"""The outcome of a batch: one result per item, counts, and the JSON report."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lipdub.errors import OutputError
from lipdub.media.filemode import apply_umask
from lipdub.pipeline.dub import DubSummary

#: Item statuses, in the order the summary lists their counts.
STATUSES = ("done", "skipped", "failed", "interrupted", "not started")


@dataclass
class ItemResult:
    """What happened to one item: ``status`` is one of :data:`STATUSES`."""

    name: str
    video: Path | None
    audio: Path | None
    output: Path | None
    status: str
    reason: str | None = None
    seconds: float = 0.0
    summary: DubSummary | None = None
    #: Times the item was started on a worker (2 when its first worker died under it).
    attempts: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the JSON report."""
        data: dict[str, Any] = {
            "name": self.name,
            "video": _text(self.video),
            "audio": _text(self.audio),
            "output": _text(self.output),
            "status": self.status,
            "reason": self.reason,
            "seconds": round(self.seconds, 3),
            "attempts": self.attempts,
        }
        if self.summary is not None:
            summary = self.summary
            data.update(
                generator=summary.generator,
                frames=summary.frames,
                dubbed_frames=summary.dubbed_frames,
                no_face_frames=summary.no_face_frames,
                shots=summary.shots,
                duration=round(summary.duration, 3),
            )
        return data


@dataclass
class BatchReport:
    """Every item's result, in input order, plus what the batch noticed along the way."""

    results: list[ItemResult]
    seconds: float
    jobs: int
    interrupted: bool = False
    unmatched_audio: list[Path] = field(default_factory=list)
    #: How many times components were built (once per distinct generator set-up and worker).
    component_builds: int = 0
    #: Where the items ran: ``local`` (threads) or ``ray``.
    executor: str = "local"

    def counts(self) -> dict[str, int]:
        """Items per status (every status present, possibly 0)."""
        counts = dict.fromkeys(STATUSES, 0)
        for result in self.results:
            counts[result.status] += 1
        return counts

    @property
    def ok(self) -> bool:
        """No item failed and the batch ran to the end."""
        return not self.interrupted and all(r.status in ("done", "skipped") for r in self.results)

    def as_dict(self) -> dict[str, Any]:
        """The machine-readable report (``lipdub batch --report``)."""
        return {
            "ok": self.ok,
            "interrupted": self.interrupted,
            "seconds": round(self.seconds, 3),
            "jobs": self.jobs,
            "executor": self.executor,
            "component_builds": self.component_builds,
            "counts": self.counts(),
            "items": [result.as_dict() for result in self.results],
            "unmatched_audio": [str(path) for path in self.unmatched_audio],
        }


def _text(path: Path | None) -> str | None:
    return None if path is None else str(path)


def write_report(report: BatchReport, path: Path) -> None:
    """Write the JSON report atomically (a temporary file renamed into place)."""
    folder = path.absolute().parent
    if not folder.is_dir():
        raise OutputError(f"cannot write the report {path}: folder {folder} does not exist")
    temp: Path | None = None
    try:
        handle, name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
        temp = Path(name)
        apply_umask(handle)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(report.as_dict(), stream, indent=2)
            stream.write("\n")
        os.replace(temp, path)
    except OSError as exc:
        if temp is not None:
            temp.unlink(missing_ok=True)
        raise OutputError(f"cannot write the report {path} ({exc.strerror or exc})") from None
