"""SyncNet embeddings of a video, following the reference LSE pipeline.

The reference (``syncnet_python``: ``run_pipeline.py`` then ``SyncNetInstance.evaluate``) reads
the video at 25 fps, tracks the face, median-filters the box size and centre over 13 frames,
crops ``[cy - s, cy + 1.8 s] x [cx - 1.4 s, cx + 1.4 s]`` (``s`` = half the larger box side,
crop scale 0.4, outside the frame filled with grey 110), resizes it to 224 x 224 and feeds BGR
pixel values. Audio is the track's 16-bit PCM at 16 kHz, MFCC'd per face track; window ``i``
is video frames ``i .. i+4`` and MFCC steps ``4i .. 4i+19``; ``min(frames, samples // 640) - 5``
windows per track.

Here a "track" is a run of frames with a face (gaps of up to 25 frames are interpolated, as
the reference allows 25 missed detections). Differences from the reference: mediapipe boxes
stand in for S3FD ones, crops are not re-encoded to an intermediate video, and runs shorter
than the reference's 100 frames are kept (at least 6 frames are needed for one window).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.signal import medfilt

from lipdub.eval.syncnet_mfcc import mfcc
from lipdub.pipeline.progress import ProgressCallback, no_progress

SYNCNET_FPS = 25
SYNCNET_RATE = 16000
SAMPLES_PER_FRAME = SYNCNET_RATE // SYNCNET_FPS  # 640
MFCC_STEPS_PER_FRAME = 4
WINDOW_FRAMES = 5
CROP_SIZE = 224
CROP_SCALE = 0.4
PAD_VALUE = 110
BOX_MEDIAN_KERNEL = 13
MAX_GAP_FRAMES = 25

FloatBox = tuple[float, float, float, float]


@dataclass
class FaceRun:
    """Frames ``start .. stop-1`` with a face; per frame the crop half-size and centre."""

    start: int
    stop: int
    size: np.ndarray
    cx: np.ndarray
    cy: np.ndarray
    windows: int = 0

    def __len__(self) -> int:
        return self.stop - self.start


def _smooth(values: np.ndarray) -> np.ndarray:
    kernel = min(BOX_MEDIAN_KERNEL, len(values) if len(values) % 2 else len(values) - 1)
    return medfilt(values, kernel_size=kernel) if kernel >= 3 else values


def face_runs(
    boxes: Sequence[FloatBox | None], min_frames: int = WINDOW_FRAMES + 1
) -> list[FaceRun]:
    """Runs of frames with a face box (short gaps interpolated), with smoothed crop geometry."""
    found = [i for i, box in enumerate(boxes) if box is not None]
    groups: list[list[int]] = []
    for i in found:
        if groups and i - groups[-1][-1] <= MAX_GAP_FRAMES:
            groups[-1].append(i)
        else:
            groups.append([i])
    runs = []
    for group in groups:
        start, stop = group[0], group[-1] + 1
        if stop - start < min_frames:
            continue
        known = np.array([boxes[i] for i in group], dtype=np.float64)
        frames = np.arange(start, stop)
        full = np.stack([np.interp(frames, group, known[:, k]) for k in range(4)], axis=1)
        size = np.maximum(full[:, 3] - full[:, 1], full[:, 2] - full[:, 0]) / 2
        runs.append(
            FaceRun(
                start=start,
                stop=stop,
                size=_smooth(size),
                cx=_smooth((full[:, 0] + full[:, 2]) / 2),
                cy=_smooth((full[:, 1] + full[:, 3]) / 2),
            )
        )
    return runs


def reference_crop(frame_bgr: np.ndarray, size: float, cx: float, cy: float) -> np.ndarray:
    """The reference's 224 x 224 face crop (grey 110 outside the frame)."""
    pad = int(size * (1 + 2 * CROP_SCALE))
    # Coordinates in the frame padded by ``pad`` on every side, as the reference computes them.
    my, mx = cy + pad, cx + pad
    top, bottom = int(my - size), int(my + size * (1 + 2 * CROP_SCALE))
    left, right = int(mx - size * (1 + CROP_SCALE)), int(mx + size * (1 + CROP_SCALE))
    height, width = frame_bgr.shape[:2]
    out = np.full((bottom - top, right - left, 3), PAD_VALUE, dtype=np.uint8)
    y1, y2 = max(top, pad), min(bottom, pad + height)
    x1, x2 = max(left, pad), min(right, pad + width)
    if y2 > y1 and x2 > x1:
        out[y1 - top : y2 - top, x1 - left : x2 - left] = frame_bgr[
            y1 - pad : y2 - pad, x1 - pad : x2 - pad
        ]
    return cv2.resize(out, (CROP_SIZE, CROP_SIZE))


def run_audio_windows(audio_int16: np.ndarray, run: FaceRun) -> np.ndarray:
    """MFCC windows ``(W, 1, 13, 20)`` of a run (sets ``run.windows``)."""
    chunk = audio_int16[run.start * SAMPLES_PER_FRAME : run.stop * SAMPLES_PER_FRAME]
    min_length = min(len(run), len(chunk) // SAMPLES_PER_FRAME)
    run.windows = max(0, min_length - WINDOW_FRAMES)
    if run.windows == 0:
        return np.zeros((0, 1, 13, 20), dtype=np.float32)
    coeffs = mfcc(chunk, SYNCNET_RATE).astype(np.float32)
    steps = WINDOW_FRAMES * MFCC_STEPS_PER_FRAME
    return np.stack([coeffs[None, :, 4 * i : 4 * i + steps] for i in range(run.windows)]).astype(
        np.float32
    )


def _video_windows(
    frames: Iterable[np.ndarray], runs: Sequence[FaceRun]
) -> Iterator[tuple[int, np.ndarray]]:
    """``(run index, (3, 5, 224, 224) float32 window)`` in order, from RGB frames."""
    run_of = {}
    for r, run in enumerate(runs):
        for i in range(run.start, run.stop):
            run_of[i] = r
    pending: deque[np.ndarray] = deque(maxlen=WINDOW_FRAMES)
    made = [0] * len(runs)
    last = max((run.start + run.windows + WINDOW_FRAMES for run in runs if run.windows), default=0)
    for index, frame in enumerate(frames):
        if index >= last:
            break
        r = run_of.get(index)
        if r is None:
            continue
        run = runs[r]
        if index == run.start:
            pending.clear()
        k = index - run.start
        bgr = np.ascontiguousarray(frame[:, :, ::-1])
        pending.append(reference_crop(bgr, run.size[k], run.cx[k], run.cy[k]))
        if len(pending) == WINDOW_FRAMES and made[r] < run.windows:
            stack = np.stack(pending)  # (5, 224, 224, 3)
            yield r, np.transpose(stack, (3, 0, 1, 2)).astype(np.float32)
            made[r] += 1


@dataclass
class RunEmbeddings:
    """Aligned SyncNet embeddings of one face run: row ``i`` = window starting at frame
    ``start + i``."""

    start: int
    video: np.ndarray
    audio: np.ndarray


def embed_runs(
    model: object,
    frames: Iterable[np.ndarray],
    runs: Sequence[FaceRun],
    audio_int16: np.ndarray,
    batch_size: int = 20,
    progress: ProgressCallback = no_progress,
    stage: str = "sync",
) -> list[RunEmbeddings]:
    """Video and audio embeddings of every window of every run (runs without one left out).

    ``model`` has ``embed_video`` / ``embed_audio`` (:class:`~lipdub.eval.syncnet_v2.SyncNetV2`).
    """
    audio_windows = [run_audio_windows(audio_int16, run) for run in runs]
    total = sum(run.windows for run in runs)
    video_parts: list[list[np.ndarray]] = [[] for _ in runs]
    batch: list[np.ndarray] = []
    owners: list[int] = []
    done = 0

    def flush() -> None:
        nonlocal done
        if not batch:
            return
        embedded = model.embed_video(np.stack(batch)).numpy()  # type: ignore[attr-defined]
        for owner, row in zip(owners, embedded, strict=True):
            video_parts[owner].append(row)
        done += len(batch)
        batch.clear()
        owners.clear()
        progress(stage, done, total)

    for r, window in _video_windows(frames, runs):
        batch.append(window)
        owners.append(r)
        if len(batch) >= batch_size:
            flush()
    flush()
    results = []
    for r, run in enumerate(runs):
        count = len(video_parts[r])
        if count == 0:
            continue
        audio = np.concatenate(
            [
                model.embed_audio(audio_windows[r][i : min(i + batch_size, count)]).numpy()  # type: ignore[attr-defined]
                for i in range(0, count, batch_size)
            ]
        )
        results.append(RunEmbeddings(start=run.start, video=np.stack(video_parts[r]), audio=audio))
    return results
