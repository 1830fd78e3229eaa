"""The ``face-alignment`` tracker: S3FD boxes and FAN 68-point landmarks, from the
face-alignment package (1adrianb/face-alignment), on CPU, CUDA or MPS.

S3FD is the detector the public Wav2Lip checkpoints were trained on: each face keeps its raw
S3FD box as ``Face.detector_box``, so ``wav2lip_box`` crops exactly what Wav2Lip's
preprocessing cropped (the box plus ``pads``). FAN's 68 iBUG points give the named regions.
With ``detect_every`` above 1, S3FD runs only every so many frames while the faces barely
move; in between each face's last S3FD box follows the motion of its landmarks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from lipdub.components import FaceTracker
from lipdub.errors import CheckpointError, InputError, WeightsMissingError
from lipdub.faces.boxes import box_iou, landmarks_box
from lipdub.faces.ibug68 import regions_from_ibug68
from lipdub.types import Face
from pydantic import Field

from lipdub_face_alignment import weights

FloatBox = tuple[float, float, float, float]


@dataclass
class _Track:
    """A followed face: its last S3FD box and score, and the landmark box it had then."""

    detector_box: FloatBox
    score: float
    landmark_box: FloatBox


def pick_device(device: str) -> str:
    """``device``, with ``auto`` resolved to CUDA, then MPS, then the CPU."""
    if device != "auto":
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:160]}" if text else type(exc).__name__


def _moved(box: FloatBox, before: FloatBox, now: FloatBox) -> FloatBox:
    """``box`` moved and scaled the way the landmark box went from ``before`` to ``now``."""
    size_before = max(before[2] - before[0], before[3] - before[1], 1e-6)
    scale = max(now[2] - now[0], now[3] - now[1]) / size_before
    bx, by = (before[0] + before[2]) / 2, (before[1] + before[3]) / 2
    nx, ny = (now[0] + now[2]) / 2, (now[1] + now[3]) / 2
    return (
        nx + (box[0] - bx) * scale,
        ny + (box[1] - by) * scale,
        nx + (box[2] - bx) * scale,
        ny + (box[3] - by) * scale,
    )


def _motion(before: FloatBox, now: FloatBox) -> float:
    """How far a box moved or changed size, as a share of its size."""
    size = max(before[2] - before[0], before[3] - before[1], 1e-6)
    shift = max(abs(a - b) for a, b in zip(before, now, strict=True))
    return shift / size


def _rgb(frame: np.ndarray) -> np.ndarray:
    if not (isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[2] == 3):
        raise InputError("the face tracker needs RGB frames of shape (height, width, 3)")
    return np.ascontiguousarray(frame, dtype=np.uint8)


def build_alignment(
    landmark_model: str, device: str, threshold: float, batch_size: int, flip_input: bool
) -> Any:
    """A ``face_alignment.FaceAlignment`` on local files only (never downloads): S3FD from
    :func:`weights.detector_path`, FAN from :func:`weights.landmark_path`."""
    detector_file = weights.detector_path()
    landmark_file = weights.landmark_path(landmark_model)
    import face_alignment
    import torch
    from face_alignment.models import FAN

    class LocalAlignment(face_alignment.FaceAlignment):
        def _load_native(self, network_name: str, network_size: int, device: str, dtype: Any):
            try:
                state = torch.load(landmark_file, map_location=device, weights_only=True)
                net = FAN(network_size)
                net.load_state_dict(state)
            except Exception as exc:
                raise CheckpointError(
                    f"{landmark_file} is not a {network_name} checkpoint ({_one_line(exc)})"
                ) from None
            return net.to(device, dtype=dtype).eval()

    kind = "TWO_D" if landmark_model == "2d" else "TWO_HALF_D"
    try:
        return LocalAlignment(
            getattr(face_alignment.LandmarksType, kind),
            device=device,
            flip_input=flip_input,
            face_detector="sfd",
            face_detector_kwargs={
                "path_to_detector": str(detector_file),
                "filter_threshold": threshold,
            },
            compile=False,
            max_batch_size=batch_size,
        )
    except CheckpointError:
        raise
    except Exception as exc:
        raise CheckpointError(
            f"{detector_file} is not an S3FD checkpoint ({_one_line(exc)}); run "
            f"`lipdub models pull {weights.S3FD.name} --force`"
        ) from None


#: Most pixels one batched S3FD pass takes (two 720p frames).
S3FD_BATCH_PIXELS = 2 * 1280 * 720


class FaceAlignmentTracker(FaceTracker):
    """S3FD faces with FAN 68-point landmarks; each face keeps its raw S3FD box."""

    name = "face-alignment"
    description = "face-alignment: S3FD boxes (Wav2Lip's crops) and FAN 68 iBUG landmarks"

    class Options(FaceTracker.Options):
        threshold: float = Field(
            0.5, ge=0.0, le=1.0, description="S3FD score a face needs (face-alignment: 0.5)."
        )
        batch_size: int = Field(
            8,
            ge=1,
            le=256,
            description="Frames per S3FD pass in the first pass over a video, and faces per "
            "FAN pass (memory grows with it: ~0.5 GB a 720p frame on CPU).",
        )
        landmark_model: Literal["2d", "2.5d"] = Field(
            "2d", description="FAN model: 2d (2DFAN-4) or 2.5d (3DFAN-4, x and y only)."
        )
        device: Literal["auto", "cpu", "cuda", "mps"] = Field(
            "auto", description="Where S3FD and FAN run (auto: CUDA, then MPS, then CPU)."
        )
        max_faces: int = Field(4, ge=1, le=32, description="Most faces reported per frame.")
        detect_every: int = Field(
            1,
            ge=1,
            description="Frames between S3FD passes while faces barely move (1: every frame).",
        )
        max_motion: float = Field(
            0.05,
            ge=0.0,
            le=1.0,
            description="Landmark motion (share of the face size) that calls S3FD again.",
        )
        flip_input: bool = Field(
            True, description="Average FAN with its mirrored pass (face-alignment's default)."
        )

    options: Options

    def __init__(self, options: Any = None, **values: Any) -> None:
        super().__init__(options, **values)
        self._alignment: Any = None
        self._tracks: list[_Track] = []
        self._since_detection = 0

    def load(self) -> Any:
        """Build face-alignment's networks now (fails fast on missing or wrong weights)."""
        if self._alignment is None:
            opts = self.options
            self._alignment = build_alignment(
                opts.landmark_model,
                pick_device(opts.device),
                opts.threshold,
                opts.batch_size,
                opts.flip_input,
            )
        return self._alignment

    def identity(self) -> str:
        """Class, options and the S3FD and FAN files in use (path, size, modification
        time): other weights find other faces, so the analysis cache must not reuse them."""
        files = []
        model = self.options.landmark_model
        for find in (weights.detector_path, lambda: weights.landmark_path(model)):
            try:
                path = find()
            except WeightsMissingError:
                files.append("missing")
                continue
            stat = path.stat()
            files.append(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}")
        return super().identity() + ":" + ",".join(files)

    @property
    def frames_per_batch(self) -> int:
        """Frames per S3FD pass in :meth:`detect_batch` (the ``batch_size`` option)."""
        return self.options.batch_size

    def detector_boxes(self, frame: np.ndarray) -> list[tuple[FloatBox, float]]:
        """S3FD faces in ``frame`` as ``(box, score)``, best first, at most ``max_faces``."""
        return self._ranked(self.load().face_detector.detect_from_image(frame))

    def detector_boxes_batch(self, frames: list[np.ndarray]) -> list[list[tuple[FloatBox, float]]]:
        """:meth:`detector_boxes` of each of ``frames`` (one size) in one S3FD pass."""
        import torch

        batch = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2)
        found = self.load().face_detector.detect_from_batch(batch)
        return [self._ranked(rows) for rows in found]

    def _ranked(self, found: Any) -> list[tuple[FloatBox, float]]:
        boxes = [(tuple(float(v) for v in row[:4]), float(row[4])) for row in found]
        boxes.sort(key=lambda item: -item[1])
        return boxes[: self.options.max_faces]  # type: ignore[return-value]

    def _landmarks(self, frame: np.ndarray, boxes: list[FloatBox]) -> list[np.ndarray]:
        rows = [np.array(box, np.float32) for box in boxes]
        points = self.load().get_landmarks_from_image(frame, detected_faces=rows)
        return [np.asarray(p, np.float32)[:, :2] for p in points]

    def detect(self, frame: np.ndarray) -> list[Face]:
        """Faces in ``frame`` (RGB uint8), each with 68 landmarks, regions and its S3FD box."""
        frame = _rgb(frame)
        faces = self._followed(frame)
        return faces if faces is not None else self._detect_anew(frame)

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[list[Face]]:
        """:meth:`detect` of each of ``frames`` in turn, with S3FD run on up to ``batch_size``
        of them at once: the frames S3FD would see one by one (every ``detect_every``-th while
        faces are followed; a face that moves too much calls S3FD on that frame early)."""
        frames = [_rgb(frame) for frame in frames]
        if len({frame.shape for frame in frames}) > 1:
            return [self.detect(frame) for frame in frames]
        height, width = frames[0].shape[:2] if frames else (1, 1)
        # S3FD's first layers run at full resolution (about 0.5 GB a 720p frame): batches are
        # also capped by pixels, so a 1080p or 4K batch is one frame at a time.
        room = max(1, S3FD_BATCH_PIXELS // max(1, height * width))
        every, ahead = self.options.detect_every, min(self.frames_per_batch, room)
        found: dict[int, list[tuple[FloatBox, float]]] = {}
        results = []
        for number, frame in enumerate(frames):
            faces = self._followed(frame)
            if faces is None:
                if number not in found:  # S3FD on this frame and the next due ones
                    due = list(range(number, len(frames), every))[:ahead]
                    boxes = self.detector_boxes_batch([frames[i] for i in due])
                    found = dict(zip(due, boxes, strict=True))
                faces = self._detect_anew(frame, found.pop(number))
            results.append(faces)
        return results

    def _followed(self, frame: np.ndarray) -> list[Face] | None:
        """The followed faces in ``frame`` when S3FD is not due; ``None`` when it is."""
        if self._tracks and self._since_detection < self.options.detect_every - 1:
            faces = self._follow(frame)
            if faces is not None:
                self._since_detection += 1
                return faces
        return None

    def _follow(self, frame: np.ndarray) -> list[Face] | None:
        """Landmarks on the moved S3FD boxes; ``None`` when a face moved too much."""
        points = self._landmarks(frame, [track.detector_box for track in self._tracks])
        updated = []
        for track, coords in zip(self._tracks, points, strict=True):
            now = landmarks_box(coords)
            if _motion(track.landmark_box, now) > self.options.max_motion:
                return None
            box = _moved(track.detector_box, track.landmark_box, now)
            updated.append((_Track(box, track.score, now), coords))
        self._tracks = [track for track, _ in updated]
        return [self._face(frame, t.detector_box, t.score, c) for t, c in updated]

    def _detect_anew(
        self, frame: np.ndarray, found: list[tuple[FloatBox, float]] | None = None
    ) -> list[Face]:
        self._since_detection = 0
        if found is None:
            found = self.detector_boxes(frame)
        kept: list[tuple[FloatBox, float]] = []
        for box, score in found:
            if all(box_iou(box, other) < 0.5 for other, _ in kept):
                kept.append((box, score))
        if not kept:
            self._tracks = []
            return []
        points = self._landmarks(frame, [box for box, _ in kept])
        self._tracks = [
            _Track(box, score, landmarks_box(coords))
            for (box, score), coords in zip(kept, points, strict=True)
        ]
        return [
            self._face(frame, box, score, coords)
            for (box, score), coords in zip(kept, points, strict=True)
        ]

    @staticmethod
    def _face(frame: np.ndarray, box: FloatBox, score: float, coords: np.ndarray) -> Face:
        height, width = frame.shape[:2]
        regions = regions_from_ibug68(coords).clipped(width, height)
        return Face(box=box, landmarks=coords, score=score, regions=regions, detector_box=box)

    def reset(self) -> None:
        """Forget the followed faces (a shot cut): the next frame runs S3FD."""
        self._tracks = []
        self._since_detection = 0

    def close(self) -> None:
        """Release the networks."""
        self._alignment = None
        self.reset()
