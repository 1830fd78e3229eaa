"""Output containers chosen by the output's extension, each with codecs it can hold.

``.mp4``/``.m4v``/``.mov``/``.mkv`` take the ``--codec`` video encoder (H.264 by default) and
AAC audio; ``.webm`` is always VP9 + Opus (all that WebM allows); ``.avi`` takes the video
encoder with MP3 audio. Anything else is refused with one line before any work starts.
"""

from __future__ import annotations

import functools
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lipdub.errors import OutputError

#: VP9 at constant quality (CRF 32), fast enough for a dub (``-deadline good -cpu-used 4``).
_VP9 = (
    "-c:v",
    "libvpx-vp9",
    "-crf",
    "32",
    "-b:v",
    "0",
    "-deadline",
    "good",
    "-cpu-used",
    "4",
    "-row-mt",
    "1",
)


@dataclass(frozen=True)
class OutputContainer:
    """How ffmpeg writes one kind of output file."""

    #: ffmpeg muxer name (``-f``).
    muxer: str
    #: Audio encoder (``-c:a``) and its extra arguments.
    audio: tuple[str, ...] = ("-c:a", "aac")
    #: Video encoder arguments replacing ``--codec`` (None: the configured encoder).
    video: tuple[str, ...] | None = None
    #: Whether the index is moved to the front (MP4/MOV: playable while downloading).
    faststart: bool = False

    @property
    def encoders(self) -> list[str]:
        """The ffmpeg encoders this container needs beyond the configured video one."""
        names = [self.audio[1]]
        if self.video is not None:
            names.append(self.video[1])
        return names

    def video_args(self, encoder_args: list[str]) -> list[str]:
        """The video encoder arguments: the container's own, else ``encoder_args``."""
        return list(self.video) if self.video is not None else list(encoder_args)

    def audio_args(self, bitrate: str) -> list[str]:
        """Audio encoder arguments at ``bitrate`` (PCM takes none)."""
        return [*self.audio, "-b:a", bitrate]

    def muxer_args(self) -> list[str]:
        """Muxer options before the output name."""
        return ["-movflags", "+faststart"] if self.faststart else []


_MP4 = OutputContainer("mp4", faststart=True)
CONTAINERS: dict[str, OutputContainer] = {
    ".mp4": _MP4,
    ".m4v": _MP4,
    ".mov": OutputContainer("mov", faststart=True),
    ".mkv": OutputContainer("matroska"),
    ".webm": OutputContainer("webm", audio=("-c:a", "libopus"), video=_VP9),
    ".avi": OutputContainer("avi", audio=("-c:a", "libmp3lame")),
}
#: Why some common extensions are refused.
_REFUSED = {
    ".gif": "a GIF has no sound",
    ".png": "it is an image format",
    ".jpg": "it is an image format",
    ".jpeg": "it is an image format",
    ".wav": "it is an audio format",
    ".mp3": "it is an audio format",
}


def supported_extensions() -> str:
    """The writable extensions, for messages: ``.mp4, .m4v, ...``."""
    return ", ".join(CONTAINERS)


def container_for(output: str | os.PathLike[str]) -> OutputContainer:
    """The container ``output``'s extension asks for; OutputError (one line) when none fits."""
    path = Path(output)
    suffix = path.suffix.lower()
    if not suffix:
        raise OutputError(
            f"{path} has no extension; name the output with one of {supported_extensions()}"
        )
    container = CONTAINERS.get(suffix)
    if container is None:
        why = _REFUSED.get(suffix, "it is not a video container lipdub writes")
        raise OutputError(f"cannot write {path.name}: {why}; use one of {supported_extensions()}")
    missing = [name for name in container.encoders if name not in _encoders()]
    if missing:
        raise OutputError(
            f"cannot write {suffix} files: this ffmpeg lacks the {', '.join(missing)} "
            "encoder; use .mp4 or .mkv"
        )
    return container


@functools.lru_cache(maxsize=1)
def _encoders() -> frozenset[str]:
    """The encoder names of the ffmpeg in use."""
    from lipdub.media.ffmpeg import ffmpeg_command

    try:
        listing = subprocess.run(
            ffmpeg_command("-encoders"), capture_output=True, check=False
        ).stdout.decode("utf-8", errors="replace")
    except OSError:
        return frozenset({"aac"})
    names = set()
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) == 6 and parts[0][0] in "VAS":
            names.add(parts[1])
    return frozenset(names)
