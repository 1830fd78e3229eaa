"""Decoding audio (from an audio file or a video's audio stream) to float32 mono."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lipdub.errors import InputError
from lipdub.media.ffmpeg import input_url, last_error_line, run_ffmpeg
from lipdub.media.probe import MediaInfo, probe

#: The sample rate the pipeline works at.
SAMPLE_RATE = 16000


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
    result = run_ffmpeg(
        [
            "-loglevel", "error", "-i", input_url(info.path), "-map", f"0:{info.audio_stream}",
            "-vn", "-sn", "-dn", "-af", "aresample=first_pts=0",
            "-ac", "1", "-ar", str(sample_rate), "-f", "f32le", "pipe:1",
        ]
    )  # fmt: skip
    if result.returncode != 0:
        raise InputError(f"{info.path}: could not decode audio ({last_error_line(result.stderr)})")
    usable = len(result.stdout) // 4 * 4
    wav = np.frombuffer(result.stdout[:usable], dtype="<f4").astype(np.float32)
    if wav.size == 0:
        raise InputError(f"{info.path} contains no audio")
    np.nan_to_num(wav, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
    np.clip(wav, -1.0, 1.0, out=wav)
    return wav


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
