"""Decoding audio (from an audio file or a video's audio stream) to float32 mono."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np

from lipdub.errors import InputError
from lipdub.media.ffmpeg import FFmpegProcess, input_url
from lipdub.media.probe import MediaInfo, probe
from lipdub.spill import RowBlocks

#: The sample rate the pipeline works at.
SAMPLE_RATE = 16000


#: Samples cleaned of NaN/infinity and clipped at once by :func:`load_audio`.
CLEAN_BLOCK = 1 << 20


def load_audio(
    source: str | os.PathLike[str] | MediaInfo, sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """The first audio stream of ``source`` as float32 mono in [-1, 1] at ``sample_rate``.

    Sample 0 is the file's start (``MediaInfo.start_time``, where video frame 0 is too): an
    audio stream that starts later is padded with silence at the front. Channels are mixed
    down by ffmpeg (``-ac 1``). Raises InputError when the file has no
    audio stream, holds no audio samples, or cannot be decoded.
    """
    with _decoding(source, sample_rate) as (info, stream):
        expected = int((info.duration or 0.0) * sample_rate) + sample_rate
        wav = _read_samples(stream, expected)
    if wav.size == 0:
        raise InputError(f"{info.path} contains no audio")
    for start in range(0, len(wav), CLEAN_BLOCK):  # in place, a block at a time: no masks
        _clean(wav[start : start + CLEAN_BLOCK])  # the size of the whole audio
    return wav


#: Samples :func:`stream_audio` keeps in memory (about a minute at 16 kHz); longer audio
#: goes to a temporary file, in blocks of :data:`STREAM_BLOCK` samples (1 MB).
KEEP_SAMPLES = 1 << 20
STREAM_BLOCK = 1 << 18


def stream_audio(
    source: str | os.PathLike[str] | MediaInfo, sample_rate: int = SAMPLE_RATE
) -> RowBlocks:
    """What :func:`load_audio` gives, as :class:`~lipdub.spill.RowBlocks` that move to an
    unlinked temporary file past :data:`KEEP_SAMPLES`: an hour of audio (230 MB at 16 kHz)
    is decoded and read back a block at a time, never held whole."""
    store = RowBlocks(
        (), np.float32, spill=True, block_rows=STREAM_BLOCK, keep_rows=KEEP_SAMPLES,
        what="audio samples",
    )  # fmt: skip
    with _decoding(source, sample_rate) as (info, stream):
        chunk = np.empty(CLEAN_BLOCK, "<f4")
        while filled := _fill(stream, chunk):
            store.extend(_clean(chunk[: filled // 4]))
    if not len(store):
        raise InputError(f"{info.path} contains no audio")
    return store


def _clean(samples: np.ndarray) -> np.ndarray:
    """``samples`` with NaN made 0 and everything clipped to [-1, 1], in place."""
    np.nan_to_num(samples, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(samples, -1.0, 1.0, out=samples)


def _fill(stream: IO[bytes], chunk: np.ndarray) -> int:
    """Bytes read into ``chunk`` until it is full or ``stream`` ends (whole samples only)."""
    view = memoryview(chunk).cast("B")
    filled = 0
    while filled < len(view) and (got := stream.readinto(view[filled:])):  # type: ignore[attr-defined]
        filled += got
    return filled - filled % 4


@contextlib.contextmanager
def _decoding(
    source: str | os.PathLike[str] | MediaInfo, sample_rate: int
) -> Iterator[tuple[MediaInfo, IO[bytes]]]:
    """ffmpeg decoding ``source``'s first audio stream to float32 mono at ``sample_rate``:
    its info and the stream of samples; InputError when there is no audio stream or ffmpeg
    fails."""
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    info = source if isinstance(source, MediaInfo) else probe(source)
    if not info.has_audio:
        raise InputError(f"{info.path} has no audio stream")
    args = [
        "-loglevel", "error", "-i", input_url(info.path), "-map", f"0:{info.audio_stream}",
        "-vn", "-sn", "-dn", "-af", "aresample=first_pts=0",
        "-ac", "1", "-ar", str(sample_rate), "-f", "f32le", "pipe:1",
    ]  # fmt: skip
    process = FFmpegProcess(args, stdout=subprocess.PIPE)
    try:
        yield info, process.stdout
        if process.wait() != 0:
            raise InputError(f"{info.path}: could not decode audio ({process.error_line()})")
    finally:
        process.kill()


def _read_samples(stream: IO[bytes], expected: int) -> np.ndarray:
    """Little-endian float32 samples from ``stream`` until it ends, read straight into one
    array sized for ``expected`` samples (grown when there are more), so a long file needs
    its samples' memory once, not a copy of them in bytes as well."""
    samples = np.empty(max(expected, 1 << 16), "<f4")
    filled = 0  # bytes
    while True:
        if filled == samples.nbytes:
            grown = np.empty(len(samples) * 3 // 2, "<f4")
            grown[: len(samples)] = samples
            samples = grown
        got = stream.readinto(memoryview(samples).cast("B")[filled:])  # type: ignore[attr-defined]
        if not got:
            break
        filled += got
    count = filled // 4
    kept = samples[:count]
    # Far more room than samples (a wrong duration): keep only what was read.
    return (
        kept.copy()
        if len(samples) > count + count // 8 + (1 << 16)
        else kept.astype(np.float32, copy=False)
    )


def write_wav(path: str | os.PathLike[str], samples: np.ndarray, rate: int = 16000) -> Path:
    """Write float mono ``samples`` in [-1, 1] as a 16-bit PCM WAV at ``rate``; the path."""
    import wave

    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(os.fspath(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.tobytes())
    return Path(path)
