"""Turning one talking-face video into 5-second training clips (face crops, audio, features).

Each clip is one ``.npz`` file: ``jpeg`` (the 96x96 BGR face crops, the generator's input
layout, as concatenated JPEG files) with ``jpeg_offsets`` ``(T + 1,)``, ``valid`` ``(T,)`` bool
(a face was found), ``wav`` int16 16 kHz mono and one ``features_<extractor>`` float16
``(F, D)`` array per extractor. About 4 KB per frame.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lipdub.errors import InputError
from lipdub.media.audio import load_audio
from lipdub.media.filemode import apply_umask
from lipdub.media.probe import probe

SAMPLE_RATE = 16000
#: Frame rate every clip is resampled to (5 frames = 0.2 s, as the networks expect).
CLIP_FPS = 25.0
#: Audio quieter than this RMS (-60 dBFS) counts as silent.
SILENCE_RMS = 10 ** (-60 / 20)
JPEG_QUALITY = 95


@dataclass
class ExtractorSpec:
    """What the dataset stores of one extractor: how to build it and what its features are."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class VideoResult:
    """The outcome for one source video: its clips, or why it was dropped or failed."""

    video: str
    clips: list[dict[str, Any]] = field(default_factory=list)
    dropped: str | None = None
    error: str | None = None
    extractors: dict[str, dict[str, Any]] = field(default_factory=dict)


def save_npz_atomic(path: Path, **arrays: np.ndarray) -> None:
    """Write ``arrays`` to ``path`` (``.npz``) via a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        apply_umask(handle)
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, **arrays)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def encode_faces(crops: np.ndarray, quality: int = JPEG_QUALITY) -> dict[str, np.ndarray]:
    """``(T, H, W, 3)`` uint8 BGR crops -> ``{"jpeg": bytes, "jpeg_offsets": (T + 1,)}``."""
    import cv2

    encoded = [
        cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].reshape(-1)
        for crop in crops
    ]
    offsets = np.cumsum([0] + [len(e) for e in encoded]).astype(np.int64)
    data = np.concatenate(encoded) if encoded else np.zeros(0, np.uint8)
    return {"jpeg": data.astype(np.uint8), "jpeg_offsets": offsets}


def decode_faces(jpeg: np.ndarray, offsets: np.ndarray, indices: Any) -> np.ndarray:
    """The crops at ``indices`` as ``(N, H, W, 3)`` uint8 BGR."""
    import cv2

    return np.stack(
        [cv2.imdecode(jpeg[offsets[i] : offsets[i + 1]], cv2.IMREAD_COLOR) for i in indices]
    )


def build_extractors(specs: list[ExtractorSpec]) -> dict[str, Any]:
    """Instantiate each requested audio extractor (through the plugin registry)."""
    from lipdub.plugins import get_component

    return {
        spec.name: get_component("audio_extractors", spec.name)(**spec.options) for spec in specs
    }


def extractor_info(extractor: Any) -> dict[str, Any]:
    """The manifest entry of an extractor: its rate, identity and what trained networks need."""
    return {
        "fps": float(extractor.frames_per_second),
        "identity": extractor.identity(),
        "model": getattr(extractor, "model_label", None),
        "layer": getattr(extractor, "layer", None),
        "projected": getattr(extractor, "projected", None),
        "feature_dim": getattr(extractor, "feature_dim", None),
    }


def clip_features(wav: np.ndarray, extractors: dict[str, Any]) -> dict[str, np.ndarray]:
    """``features_<name>`` float16 arrays of ``wav`` for every extractor."""
    from lipdub.audio.features import compute_features

    return {
        f"features_{name}": compute_features(wav, extractor).astype(np.float16)
        for name, extractor in extractors.items()
    }


def _track_faces(video: Path, tracker: Any) -> tuple[list[Any], Any]:
    from lipdub.media.reader import VideoReader
    from lipdub.pipeline.analysis import analyse

    reader = VideoReader(probe(video), fps=CLIP_FPS)
    analysis = analyse(reader.frames(), tracker, CLIP_FPS)
    return analysis.faces, reader


def _crops(reader: Any, faces: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    from lipdub.generators.wav2lip import FACE_SIZE, crop_face

    crops = np.zeros((len(faces), FACE_SIZE, FACE_SIZE, 3), dtype=np.uint8)
    valid = np.zeros(len(faces), dtype=bool)
    for index, frame in enumerate(reader.frames(count=len(faces))):
        face = faces[index]
        if face is not None:
            crops[index] = crop_face(frame, face.int_box(frame.shape[1], frame.shape[0]))
            valid[index] = True
    return crops, valid


def process_video(
    video: Path,
    root: Path,
    key: str,
    extractors: dict[str, Any],
    tracker: Any,
    clip_seconds: float = 5.0,
    min_clip_seconds: float = 1.0,
) -> VideoResult:
    """Split ``video`` into clips under ``root/clips``; silent or audio-less videos are dropped."""
    result = VideoResult(video=str(video))
    info = probe(video)
    if not info.has_video:
        raise InputError(f"{video}: has no video stream")
    if not info.has_audio:
        result.dropped = "no audio stream"
        return result
    wav = load_audio(info, SAMPLE_RATE)
    if float(np.sqrt(np.mean(np.square(wav, dtype=np.float64)))) < SILENCE_RMS:
        result.dropped = "silent audio"
        return result
    faces, reader = _track_faces(video, tracker)
    crops, valid = _crops(reader, faces)
    n_frames = min(len(crops), int(len(wav) / SAMPLE_RATE * CLIP_FPS))
    per_clip = max(1, round(clip_seconds * CLIP_FPS))
    shortest = max(10, round(min_clip_seconds * CLIP_FPS))
    for number, start in enumerate(range(0, n_frames, per_clip)):
        stop = min(start + per_clip, n_frames)
        if stop - start < shortest or valid[start:stop].sum() < shortest:
            continue
        clip_wav = wav[round(start / CLIP_FPS * SAMPLE_RATE) : round(stop / CLIP_FPS * SAMPLE_RATE)]
        clip_id = f"{key}__{number:04d}"
        relative = Path("clips") / f"{clip_id}.npz"
        save_npz_atomic(
            root / relative,
            **encode_faces(crops[start:stop]),
            valid=valid[start:stop],
            wav=np.round(np.clip(clip_wav, -1, 1) * 32767).astype(np.int16),
            **clip_features(clip_wav, extractors),
        )
        result.clips.append(
            {
                "id": clip_id,
                "file": relative.as_posix(),
                "video": str(video),
                "start": start / CLIP_FPS,
                "frames": stop - start,
                "faces": int(valid[start:stop].sum()),
            }
        )
    if not result.clips:
        result.dropped = "no clip with enough frames showing a face"
    return result


def add_features(
    root: Path, clip: dict[str, Any], extractors: dict[str, Any], replace: bool = False
) -> None:
    """Add (or with ``replace``, recompute) extractors' features in an existing clip file."""
    path = root / clip["file"]
    with np.load(path, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    missing = {n: e for n, e in extractors.items() if replace or f"features_{n}" not in arrays}
    if not missing:
        return
    wav = arrays["wav"].astype(np.float32) / 32767.0
    arrays.update(clip_features(wav, missing))
    save_npz_atomic(path, **arrays)
