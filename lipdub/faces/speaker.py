"""Choosing one face track per shot, including the active speaker (``--face speaker``) and a
reference face (``--face ref.jpg``).

The speaker of a shot is the track whose mouth opening agrees best with the source video's
own audio: the weight-free agreement metric of :mod:`lipdub.eval.agreement` (opening against
speech-band loudness, best Pearson r over a small lag search). A shot where no track reaches
:data:`MIN_SPEAKER_R`, or a source without audio, falls back to the largest face with a note.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lipdub.eval.agreement import best_lag_correlation
from lipdub.faces.face_table import FaceSeries, TrackFaces
from lipdub.faces.selection import choose_track
from lipdub.faces.tracks import FaceTrack, appearance_distance, main_tracks
from lipdub.types import Face

#: A track speaks when its opening correlates with the loudness at least this much ...
MIN_SPEAKER_R = 0.3
#: ... over at least this many frames with a face ...
MIN_SPEAKER_FRAMES = 10
#: ... and its mouth opening (share of face height) varies at least this much (5-95 %).
MIN_OPENING_SPREAD = 0.02
#: Lag search of the agreement, in frames each way.
MAX_LAG = 3

#: Scores a shot's candidate tracks instead of the agreement: ``(tracks, frames) -> {id:
#: score}``, with the threshold a speaker reaches and the score's name (e.g. SyncNet's).
TrackScorer = Callable[[Sequence[FaceTrack], Sequence[int]], dict[int, float]]


@dataclass(frozen=True)
class SpeakerScoring:
    """A learned speaker score (e.g. SyncNet confidence) used instead of the agreement r."""

    score: TrackScorer
    threshold: float
    name: str


@dataclass(frozen=True)
class ShotChoice:
    """The track redrawn in one shot (``track`` is a person id, None: none) and why."""

    shot: int
    track: int | None
    score: float | None = None
    note: str | None = None


def opening_series(track: FaceTrack, frames: Sequence[int]) -> np.ndarray:
    """The track's mouth opening on each of ``frames`` (NaN where it has no face/regions)."""
    values = []
    for index in frames:
        face = track.faces.get(index)
        regions = None if face is None else face.regions
        values.append(np.nan if regions is None else regions.mouth_opening)
    return np.asarray(values, np.float64)


def mouth_moves(track: FaceTrack, frames: Sequence[int]) -> bool:
    """Whether the track has a face on enough of ``frames`` and its mouth opening varies."""
    opening = opening_series(track, frames)
    known = opening[np.isfinite(opening)]
    if known.size < MIN_SPEAKER_FRAMES:
        return False
    return bool(np.percentile(known, 95) - np.percentile(known, 5) >= MIN_OPENING_SPREAD)


def speaking_score(track: FaceTrack, frames: Sequence[int], loudness: np.ndarray) -> float:
    """Agreement r of the track's mouth with ``loudness`` (per video frame) over ``frames``;
    NaN when the track is too short or its mouth does not move."""
    if not mouth_moves(track, frames):
        return float("nan")
    opening = opening_series(track, frames)
    levels = loudness[frames[0] : frames[-1] + 1]
    if len(levels) < len(frames):
        levels = np.concatenate([levels, np.full(len(frames) - len(levels), np.nan)])
    return best_lag_correlation(opening, levels, MAX_LAG).r


def frames_by_shot(shot_ids: Sequence[int]) -> Mapping[int, Sequence[int]]:
    """Each shot's frame indices, shots in order of first appearance: a ``range`` when the
    shot's frames are consecutive (always, for shots found at cuts; an hour-long shot is not
    90,000 integers), else a list."""
    shots = np.asarray(shot_ids, np.int64)
    if not shots.size:
        return {}
    edges = (np.flatnonzero(shots[1:] != shots[:-1]) + 1).tolist()
    starts, ends = [0, *edges], [*edges, len(shots)]
    values = shots[starts].tolist()
    if len(set(values)) == len(values):
        return {v: range(a, b) for v, a, b in zip(values, starts, ends, strict=True)}
    by_shot: dict[int, list[int]] = {}
    for index, shot in enumerate(shots.tolist()):
        by_shot.setdefault(shot, []).append(index)
    return by_shot


def choose_per_shot(
    tracks: Sequence[FaceTrack],
    shot_ids: Sequence[int],
    mode: str | int | Path,
    frame_size: tuple[int, int],
    loudness: np.ndarray | None = None,
    reference: np.ndarray | None = None,
    scoring: SpeakerScoring | None = None,
) -> list[ShotChoice]:
    """One :class:`ShotChoice` per shot for ``mode`` (see :func:`parse_face_mode`).

    ``loudness`` (per video frame, from the source's audio) is needed for ``"speaker"``;
    without it every shot falls back to the largest face; ``scoring``, when given, rates the
    moving tracks instead of the agreement r. ``reference`` is the appearance descriptor of
    the reference face for a :class:`Path` mode.
    """
    choices = []
    for shot, frames in frames_by_shot(shot_ids).items():
        in_shot = [t for t in tracks if t.shot == shot]
        if mode == "speaker":
            choice = _speaker_in_shot(shot, in_shot, frames, frame_size, loudness, scoring)
        else:
            choice = _choose_in_shot(shot, in_shot, frames, mode, frame_size, reference)
        choices.append(choice)
    return choices


def _choose_in_shot(
    shot: int,
    tracks: list[FaceTrack],
    frames: list[int],
    mode: str | int | Path,
    frame_size: tuple[int, int],
    reference: np.ndarray | None,
) -> ShotChoice:
    if not tracks:
        return ShotChoice(shot, None)
    if isinstance(mode, Path):
        if reference is None:
            raise ValueError("choose_per_shot needs the reference descriptor for an image")
        main = main_tracks(tracks)
        best = min(main, key=lambda t: appearance_distance(t.appearance, reference))
        return ShotChoice(shot, best.id, appearance_distance(best.appearance, reference))
    chosen = choose_track(tracks, mode, frame_size)
    return ShotChoice(shot, None if chosen is None else chosen.id)


def _speaker_in_shot(
    shot: int,
    tracks: list[FaceTrack],
    frames: list[int],
    frame_size: tuple[int, int],
    loudness: np.ndarray | None,
    scoring: SpeakerScoring | None,
) -> ShotChoice:
    """The track that speaks in the shot, else the largest with a note saying why."""
    main = main_tracks(tracks)
    if not main:
        return ShotChoice(shot, None)
    if len(main) == 1:
        return ShotChoice(shot, main[0].id, None, "one face")
    largest = choose_track(main, "largest", frame_size)
    assert largest is not None
    if loudness is None:
        return ShotChoice(shot, largest.id, None, "the source has no audio: largest face")
    threshold, name = MIN_SPEAKER_R, None
    if scoring is None:
        scores = {t.id: speaking_score(t, frames, loudness) for t in main}
    else:
        moving = [t for t in main if mouth_moves(t, frames)]
        scores = scoring.score(moving, frames) if moving else {}
        threshold, name = scoring.threshold, scoring.name
    finite = {k: v for k, v in scores.items() if np.isfinite(v)}
    if not finite or max(finite.values()) < threshold:
        return ShotChoice(
            shot, largest.id, None, "no face moves with the source audio: largest face"
        )
    best_id = max(finite, key=finite.__getitem__)
    return ShotChoice(shot, best_id, float(finite[best_id]), name)


def faces_of_choices(
    tracks: Sequence[FaceTrack], choices: Sequence[ShotChoice], n_frames: int
) -> FaceSeries:
    """Per frame, the chosen track's face (None elsewhere)."""
    chosen = {(c.shot, c.track) for c in choices if c.track is not None}
    picked = [t.faces for t in tracks if (t.shot, t.id) in chosen]
    tables = {id(f.table) for f in picked if isinstance(f, TrackFaces)}
    if len(tables) == 1 and all(isinstance(f, TrackFaces) for f in picked):
        rows = np.full(n_frames, -1, np.int64)
        for faces in picked:
            rows[faces.frames] = faces.rows  # type: ignore[attr-defined]
        return FaceSeries(picked[0].table, rows)  # type: ignore[attr-defined]
    loose: list[Face | None] = [None] * n_frames  # tracks made by hand (e.g. in tests)
    for faces in picked:
        for index, face in faces.items():
            loose[index] = face
    return FaceSeries.of(loose)
