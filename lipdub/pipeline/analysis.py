"""First pass over the source video: shots, face tracks with identity, then the chosen face of
every frame."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

import numpy as np

from lipdub import defaults
from lipdub.components import FaceTracker
from lipdub.eval.agreement import loudness_per_frame
from lipdub.faces.boxes import wav2lip_box
from lipdub.faces.detections import Detections
from lipdub.faces.face_table import FACES_AT_ONCE, FaceSeries
from lipdub.faces.smoothing import smooth_track
from lipdub.faces.speaker import ShotChoice, SpeakerScoring, choose_per_shot, faces_of_choices
from lipdub.faces.tracks import FaceTrack, appearance_of, several_faces
from lipdub.pipeline.engine import Drain, Prefetch
from lipdub.pipeline.progress import ProgressCallback, StageTimer, no_progress
from lipdub.scenes import ShotDetector
from lipdub.types import Face

#: Frames waiting for the tracker, and frames it has done waiting to be stored (each queue
#: of the first pass holds this many frames at most) ...
AHEAD = 2
#: ... and fewer for large frames: the bytes of frames its three queues may hold together.
FIRST_PASS_BYTES = 64 << 20


def queue_depth(frame_bytes: int, most: int = AHEAD) -> int:
    """How many frames of ``frame_bytes`` one first-pass queue holds (1 to ``most``)."""
    return max(1, min(most, FIRST_PASS_BYTES // (3 * max(1, frame_bytes))))


@dataclass
class Analysis:
    """Per source frame: its shot number and the face to redraw (None: no face); the face
    tracks of the video and the track chosen in each shot."""

    shots: list[int]
    faces: Sequence[Face | None]
    width: int
    height: int
    tracks: list[FaceTrack] = field(default_factory=list)
    choices: list[ShotChoice] = field(default_factory=list)

    @property
    def n_frames(self) -> int:
        return len(self.shots)

    @property
    def n_shots(self) -> int:
        return (self.shots[-1] + 1) if self.shots else 0

    def shot_faces(self, shot: int) -> Sequence[Face | None]:
        """The faces of every frame of ``shot`` (shots are numbered in frame order)."""
        start = bisect.bisect_left(self.shots, shot)
        end = bisect.bisect_right(self.shots, shot)
        return self.faces[start:end]


def analyse(
    frames: Iterable[np.ndarray] | Detections,
    tracker: FaceTracker,
    fps: float,
    *,
    face_mode: str | int | Path = "largest",
    pads: tuple[int, int, int, int] = defaults.PADS,
    scene_threshold: float = defaults.SCENE_THRESHOLD,
    total: int | None = None,
    progress: ProgressCallback = no_progress,
    timer: StageTimer | None = None,
    source_audio: np.ndarray | Callable[[], np.ndarray | None] | None = None,
    reference: np.ndarray | None = None,
    speaker_scoring: Callable[[np.ndarray], SpeakerScoring] | None = None,
    smooth: bool = True,
) -> Analysis:
    """Detect shots and faces in ``frames`` (or take ``Detections`` made before, e.g.
    cached), link them into tracks and choose one per shot
    (``face_mode``; ``source_audio`` at the analysis rate for ``speaker``, or a function
    called for it only when a shot has several faces; the ``reference``
    appearance for an image; ``speaker_scoring`` makes the learned speaker score, e.g.
    SyncNet's, from that audio); the chosen faces are smoothed within shots and given their
    generator box (``pads`` as ``(top, bottom, left, right)`` pixels)."""
    timer = timer or StageTimer()
    if isinstance(frames, Detections):
        found = frames
    else:
        found = detect(frames, tracker, fps, scene_threshold, total, progress, timer)
    shots, width, height = found.shots, found.width, found.height
    with timer("detect"):
        tracks = found.tracks()
        loudness = None
        if callable(source_audio):
            wanted = face_mode == "speaker" and several_faces(tracks)
            source_audio = source_audio() if wanted else None
        if source_audio is not None and shots:
            loudness = loudness_per_frame(
                source_audio, fps, len(shots), defaults.ANALYSIS_SAMPLE_RATE
            )
        scoring = None
        if speaker_scoring is not None and loudness is not None:
            scoring = speaker_scoring(source_audio)
        choices = choose_per_shot(
            tracks, shots, face_mode, (width, height), loudness, reference, scoring
        )
        chosen = faces_of_choices(tracks, choices, len(shots))
        faces = prepare_faces(chosen, shots, fps, pads, (width, height), smooth)
    return Analysis(shots, faces, width, height, tracks, choices)


def prepare_faces(
    chosen: Sequence[Face | None],
    shots: list[int],
    fps: float,
    pads: tuple[int, int, int, int],
    size: tuple[int, int],
    smooth: bool = True,
) -> FaceSeries:
    """One face per frame (None: none) smoothed within shots and given its generator box
    (``pads`` as ``(top, bottom, left, right)`` pixels, ``size`` the frame's width, height)."""
    faces = smooth_track(chosen, shots, fps=fps) if smooth else FaceSeries.of(chosen)
    table = faces.table.with_boxes()
    present = faces.rows[faces.present()]
    for first in range(0, len(present), FACES_AT_ONCE):  # nothing as long as the video
        rows = present[first : first + FACES_AT_ONCE]
        boxes = [wav2lip_box(face, pads, size) for face in faces.table.faces(rows)]
        table.boxes.put(rows, np.asarray(boxes, np.float64).reshape(-1, 4))
    return FaceSeries(table, faces.rows)


def detect(
    frames: Iterable[np.ndarray],
    tracker: FaceTracker,
    fps: float,
    scene_threshold: float = defaults.SCENE_THRESHOLD,
    total: int | None = None,
    progress: ProgressCallback = no_progress,
    timer: StageTimer | None = None,
    keep_landmarks: bool = False,
) -> Detections:
    """Shots and every face (with its appearance) in ``frames``; the tracker is reset at
    each cut. The tracker's raw landmarks are dropped unless ``keep_landmarks`` (every
    consumer reads the regions; the raw mesh is most of a face's memory).

    The tracker runs on the calling thread; cuts are scored on a thread ahead of it, and the
    faces found are measured and stored on a thread behind it, so the three overlap."""
    timer = timer or StageTimer()
    found = Detections()
    shot, tracked = -1, 0
    group: list[np.ndarray] = []  # frames of the current shot not yet given to the tracker
    group_size = max(1, int(getattr(tracker, "frames_per_batch", 1)))

    def record(item: tuple[int, np.ndarray, list[Face]]) -> None:
        shot_of, frame, faces = item
        appearances = [appearance_of(frame, face) for face in faces]
        if not keep_landmarks:
            faces = [_without_landmarks(face) for face in faces]
        found.add_frame(shot_of, faces, appearances)

    def flush() -> None:
        nonlocal tracked
        for frame, faces in zip(group, tracker.detect_batch(group), strict=True):
            recorder.put((shot, frame, faces))
        tracked += len(group)
        group.clear()
        progress("analyse", tracked, total)

    iterator = iter(frames)
    first = next(iterator, None)
    if first is None:
        return found
    depth = queue_depth(int(getattr(first, "nbytes", 0)))
    recorder: Drain[tuple[int, np.ndarray, list[Face]]] = Drain(record, depth, "lipdub-faces")
    cuts = _with_cuts(chain([first], iterator), ShotDetector(fps=fps, threshold=scene_threshold))
    try:
        with Prefetch(cuts, depth, "lipdub-shots") as scored:
            while True:
                with timer("decode"):
                    item = next(scored, None)
                if item is None:
                    break
                frame, cut = item
                found.height, found.width = frame.shape[:2]
                with timer("detect"):
                    if cut or shot < 0:  # a cut: finish the last shot's frames
                        if group:
                            flush()
                        shot += 1
                        tracker.reset()
                    group.append(frame)
                    if len(group) >= group_size:
                        flush()
        with timer("detect"):
            if group:
                flush()
            recorder.finish()
    except BaseException:
        recorder.abort()
        raise
    return found


def _with_cuts(
    frames: Iterable[np.ndarray], detector: ShotDetector
) -> Iterator[tuple[np.ndarray, bool]]:
    """Each frame and whether a new shot starts at it."""
    for frame in frames:
        yield frame, detector.push(frame)


def _without_landmarks(face: Face) -> Face:
    """``face`` without the tracker's raw landmarks, its regions kept as compact float32."""
    if face.landmarks is None:
        return face
    return Face(face.box, None, face.score, face.regions, face.detector_box)
