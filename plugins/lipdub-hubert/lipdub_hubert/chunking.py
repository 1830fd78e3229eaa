"""Run a HuBERT-style convolutional front end over long audio in overlapping chunks.

HuBERT's feature encoder has a receptive field of 400 samples and a hop of 320 samples (20 ms,
50 frames per second at 16 kHz). The audio is padded by 40 samples at the start so that frame
``i`` is centred on the middle of its 20 ms slot ``[320 i, 320 i + 320)``, and at the end so that
exactly ``round(samples / 320)`` frames come out, i.e. ``round(duration * 50)``.

Chunks start on frame boundaries and cover whole frames, so every chunk's frames line up with
the global frame grid. Where two chunks overlap, each frame is taken from the chunk in which it
lies further from an edge (the cut is in the middle of the overlap). Only one chunk is in the
model at a time, so memory does not grow with the length of the audio.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: Samples per output frame (20 ms at 16 kHz).
HOP = 320
#: Receptive field of the convolutional front end, in samples.
RECEPTIVE_FIELD = 400
#: Samples of zero padding before the audio, centring each frame on its slot.
LEAD_PAD = (RECEPTIVE_FIELD - HOP) // 2


def frame_count(samples: int) -> int:
    """Frames for ``samples`` of audio: ``round(samples / 320)`` (half rounds up)."""
    return (2 * samples + HOP) // (2 * HOP)


def chunk_spans(total_frames: int, chunk_frames: int, overlap_frames: int) -> list[tuple[int, int]]:
    """Frame ranges ``[start, end)`` of the chunks covering ``total_frames`` frames.

    Consecutive chunks overlap by ``overlap_frames``; the last chunk is moved back so that it
    ends at the last frame and is as long as the others (a short tail chunk would have too
    little context).
    """
    if chunk_frames <= 0:
        raise ValueError("chunk_frames must be positive")
    if not 0 <= overlap_frames < chunk_frames:
        raise ValueError("overlap_frames must be in [0, chunk_frames)")
    if total_frames <= chunk_frames:
        return [(0, total_frames)] if total_frames > 0 else []
    step = chunk_frames - overlap_frames
    spans = []
    start = 0
    while start + chunk_frames < total_frames:
        spans.append((start, start + chunk_frames))
        start += step
    spans.append((total_frames - chunk_frames, total_frames))
    return spans


def owned_ranges(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The frames each chunk contributes: neighbours split their overlap in the middle."""
    owned = []
    for index, (start, end) in enumerate(spans):
        own_start = 0 if index == 0 else (start + spans[index - 1][1]) // 2
        own_end = end if index == len(spans) - 1 else (spans[index + 1][0] + end) // 2
        owned.append((own_start, own_end))
    return owned


def padded_slice(wav: np.ndarray, start: int, end: int) -> np.ndarray:
    """Samples ``[start, end)`` of ``wav`` as if padded by ``LEAD_PAD`` zeros before and
    zeros after, without copying the whole audio."""
    piece = np.zeros(end - start, np.float32)
    lo, hi = max(start - LEAD_PAD, 0), min(end - LEAD_PAD, len(wav))
    if hi > lo:
        offset = lo + LEAD_PAD - start
        piece[offset : offset + hi - lo] = wav[lo:hi]
    return piece


def extract_chunked(
    wav: np.ndarray,
    run_chunk: Callable[[np.ndarray], np.ndarray],
    feature_dim: int,
    chunk_seconds: float | None = 5.0,
    overlap_seconds: float = 0.5,
    frames_per_second: float = 50.0,
) -> np.ndarray:
    """Features ``(round(len(wav) / 320), feature_dim)`` float32 of ``wav`` (16 kHz mono).

    ``run_chunk`` maps a stretch of padded audio of ``320 * (n - 1) + 400`` samples to ``n``
    frames ``(n, feature_dim)``. ``chunk_seconds=None`` runs the whole audio at once.
    """
    total = frame_count(len(wav))
    out = np.zeros((total, feature_dim), np.float32)
    if total == 0:
        return out
    if chunk_seconds is None:
        chunk_frames, overlap_frames = total, 0
    else:
        chunk_frames = max(1, round(chunk_seconds * frames_per_second))
        overlap_frames = min(round(overlap_seconds * frames_per_second), chunk_frames - 1)
    spans = chunk_spans(total, chunk_frames, overlap_frames)
    for (start, end), (own_start, own_end) in zip(spans, owned_ranges(spans), strict=True):
        frames = run_chunk(padded_slice(wav, start * HOP, (end - 1) * HOP + RECEPTIVE_FIELD))
        if frames.shape != (end - start, feature_dim):
            raise RuntimeError(f"extractor gave {frames.shape} for a chunk of {end - start} frames")
        out[own_start:own_end] = frames[own_start - start : own_end - start]
    return out
