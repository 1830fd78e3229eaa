"""Face tracks with identity: linked within a shot by box overlap, across shots by appearance.

Within a shot, detections are linked frame to frame (:func:`~lipdub.faces.selection.link_tracks`:
box overlap and centre distance, bridging short dropouts). Every detection also gets an
appearance descriptor (:func:`appearance_of`): colour statistics of the face and of the hair
band above it, plus face-shape ratios from the named regions. Tracks of later shots take the
id of the most similar person seen before (one person per id within a shot), or a new id, so
ids are numbered in order of first appearance (left to right within a frame) and are the same
every time the same video is analysed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from lipdub.faces.face_table import TrackFaces, boxes_of
from lipdub.faces.selection import link_tracks
from lipdub.media.shrink import shrink
from lipdub.spill import RowBlocks
from lipdub.types import Face

#: Colour differences (OpenCV 8-bit Lab units) are divided by this ...
COLOUR_SCALE = 12.0
#: ... and face-shape ratio differences by this, before they are averaged.
SHAPE_SCALE = 0.04
#: Tracks of different shots closer than this (see :func:`appearance_distance`) are one person.
SAME_PERSON = 1.0
#: Number of colour values at the start of a descriptor (face mean/std, hair mean: Lab).
COLOURS = 9
#: Side of the square the face is resized to before its colours are measured.
SAMPLE_SIDE = 32
#: Length of a descriptor: the colours, then the five :func:`shape_ratios`.
APPEARANCE = COLOURS + 5


def _lab_stats(frame: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray | None:
    """Mean and standard deviation of the Lab colours inside ``box`` (None when empty)."""
    height, width = frame.shape[:2]
    x1, y1 = int(max(0, np.floor(box[0]))), int(max(0, np.floor(box[1])))
    x2, y2 = int(min(width, np.ceil(box[2]))), int(min(height, np.ceil(box[3])))
    if x2 - x1 < 2 or y2 - y1 < 2:
        return None
    crop = shrink(frame[y1:y2, x1:x2], (SAMPLE_SIDE, SAMPLE_SIDE))
    lab = cv2.cvtColor(crop, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float64)
    return np.concatenate([lab.mean(axis=0), lab.std(axis=0)])


def shape_ratios(face: Face) -> np.ndarray:
    """Size-free face-shape ratios from the regions (NaN without regions): width / height,
    eye distance / width, mouth width / width, nose-to-chin / height, eyes-to-mouth / height."""
    regions = face.regions
    if regions is None or not regions.is_finite():
        return np.full(5, np.nan)
    height, width = max(regions.face_height, 1e-6), max(regions.face_width, 1e-6)
    eyes, corners = regions.eyes, regions.mouth_corners
    eye_mid, mouth_mid = eyes.mean(axis=0), corners.mean(axis=0)
    return np.array(
        [
            width / height,
            float(np.linalg.norm(eyes[1] - eyes[0])) / width,
            float(np.linalg.norm(corners[1] - corners[0])) / width,
            float(np.linalg.norm(regions.chin - regions.nose_base)) / height,
            float(np.linalg.norm(mouth_mid - eye_mid)) / height,
        ]
    )


def appearance_of(frame: np.ndarray, face: Face) -> np.ndarray:
    """The appearance descriptor of ``face`` in ``frame`` (RGB): face Lab mean and std, the
    Lab mean of the hair band above the face, then :func:`shape_ratios`; NaN where unknown."""
    box = face.regions.oval_box() if face.regions is not None else face.box
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    inner = (x1 + 0.2 * w, y1 + 0.25 * h, x2 - 0.2 * w, y2 - 0.1 * h)
    hair = (x1 + 0.1 * w, y1 - 0.2 * h, x2 - 0.1 * w, y1 + 0.05 * h)
    skin = _lab_stats(frame, inner)
    top = _lab_stats(frame, hair)
    colours = np.full(COLOURS, np.nan)
    if skin is not None:
        colours[:6] = skin
    if top is not None:
        colours[6:] = top[:3]
    return np.concatenate([colours, shape_ratios(face)])


def appearance_distance(a: np.ndarray, b: np.ndarray) -> float:
    """How different two descriptors are: RMS colour difference / :data:`COLOUR_SCALE` plus
    RMS shape difference / :data:`SHAPE_SCALE`, over the values both know (inf if none)."""
    parts = []
    for part, scale in ((slice(0, COLOURS), COLOUR_SCALE), (slice(COLOURS, None), SHAPE_SCALE)):
        diff = (a[part] - b[part]) / scale
        diff = diff[np.isfinite(diff)]
        if diff.size:
            parts.append(float(np.sqrt(np.mean(diff**2))))
    return float(sum(parts)) if parts else float("inf")


@dataclass
class FaceTrack:
    """One person within one shot: their face per frame index and their identity ``id``."""

    id: int
    shot: int
    faces: Mapping[int, Face]
    appearance: np.ndarray
    frames_in_shot: int = 0

    @property
    def frames(self) -> int:
        return len(self.faces)

    @property
    def first_frame(self) -> int:
        return min(self.faces)

    @property
    def mean_size(self) -> float:
        """Mean face height (pixels; the box height without regions)."""
        sizes = [
            f.regions.face_height if f.regions is not None else f.box[3] - f.box[1]
            for f in self.faces.values()
        ]
        return float(np.mean(sizes))

    @property
    def mean_x(self) -> float:
        boxes = boxes_of(self.faces)
        return float(np.mean((boxes[:, 0] + boxes[:, 2]) / 2))


@dataclass
class Person:
    """One identity across shots."""

    id: int
    tracks: list[FaceTrack] = field(default_factory=list)

    @property
    def appearance(self) -> np.ndarray:
        weights = np.array([t.frames for t in self.tracks], np.float64)
        stacked = np.stack([t.appearance for t in self.tracks])
        known = np.isfinite(stacked)
        total = (np.where(known, stacked, 0.0) * weights[:, None]).sum(axis=0)
        count = (known * weights[:, None]).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1e-12), np.nan)

    @property
    def shots(self) -> list[int]:
        return sorted({t.shot for t in self.tracks})

    @property
    def frames(self) -> int:
        return sum(t.frames for t in self.tracks)


#: Rows of appearances read at once when a track's median is taken.
APPEARANCE_CHUNK = 8192


def _median_appearance(appearances: RowBlocks, rows: np.ndarray) -> np.ndarray:
    """Per value, the median over ``rows`` of ``appearances`` (a column of descriptors) of
    the finite entries (NaN if none), one value at a time: an hour-long track never holds
    all its descriptors at once."""
    out = np.full(APPEARANCE, np.nan)
    for k in range(APPEARANCE):
        column = np.concatenate(
            [
                appearances.take(rows[first : first + APPEARANCE_CHUNK])[:, k]
                for first in range(0, len(rows), APPEARANCE_CHUNK)
            ]
            or [np.empty(0, np.float32)]
        ).astype(np.float64)
        column = column[np.isfinite(column)]
        if column.size:
            out[k] = float(np.median(column))
    return out


def build_tracks(found: Any, max_gap: int = 12) -> list[FaceTrack]:
    """Every face track of ``found`` (:class:`~lipdub.faces.detections.Detections`), in
    shot order, each with its person ``id``."""
    n = found.n_frames
    ends = found.ends()
    starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)
    boxes = found.table.boxes.take(np.arange(int(ends[-1]) if n else 0))
    shots = np.asarray(found.shots[:n], np.int64)
    order = np.argsort(shots, kind="stable")
    people: list[Person] = []
    tracks: list[FaceTrack] = []
    for frames in np.split(order, np.flatnonzero(np.diff(shots[order])) + 1) if n else []:
        shot = int(shots[frames[0]])
        shot_tracks = []
        for linked in link_tracks(lambda i: boxes[starts[i] : ends[i]].tolist(), frames, max_gap):
            seen = np.asarray(linked.frames, np.int64)
            rows = starts[seen] + np.asarray(linked.picks, np.int64)
            appearance = _median_appearance(found.appearances, rows)
            faces = TrackFaces(found.table, seen, rows)
            shot_tracks.append(FaceTrack(-1, shot, faces, appearance, len(frames)))
        shot_tracks.sort(key=lambda t: (t.first_frame, t.mean_x))
        _assign_ids(shot_tracks, people)
        tracks.extend(shot_tracks)
    return tracks


def _assign_ids(shot_tracks: list[FaceTrack], people: list[Person]) -> None:
    """Give each of one shot's tracks the id of the closest earlier person (closest pairs
    first, one track per person) or a new one."""
    known = list(people)
    pairs = sorted(
        (appearance_distance(track.appearance, person.appearance), t_i, p_i)
        for t_i, track in enumerate(shot_tracks)
        for p_i, person in enumerate(known)
    )
    taken_tracks: set[int] = set()
    taken_people: set[int] = set()
    for distance, t_i, p_i in pairs:
        if distance > SAME_PERSON or t_i in taken_tracks or p_i in taken_people:
            continue
        taken_tracks.add(t_i)
        taken_people.add(p_i)
        shot_tracks[t_i].id = known[p_i].id
        known[p_i].tracks.append(shot_tracks[t_i])
    for t_i, track in enumerate(shot_tracks):
        if t_i not in taken_tracks:
            track.id = len(people)
            people.append(Person(track.id, [track]))


def people_of(tracks: Sequence[FaceTrack]) -> list[Person]:
    """The tracks grouped by person id, in id order."""
    by_id: dict[int, Person] = {}
    for track in tracks:
        by_id.setdefault(track.id, Person(track.id)).tracks.append(track)
    return [by_id[key] for key in sorted(by_id)]


def several_faces(tracks: Sequence[FaceTrack]) -> bool:
    """Whether some shot has more than one main track."""
    shots = {t.shot for t in tracks}
    return any(len(main_tracks([t for t in tracks if t.shot == s])) > 1 for s in shots)


def main_tracks(tracks: Sequence[FaceTrack]) -> list[FaceTrack]:
    """The tracks of one shot seen at least half as long as its longest one, left to right."""
    if not tracks:
        return []
    longest = max(t.frames for t in tracks)
    main = [t for t in tracks if t.frames * 2 >= longest]
    return sorted(main, key=lambda t: t.mean_x)
