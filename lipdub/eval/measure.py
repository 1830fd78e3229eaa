"""One streaming pass over a video (and its reference): faces, mouth opening, image quality.

Only small per-frame values are kept (face box, face regions, scores), so memory does not
grow with the video's resolution; FID features (2048 floats per frame) are kept only when FID
is asked for.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lipdub.eval.agreement import DEFAULT_TRACKER, eval_tracker, largest_regions, opening_of
from lipdub.eval.image_quality import SSIM_BORDER, inception_features, psnr, ssim
from lipdub.faces.boxes import FOREHEAD_TRIM
from lipdub.faces.regions import FaceRegions
from lipdub.pipeline.progress import ProgressCallback, no_progress

FloatBox = tuple[float, float, float, float]
FID_BATCH = 16
#: Extra rows/columns a dub of an odd-sized source carries (yuv420p needs even sizes).
ENCODER_PADDING = 1
QUALITY_METRICS = frozenset({"psnr", "ssim"})


@dataclass
class FrameMeasures:
    """Per-frame measurements of a video (index = frame number at the reading rate);
    ``meshes`` are the face regions of the largest face (None: no face)."""

    meshes: list[FaceRegions | None] = field(default_factory=list)
    boxes: list[FloatBox | None] = field(default_factory=list)
    openings: list[float] = field(default_factory=list)
    reference_meshes: list[FaceRegions | None] = field(default_factory=list)
    psnr: list[float] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)
    psnr_face: list[float] = field(default_factory=list)
    ssim_face: list[float] = field(default_factory=list)
    fid_features: list[np.ndarray] = field(default_factory=list)
    reference_fid_features: list[np.ndarray] = field(default_factory=list)
    width: int = 0
    height: int = 0

    @property
    def n_frames(self) -> int:
        return len(self.meshes)

    @property
    def face_frames(self) -> int:
        return sum(mesh is not None for mesh in self.meshes)


def syncnet_box(regions: FaceRegions) -> FloatBox:
    """A face box like the S3FD detector's (the oval box without the top of the forehead)."""
    x1, y1, x2, y2 = regions.oval_box()
    return x1, y1 + FOREHEAD_TRIM * (y2 - y1), x2, y2


def _face_region(regions: FaceRegions, width: int, height: int) -> tuple[int, int, int, int] | None:
    x1, y1, x2, y2 = regions.oval_box()
    box = (max(0, int(x1)), max(0, int(y1)), min(width, int(np.ceil(x2))), min(height, int(y2)))
    if min(box[2] - box[0], box[3] - box[1]) < 2 * SSIM_BORDER + 1:
        return None
    return box


def measure_frames(
    frames: Iterable[np.ndarray],
    reference_frames: Iterable[np.ndarray] | None = None,
    *,
    quality: bool | Collection[str] = False,
    fid_model: Any = None,
    total: int | None = None,
    progress: ProgressCallback = no_progress,
    stage: str = "frames",
    tracker_name: str = DEFAULT_TRACKER,
) -> FrameMeasures:
    """Track the face of every frame with the registered face tracker ``tracker_name``; with
    a reference, also track its face and (``quality``) score PSNR/SSIM of the whole frame and
    of the reference's face region per frame pair (``quality``: True for both, or the names
    of the ones to compute).

    Reference metrics cover the frames both videos have; the rest of the video is still
    measured.
    """
    out = FrameMeasures()
    scores = QUALITY_METRICS if quality is True else QUALITY_METRICS & set(quality or ())
    tracker = eval_tracker(tracker_name)
    reference_tracker = eval_tracker(tracker_name) if reference_frames is not None else None
    pending_fid: list[tuple[np.ndarray, np.ndarray]] = []
    references: Iterator[np.ndarray] = iter(reference_frames or ())
    try:
        for frame in frames:
            reference = next(references, None)
            out.height, out.width = frame.shape[:2]
            mesh = largest_regions(tracker, frame)
            out.meshes.append(mesh)
            out.boxes.append(None if mesh is None else syncnet_box(mesh))
            out.openings.append(np.nan if mesh is None else opening_of(mesh))
            if reference is not None and reference_tracker is not None:
                _measure_pair(out, frame, reference, reference_tracker, scores)
                if fid_model is not None:
                    pending_fid.append((frame, reference))
                    if len(pending_fid) >= FID_BATCH:
                        _flush_fid(out, fid_model, pending_fid)
            progress(stage, out.n_frames, total)
        if pending_fid:
            _flush_fid(out, fid_model, pending_fid)
    finally:
        tracker.close()
        if reference_tracker is not None:
            reference_tracker.close()
    return out


def _measure_pair(
    out: FrameMeasures,
    frame: np.ndarray,
    reference: np.ndarray,
    tracker: Any,
    scores: frozenset[str],
) -> None:
    frame, reference = common_area(frame, reference)
    reference_mesh = largest_regions(tracker, reference)
    out.reference_meshes.append(reference_mesh)
    if not scores:
        return
    region = None if reference_mesh is None else _face_region(reference_mesh, *frame.shape[1::-1])
    face = None
    if region is not None:
        x1, y1, x2, y2 = region
        face = (frame[y1:y2, x1:x2], reference[y1:y2, x1:x2])
    if "psnr" in scores:
        out.psnr.append(psnr(frame, reference))
        out.psnr_face.append(np.nan if face is None else psnr(*face))
    if "ssim" in scores:
        out.ssim.append(ssim(frame, reference))
        out.ssim_face.append(np.nan if face is None else ssim(*face))


def common_area(frame: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``frame`` and ``reference`` cut to their shared top-left area when they differ only by
    the encoder's padding of odd sizes (a dub of 512x479 is stored as 512x480); InputError
    for other size differences."""
    from lipdub.errors import InputError

    if reference.shape == frame.shape:
        return frame, reference
    height = min(frame.shape[0], reference.shape[0])
    width = min(frame.shape[1], reference.shape[1])
    padded = all(
        abs(a - b) <= ENCODER_PADDING
        for a, b in zip(frame.shape[:2], reference.shape[:2], strict=True)
    )
    if not padded or frame.shape[2:] != reference.shape[2:]:
        raise InputError(
            f"the reference is {reference.shape[1]}x{reference.shape[0]} but the video is "
            f"{frame.shape[1]}x{frame.shape[0]}: reference metrics need the same frame size"
        )
    return frame[:height, :width], reference[:height, :width]


def _flush_fid(
    out: FrameMeasures, model: Any, pending: list[tuple[np.ndarray, np.ndarray]]
) -> None:
    out.fid_features.extend(inception_features(model, [frame for frame, _ in pending]))
    out.reference_fid_features.extend(inception_features(model, [ref for _, ref in pending]))
    pending.clear()
