"""Choosing which face to lip-sync in each shot (``--face largest|center|speaker|N|IMAGE``).

Within a shot the detections are first linked into tracks (one per person, by box overlap or
centre distance, bridging short dropouts), then one track is chosen for the whole shot, so the
choice never jumps to another person who becomes bigger for a moment.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lipdub.errors import InputError
from lipdub.faces.boxes import box_center, box_iou
from lipdub.faces.face_table import boxes_of
from lipdub.types import Face

FACE_MODE_ERROR = "--face must be largest, center, speaker, a face number or an image of the person"
#: ``--face`` values with these suffixes are reference images of the person to redraw.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")

#: A face in the next frame continues a track when the boxes overlap this much ...
MIN_IOU = 0.2
#: ... or when its centre is closer than this share of the track's face size.
MAX_CENTER_SHIFT = 0.5


def parse_face_mode(mode: str | int | Path) -> str | int | Path:
    """``"largest"``, ``"center"``, ``"speaker"``, a face number (``int`` >= 0) or the
    :class:`Path` of an existing reference image; else :class:`InputError`."""
    if isinstance(mode, Path) or (isinstance(mode, str) and mode.lower().endswith(IMAGE_SUFFIXES)):
        path = Path(mode)
        if not path.is_file():
            raise InputError(f"--face {path}: no such image")
        return path
    if isinstance(mode, int) and not isinstance(mode, bool):
        if mode >= 0:
            return mode
        raise InputError(FACE_MODE_ERROR)
    text = str(mode).strip().lower()
    if text in ("largest", "center", "centre", "speaker"):
        return "center" if text == "centre" else text
    if text.isdigit():
        return int(text)
    raise InputError(FACE_MODE_ERROR)


@dataclass
class _Track:
    """One person within a shot: the frames they are seen in and which of each frame's
    faces is theirs (compact: an hour-long shot is two integer arrays)."""

    last_box: Sequence[float]
    frames: array = field(default_factory=lambda: array("q"))
    picks: array = field(default_factory=lambda: array("q"))

    @property
    def last_frame(self) -> int:
        return self.frames[-1]

    def add(self, frame: int, pick: int, box: Sequence[float]) -> None:
        self.frames.append(frame)
        self.picks.append(pick)
        self.last_box = box


def _continues(track: _Track, box: Sequence[float]) -> float:
    """How well a face at ``box`` continues ``track`` (higher is better; 0: it does not)."""
    last = track.last_box
    iou = box_iou(last, box)
    size = max(last[2] - last[0], last[3] - last[1], 1.0)
    (lx, ly), (fx, fy) = box_center(last), box_center(box)
    shift = float(np.hypot(fx - lx, fy - ly)) / size
    if iou < MIN_IOU and shift > MAX_CENTER_SHIFT:
        return 0.0
    return iou + (1.0 - min(shift, 1.0))


def link_tracks(
    boxes_in: Callable[[int], Sequence[Sequence[float]]],
    frame_indices: Iterable[int],
    max_gap: int,
) -> list[_Track]:
    """Greedily link the faces of consecutive frames into tracks (one shot's frames);
    ``boxes_in(i)`` are the boxes of frame ``i``'s faces."""
    tracks: list[_Track] = []
    for index in map(int, frame_indices):
        boxes = boxes_in(index)
        alive = [t for t in tracks if index - t.last_frame <= max_gap + 1]
        pairs = [
            (_continues(track, box), t_i, f_i)
            for t_i, track in enumerate(alive)
            for f_i, box in enumerate(boxes)
        ]
        used_tracks: set[int] = set()
        used_faces: set[int] = set()
        for score, t_i, f_i in sorted(pairs, key=lambda p: -p[0]):
            if score <= 0 or t_i in used_tracks or f_i in used_faces:
                continue
            used_tracks.add(t_i)
            used_faces.add(f_i)
            alive[t_i].add(index, f_i, boxes[f_i])
        for f_i, box in enumerate(boxes):
            if f_i not in used_faces:
                track = _Track(box)
                track.add(index, f_i, box)
                tracks.append(track)
    return tracks


def choose_track(tracks: Sequence[Any], mode: str | int, frame_size: tuple[int, int]) -> Any:
    """The track (anything with ``faces``: frame index -> :class:`Face`) ``mode`` picks, or
    None; modes other than ``center`` and a number pick the largest."""
    if not tracks:
        return None
    width, height = frame_size
    if not isinstance(mode, int) and mode != "center":
        # Size weighted by presence: the biggest face that stays for the shot.
        return max(tracks, key=lambda t: _area_sum(boxes_of(t.faces)))
    if mode == "center":
        half_diagonal = float(np.hypot(width, height)) / 2

        def centrality(track: Any) -> float:
            boxes = boxes_of(track.faces)
            cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
            return float(np.sum(1.0 - np.hypot(cx - width / 2, cy - height / 2) / half_diagonal))

        return max(tracks, key=centrality)
    # Face number N: count the shot's main faces (seen at least half as long as the
    # longest-lived one) from left to right, starting at 0.
    longest = max(len(t.faces) for t in tracks)
    main = [t for t in tracks if len(t.faces) * 2 >= longest]
    main.sort(key=lambda t: float(np.mean(boxes_of(t.faces)[:, [0, 2]].mean(axis=1))))
    return main[mode] if mode < len(main) else None


def _area_sum(boxes: np.ndarray) -> float:
    """Summed area of ``(n, 4)`` boxes (empty boxes count 0)."""
    sides = np.maximum(boxes[:, 2:] - boxes[:, :2], 0.0)
    return float(np.sum(sides[:, 0] * sides[:, 1]))


def select_faces(
    detections_per_frame: Sequence[Sequence[Face]],
    shot_ids: Sequence[int],
    mode: str | int = "largest",
    frame_size: tuple[int, int] | None = None,
    max_gap: int = 12,
) -> list[Face | None]:
    """One face (or ``None``) per frame: the same person throughout each shot.

    ``mode``: ``"largest"`` (the face with the largest area summed over the shot, i.e. big and
    present), ``"center"`` (the face nearest the frame centre over the shot) or a face number
    ``N``: the N-th of the shot's main faces counted from the left, starting at 0 (a shot with
    fewer faces gets ``None``); ``speaker`` and images need the audio or pixels, which
    :func:`lipdub.faces.speaker.choose_per_shot` has: here they pick the largest.
    ``frame_size`` is ``(width, height)``, needed for ``center``.
    Detections are linked across dropouts of up to ``max_gap`` frames; frames where the chosen
    person is not detected get ``None``.
    """
    choice = parse_face_mode(mode)
    if len(shot_ids) != len(detections_per_frame):
        raise ValueError("select_faces needs one shot id per frame")
    if choice == "center" and frame_size is None:
        raise ValueError("select_faces needs frame_size for --face center")
    size = frame_size if frame_size is not None else (1, 1)
    selected: list[Face | None] = [None] * len(detections_per_frame)
    shot_frames: dict[int, list[int]] = {}
    for index, shot in enumerate(shot_ids):
        shot_frames.setdefault(shot, []).append(index)
    for frames in shot_frames.values():
        linked = link_tracks(
            lambda i: [face.box for face in detections_per_frame[i]], frames, max_gap
        )
        tracks = [
            _Chosen({i: detections_per_frame[i][k] for i, k in zip(t.frames, t.picks, strict=True)})
            for t in linked
        ]
        chosen = choose_track(tracks, choice, size)
        if chosen is not None:
            for index, face in chosen.faces.items():
                selected[index] = face
    return selected


@dataclass
class _Chosen:
    """A linked track with its faces, for :func:`choose_track`."""

    faces: dict[int, Face]
