"""What a dub needs to choose its face (source audio, reference face) and the honest outcomes
of that choice: a face number beyond the faces found, or nothing to redraw, is an error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from lipdub import defaults
from lipdub.components import FaceTracker
from lipdub.errors import InputError
from lipdub.faces.selection import parse_face_mode
from lipdub.faces.tracks import appearance_of, main_tracks
from lipdub.media.audio import load_audio
from lipdub.media.probe import MediaInfo
from lipdub.media.reader import read_image
from lipdub.pipeline.analysis import Analysis

NO_FACE_HINT = "--allow-no-face writes the video anyway"


def source_audio_for(info: MediaInfo) -> Callable[[], np.ndarray | None]:
    """A loader of the source video's own audio for ``--face speaker`` (None without an
    audio stream); :func:`~lipdub.pipeline.analysis.analyse` calls it only when needed."""

    def load() -> np.ndarray | None:
        if not info.has_audio or info.is_still:
            return None
        return load_audio(info, defaults.ANALYSIS_SAMPLE_RATE)

    return load


def reference_appearance(mode: str | int | Path, tracker: FaceTracker) -> np.ndarray | None:
    """The appearance descriptor of the largest face in the ``--face`` reference image."""
    if not isinstance(mode, Path):
        return None
    image = read_image(mode)
    tracker.reset()
    try:
        faces = tracker.detect(image)
    finally:
        tracker.reset()
    if not faces:
        raise InputError(f"--face {mode}: no face found in the image")
    return appearance_of(image, max(faces, key=lambda face: face.area))


def faces_found(analysis: Analysis) -> int:
    """The most main faces any one shot has."""
    per_shot = [
        len(main_tracks([t for t in analysis.tracks if t.shot == shot]))
        for shot in range(analysis.n_shots)
    ]
    return max(per_shot, default=0)


def check_choice(analysis: Analysis, face: str | int | Path, allow_no_face: bool) -> None:
    """Raise :class:`InputError` when ``--face N`` names a face no shot has, or when no frame
    has a face to redraw (unless ``allow_no_face``)."""
    mode = parse_face_mode(face)
    if any(choice.track is not None for choice in analysis.choices):
        return
    if isinstance(mode, int) and not isinstance(mode, bool):
        found = faces_found(analysis)
        if mode >= found:
            plural = "face" if found == 1 else "faces"
            numbered = f" (numbered 0 to {found - 1} from the left)" if found else ""
            raise InputError(f"--face {mode}: {found} {plural} found{numbered}")
    if not allow_no_face:
        raise InputError(f"no face to redraw in any frame ({NO_FACE_HINT})")


def check_redrawn(dubbed: int, reasons: dict[str, int], output: Path, allow_no_face: bool) -> None:
    """Remove ``output`` and raise :class:`InputError` when no frame was redrawn."""
    if dubbed or allow_no_face:
        return
    output.unlink(missing_ok=True)
    why = ", ".join(f"{reason}: {n}" for reason, n in reasons.items()) or "no face"
    raise InputError(f"no frame could be redrawn ({why}); {NO_FACE_HINT}")
