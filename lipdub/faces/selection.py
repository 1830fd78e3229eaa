"""Choosing which face to lip-sync in each shot (``--face largest|center|speaker|N|IMAGE``).

Within a shot the detections are first linked into tracks (one per person, by box overlap or
centre distance, bridging short dropouts), then one track is chosen for the whole shot, so the
choice never jumps to another person who becomes bigger for a moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lipdub.errors import InputError
from lipdub.faces.boxes import box_center, box_iou
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
    """One person within a shot: their face per frame index."""

    faces: dict[int, Face] = field(default_factory=dict)
    last_frame: int = -1

    @property
    def last_face(self) -> Face:
        return self.faces[self.last_frame]


def _continues(track: _Track, face: Face) -> float:
    """How well ``face`` continues ``track`` (higher is better; 0 means it does not)."""
    last = track.last_face.box
    iou = box_iou(last, face.box)
    size = max(last[2] - last[0], last[3] - last[1], 1.0)
    (lx, ly), (fx, fy) = box_center(last), box_center(face.box)
    shift = float(np.hypot(fx - lx, fy - ly)) / size
    if iou < MIN_IOU and shift > MAX_CENTER_SHIFT:
        return 0.0
    return iou + (1.0 - min(shift, 1.0))


def link_tracks(
    detections: Sequence[Sequence[Face]], frame_indices: Sequence[int], max_gap: int
) -> list[_Track]:
    """Greedily link the faces of consecutive frames into tracks (one shot's frames)."""
    tracks: list[_Track] = []
    for index in frame_indices:
        alive = [t for t in tracks if index - t.last_frame <= max_gap + 1]
        pairs = [
            (_continues(track, face), t_i, f_i)
            for t_i, track in enumerate(alive)
            for f_i, face in enumerate(detections[index])
        ]
        used_tracks: set[int] = set()
        used_faces: set[int] = set()
        for score, t_i, f_i in sorted(pairs, key=lambda p: -p[0]):
            if score <= 0 or t_i in used_tracks or f_i in used_faces:
                continue
            used_tracks.add(t_i)
            used_faces.add(f_i)
            alive[t_i].faces[index] = detections[index][f_i]
            alive[t_i].last_frame = index
        for f_i, face in enumerate(detections[index]):
            if f_i not in used_faces:
                tracks.append(_Track(faces={index: face}, last_frame=index))
    return tracks


def choose_track(tracks: Sequence[Any], mode: str | int, frame_size: tuple[int, int]) -> Any:
    """The track (anything with ``faces``: frame index -> :class:`Face`) ``mode`` picks, or
    None; modes other than ``center`` and a number pick the largest."""
    if not tracks:
        return None
    width, height = frame_size
    if not isinstance(mode, int) and mode != "center":
        # Size weighted by presence: the biggest face that stays for the shot.
        return max(tracks, key=lambda t: sum(f.area for f in t.faces.values()))
    if mode == "center":
        half_diagonal = float(np.hypot(width, height)) / 2

        def centrality(track: Any) -> float:
            total = 0.0
            for face in track.faces.values():
                cx, cy = box_center(face.box)
                total += 1.0 - float(np.hypot(cx - width / 2, cy - height / 2)) / half_diagonal
            return total

        return max(tracks, key=centrality)
    # Face number N: count the shot's main faces (seen at least half as long as the
    # longest-lived one) from left to right, starting at 0.
    longest = max(len(t.faces) for t in tracks)
    main = [t for t in tracks if len(t.faces) * 2 >= longest]
    main.sort(key=lambda t: float(np.mean([box_center(f.box)[0] for f in t.faces.values()])))
    return main[mode] if mode < len(main) else None


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
        chosen = choose_track(link_tracks(detections_per_frame, frames, max_gap), choice, size)
        if chosen is not None:
            for index, face in chosen.faces.items():
                selected[index] = face
    return selected
