"""The face tracks of a video, for ``lipdub faces``: one row per person and a contact sheet."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from lipdub import defaults
from lipdub.components import FaceTracker
from lipdub.errors import InputError
from lipdub.eval.agreement import loudness_per_frame
from lipdub.faces.speaker import speaking_score
from lipdub.faces.tracks import FaceTrack, people_of
from lipdub.media.audio import load_audio
from lipdub.media.probe import probe
from lipdub.media.reader import VideoReader
from lipdub.pipeline.analysis import detect
from lipdub.types import Face

#: Side of one contact-sheet thumbnail (pixels) and thumbnails per row.
THUMB = 160
SHEET_COLUMNS = 6


@dataclass
class TrackRow:
    """One person of the video (``id`` as ``--face`` numbering is per shot, see README)."""

    id: int
    shots: list[int]
    frames: int
    mean_size: float
    #: Best agreement of the mouth with the source audio over the person's shots (None: no
    #: audio, or the mouth never moves).
    speaking_score: float | None
    #: The frame of the person's largest face (the thumbnail's).
    best_frame: int

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class FaceListing:
    """Every person in a video and the faces the sheet shows."""

    rows: list[TrackRow]
    has_audio: bool
    frames: int
    shots: int
    thumbnails: list[np.ndarray]


def list_faces(
    video: Path, tracker: FaceTracker, scene_threshold: float = defaults.SCENE_THRESHOLD
) -> FaceListing:
    """Detect, track and score every face of ``video``."""
    info = probe(video)
    if not info.has_video:
        raise InputError(f"{video}: has no video stream")
    reader = VideoReader(info)
    fps = float(info.fps or defaults.STILL_FPS)
    found = detect(reader.frames(), tracker, fps, scene_threshold)
    if not found.shots:
        raise InputError(f"{video}: no video frames could be decoded")
    tracks = found.tracks()
    loudness = None
    if info.has_audio and not info.is_still:
        wav = load_audio(info, defaults.ANALYSIS_SAMPLE_RATE)
        loudness = loudness_per_frame(wav, fps, len(found.shots), defaults.ANALYSIS_SAMPLE_RATE)
    shot_frames: dict[int, list[int]] = {}
    for index, shot in enumerate(found.shots):
        shot_frames.setdefault(shot, []).append(index)
    rows = []
    best_faces: list[Face] = []
    for person in people_of(tracks):
        scores = [_score(t, shot_frames[t.shot], loudness) for t in person.tracks]
        finite = [s for s in scores if s is not None]
        frame, face = max(
            ((i, f) for t in person.tracks for i, f in t.faces.items()), key=lambda p: p[1].area
        )
        sizes = [t.mean_size * t.frames for t in person.tracks]
        rows.append(
            TrackRow(
                id=person.id,
                shots=person.shots,
                frames=person.frames,
                mean_size=round(float(sum(sizes) / max(person.frames, 1)), 1),
                speaking_score=round(max(finite), 3) if finite else None,
                best_frame=frame,
            )
        )
        best_faces.append(face)
    pairs = zip(rows, best_faces, strict=True)
    thumbs = [_thumbnail(reader, row.best_frame, face) for row, face in pairs]
    return FaceListing(rows, loudness is not None, len(found.shots), max(found.shots) + 1, thumbs)


def _score(track: FaceTrack, frames: list[int], loudness: np.ndarray | None) -> float | None:
    if loudness is None:
        return None
    score = speaking_score(track, frames, loudness)
    return float(score) if np.isfinite(score) else None


def _thumbnail(reader: VideoReader, index: int, face: Face) -> np.ndarray:
    """A square crop around ``face`` in frame ``index``, :data:`THUMB` pixels wide."""
    frame = next(reader.frames(start=index, count=1), None)
    if frame is None:
        return np.zeros((THUMB, THUMB, 3), np.uint8)
    height, width = frame.shape[:2]
    x1, y1, x2, y2 = face.regions.oval_box() if face.regions is not None else face.box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    half = 0.65 * max(x2 - x1, y2 - y1, 8)
    left, top = int(max(0, cx - half)), int(max(0, cy - half))
    right, bottom = int(min(width, cx + half)), int(min(height, cy + half))
    crop = frame[top:bottom, left:right]
    if crop.size == 0:
        return np.zeros((THUMB, THUMB, 3), np.uint8)
    return cv2.resize(crop, (THUMB, THUMB), interpolation=cv2.INTER_AREA)


def contact_sheet(listing: FaceListing) -> np.ndarray:
    """One labelled thumbnail per person, :data:`SHEET_COLUMNS` per row (RGB)."""
    count = max(1, len(listing.thumbnails))
    columns = min(SHEET_COLUMNS, count)
    rows = -(-count // columns)
    label = 24
    sheet = np.full((rows * (THUMB + label), columns * THUMB, 3), 32, np.uint8)
    for k, (row, thumb) in enumerate(zip(listing.rows, listing.thumbnails, strict=True)):
        y, x = (k // columns) * (THUMB + label), (k % columns) * THUMB
        sheet[y : y + THUMB, x : x + THUMB] = thumb
        text = f"track {row.id}"
        if row.speaking_score is not None:
            text += f"  {row.speaking_score:.2f}"
        cv2.putText(
            sheet, text, (x + 4, y + THUMB + 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1
        )
    return sheet


def write_sheet(listing: FaceListing, path: Path) -> None:
    """Write :func:`contact_sheet` as a PNG."""
    image = cv2.cvtColor(contact_sheet(listing), cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise InputError(f"cannot encode the contact sheet for {path}")
    path.write_bytes(data.tobytes())
