"""Decoding audio (from an audio file or a video's audio stream) to float32 mono."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import IO

import numpy as np

from lipdub.errors import InputError
from lipdub.media.ffmpeg import FFmpegProcess, input_url
from lipdub.media.probe import MediaInfo, probe

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
        expected = int((info.duration or 0.0) * sample_rate) + sample_rate
        wav = _read_samples(process.stdout, expected)
        if process.wait() != 0:
            raise InputError(f"{info.path}: could not decode audio ({process.error_line()})")
    finally:
        process.kill()
    if wav.size == 0:
        raise InputError(f"{info.path} contains no audio")
    for start in range(0, len(wav), CLEAN_BLOCK):  # in place, a block at a time: no masks
        block = wav[start : start + CLEAN_BLOCK]  # the size of the whole audio
        np.nan_to_num(block, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
        np.clip(block, -1.0, 1.0, out=block)
    return wav


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
