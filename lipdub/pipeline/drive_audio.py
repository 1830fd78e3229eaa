"""Which audio drives which face: ``--drive-audio FILE`` (a vocal stem for the chosen face) or
a speaker map (``--speakers map.csv``, ``--audio-for TRACK=FILE``: one stem per face track).

``--audio`` stays the muxed audio and sets the output's length. Each driving stem is decoded at
the analysis rate and cut, or padded with silence, to that length, so every face's feature
windows line up with the output frames; a face whose stem is silent gets silent features and
keeps its mouth closed. With a speaker map every mapped track is redrawn in each of its frames
(several faces per frame) and the other faces are left as they are.
"""

from __future__ import annotations

import bisect
import csv
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lipdub import defaults
from lipdub.audio.cache import FeatureCache
from lipdub.audio.features import compute_features
from lipdub.audio.samples import Samples, shifted
from lipdub.audio.windows import frame_windows, spill_features
from lipdub.components import AudioExtractor
from lipdub.errors import InputError
from lipdub.faces.speaker import ShotChoice, faces_of_choices
from lipdub.media.audio import stream_audio
from lipdub.media.probe import probe
from lipdub.pipeline.analysis import Analysis, prepare_faces
from lipdub.spill import RowBlocks
from lipdub.types import Face, GeneratorInput

#: Face track id -> the audio file that drives it.
SpeakerMap = dict[int, Path]
AUDIO_FOR_HINT = "expected TRACK=FILE, e.g. 0=alice.wav (`lipdub faces VIDEO` lists the tracks)"


def _track_id(text: str, where: str) -> int:
    text = text.strip()
    if not text.isdigit():
        raise InputError(f"{where}: track {text!r} is not a track id (0, 1, ...)")
    return int(text)


def parse_audio_for(flags: Iterable[str], base: Path | None = None) -> SpeakerMap:
    """``["0=alice.wav", "1=bob.wav"]`` as ``{0: alice.wav, 1: bob.wav}`` (relative files from
    ``base`` when given); :class:`InputError` on a malformed flag or a track named twice."""
    mapping: SpeakerMap = {}
    for flag in flags:
        track, equals, file = flag.partition("=")
        if not equals or not track.strip() or not file.strip():
            raise InputError(f"--audio-for {flag!r}: {AUDIO_FOR_HINT}")
        key = _track_id(track, f"--audio-for {flag!r}")
        if key in mapping:
            raise InputError(f"--audio-for: track {key} is given twice")
        path = Path(file.strip()).expanduser()
        mapping[key] = base / path if base is not None and not path.is_absolute() else path
    return mapping


def read_speaker_map(path: Path) -> SpeakerMap:
    """A ``--speakers`` CSV with the columns ``track`` and ``audio`` (relative audio paths are
    taken from the CSV's folder; empty rows and rows starting with ``#`` are skipped)."""
    if not path.is_file():
        raise InputError(f"--speakers {path}: no such file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"--speakers {path}: cannot be read as CSV ({exc})") from None
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    if "track" not in header or "audio" not in header:
        raise InputError(f"--speakers {path}: needs a header row with track and audio columns")
    mapping: SpeakerMap = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        cells = dict(zip(header, row, strict=False))
        where = f"--speakers {path.name}:{line}"
        key = _track_id(cells.get("track", ""), where)
        file = cells.get("audio", "").strip()
        if not file:
            raise InputError(f"{where}: the audio cell is empty")
        if key in mapping:
            raise InputError(f"{where}: track {key} is given twice")
        audio = Path(file).expanduser()
        mapping[key] = audio if audio.is_absolute() else path.parent / audio
    if not mapping:
        raise InputError(f"--speakers {path}: lists no tracks")
    return mapping


def speaker_map(
    speakers: Path | None, audio_for: Iterable[str] | None, drive_audio: Path | None = None
) -> SpeakerMap:
    """The speaker map of ``--speakers`` and ``--audio-for`` (which wins for a track in both),
    with every file checked to exist; :class:`InputError` on bad input, and when
    ``--drive-audio`` is combined with a map."""
    mapping = read_speaker_map(Path(speakers)) if speakers is not None else {}
    mapping.update(parse_audio_for(audio_for or []))
    if mapping and drive_audio is not None:
        raise InputError(
            "--drive-audio drives the one chosen face; with --speakers/--audio-for give each "
            "track its own stem instead"
        )
    for track, file in sorted(mapping.items()):
        if not file.is_file():
            raise InputError(f"--audio-for {track}={file}: no such file")
    if drive_audio is not None and not Path(drive_audio).is_file():
        raise InputError(f"--drive-audio {drive_audio}: no such file")
    return mapping


def driving_files(speakers: SpeakerMap, drive_audio: Path | None) -> dict[int | None, Path]:
    """The stems that drive faces: per mapped track, or ``None`` (the chosen face) for
    ``--drive-audio``; empty when ``--audio`` drives the lips itself."""
    if speakers:
        return dict(speakers)
    return {} if drive_audio is None else {None: Path(drive_audio)}


def check_stems(stems: dict[int | None, Path]) -> None:
    """:class:`InputError` for a stem that is not a readable file with an audio stream."""
    for track, file in stems.items():
        flag = "--drive-audio " if track is None else f"--audio-for {track}="
        if not probe(file).has_audio:
            raise InputError(f"{flag}{file}: has no audio stream")


#: ``--audio-offset`` is limited to this many milliseconds either way.
MAX_OFFSET_MS = 10_000.0


def check_offset(offset_ms: float) -> float:
    """``offset_ms`` as a float; :class:`InputError` when it is not a finite number within
    :data:`MAX_OFFSET_MS`."""
    try:
        value = float(offset_ms)
    except (TypeError, ValueError):
        hint = "expected milliseconds, e.g. 40 or -80"
        raise InputError(f"--audio-offset {offset_ms!r}: {hint}") from None
    if not np.isfinite(value) or abs(value) > MAX_OFFSET_MS:
        raise InputError(
            f"--audio-offset {offset_ms}: must be between -{MAX_OFFSET_MS:g} and "
            f"{MAX_OFFSET_MS:g} ms"
        )
    return value


def shift_audio(wav: Samples, offset_ms: float, rate: int) -> Samples:
    """``wav`` delayed by ``offset_ms`` (negative: advanced), same length, silence-padded:
    the lips driven by it move ``offset_ms`` later than the sound."""
    return shifted(wav, len(wav), int(round(offset_ms * rate / 1000.0)))


class DriveFeatures(dict):
    """Audio features per driving key (see :func:`drive_features`), with the voice activity
    of the same audio, measured in a background thread while the video is analysed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._voice: dict[int | None, Future[np.ndarray]] = {}

    def voice(self, key: int | None) -> np.ndarray | None:
        """Speech probability per 10 ms for ``key`` (waits for it), None when not measured."""
        future = self._voice.get(key)
        return None if future is None else future.result()


def drive_features(
    stems: dict[int | None, Path],
    mix: Samples,
    extractor: AudioExtractor,
    cache: FeatureCache | None,
    offset_ms: float = 0.0,
    vad: str | None = None,
) -> DriveFeatures:
    """The audio features of each stem fitted to the length of ``mix`` (the ``--audio``
    samples), or of ``mix`` itself under ``None`` when there are no stems. Long stems are
    read from a temporary file a block at a time, like ``mix``.

    The driving audio is shifted by ``offset_ms`` first (``--audio-offset``); with ``vad``
    (a :data:`lipdub.audio.vad.METHODS` name) its voice activity is measured too."""
    from lipdub.audio.vad import speech_probability

    rate = defaults.ANALYSIS_SAMPLE_RATE
    waves: dict[int | None, Samples] = {None: mix} if not stems else {}
    for track, file in stems.items():
        waves[track] = shifted(stream_audio(file, rate), len(mix))
    features = DriveFeatures()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lipdub-vad")
    try:
        for track, wav in waves.items():
            wav = shift_audio(wav, check_offset(offset_ms), rate)
            if vad is not None:
                features._voice[track] = pool.submit(speech_probability, wav, vad)
            features[track] = spill_features(compute_features(wav, extractor, cache))
    finally:
        pool.shutdown(wait=False)  # queued measurements still finish
    return features


def check_tracks(analysis: Analysis, speakers: SpeakerMap) -> None:
    """:class:`InputError` when the speaker map names a track the video does not have."""
    found = sorted({track.id for track in analysis.tracks})
    unknown = sorted(set(speakers) - set(found))
    if unknown:
        listed = ", ".join(map(str, found)) or "none"
        plural = "track" if len(found) == 1 else "tracks"
        raise InputError(
            f"--audio-for {unknown[0]}: no such face track ({len(found)} {plural} found: "
            f"{listed}; `lipdub faces VIDEO` lists them)"
        )


@dataclass
class Lane:
    """One face to redraw through the video and the audio features that drive it."""

    #: The track id (None: the face ``--face`` chose).
    track: int | None
    #: Per source frame, the face (None: not in that frame).
    faces: Sequence[Face | None]
    #: ``(T, D)`` audio features (on disk when long: :func:`~lipdub.audio.windows.spill_features`).
    features: np.ndarray | RowBlocks
    #: Speech probability per 10 ms of the driving audio (None: not measured).
    voice: np.ndarray | None = None
    fps: float = defaults.STILL_FPS
    _closure: dict[float, np.ndarray] = field(default_factory=dict, repr=False)

    def closure_weights(self, min_pause_ms: float) -> np.ndarray | None:
        """Per 10 ms, how closed the mouth must be (see :mod:`lipdub.pipeline.closure`)."""
        if self.voice is None:
            return None
        if min_pause_ms not in self._closure:
            from lipdub.pipeline.closure import closure_weights

            self._closure[min_pause_ms] = closure_weights(self.voice, min_pause_ms)
        return self._closure[min_pause_ms]

    def shot_faces(self, shots: Sequence[int], shot: int) -> Sequence[Face | None]:
        """This lane's faces on every frame of ``shot`` (shots are numbered in frame order)."""
        return self.faces[bisect.bisect_left(shots, shot) : bisect.bisect_right(shots, shot)]


def make_lanes(
    analysis: Analysis,
    features: dict[int | None, np.ndarray | RowBlocks],
    fps: float,
    pads: tuple[int, int, int, int],
) -> list[Lane]:
    """A lane per driving stem: the chosen face under ``None``, else each mapped track's faces
    (smoothed and boxed like the chosen face)."""

    def voice(key: int | None) -> np.ndarray | None:
        return features.voice(key) if isinstance(features, DriveFeatures) else None

    if None in features:
        return [Lane(None, analysis.faces, features[None], voice(None), fps)]
    lanes = []
    shots = analysis.shots
    for track, feats in sorted(features.items(), key=lambda kv: kv[0] or 0):
        choices = [ShotChoice(shot, track) for shot in range(analysis.n_shots)]
        chosen = faces_of_choices(analysis.tracks, choices, analysis.n_frames)
        size = (analysis.width, analysis.height)
        faces = prepare_faces(chosen, shots, fps, pads, size)
        lanes.append(Lane(track, faces, feats, voice(track), fps))
    return lanes


def lane_choices(analysis: Analysis, lanes: Sequence[Lane], stems: dict[int | None, Path]) -> list:
    """For the summary: per shot, each mapped track seen in it and the stem that drives it."""
    choices: list[Any] = []
    for shot in range(analysis.n_shots):
        for lane in lanes:
            if lane.track is not None and any(lane.shot_faces(analysis.shots, shot)):
                note = f"driven by {stems[lane.track].name}"
                choices.append(ShotChoice(shot, lane.track, None, note))
    return choices


def frame_items(
    lanes: Sequence[Lane],
    frame: np.ndarray,
    source_index: int,
    out_index: int,
    shot: int,
    starts: np.ndarray,
    window: int,
) -> list[GeneratorInput]:
    """The generator inputs of one output frame: one per lane with a face in it."""
    items = []
    for number, lane in enumerate(lanes):
        face = lane.faces[source_index]
        if face is None:
            continue
        audio = frame_windows(lane.features, starts[out_index : out_index + 1], window)[0]
        items.append(GeneratorInput(frame, face, audio, out_index, source_index, shot, number))
    return items
