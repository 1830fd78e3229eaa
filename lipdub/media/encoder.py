"""Video encoder settings: ``--codec``, ``--preset`` and ``--crf`` as ffmpeg arguments.

Software encoders (libx264, libx265) take x264's preset names and a CRF. The NVIDIA
hardware encoders (h264_nvenc, hevc_nvenc) are offered when this ffmpeg has them and a GPU
is present; the same preset names map onto NVENC's ``p1`` (fastest) .. ``p7`` and the CRF
onto its constant-quality ``-cq``.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
from dataclasses import dataclass

from lipdub import defaults
from lipdub.errors import InputError

#: Software codecs and the hardware ones that need an NVIDIA GPU.
SOFTWARE_CODECS = ("libx264", "libx265")
NVENC_CODECS = ("h264_nvenc", "hevc_nvenc")
CODECS = SOFTWARE_CODECS + NVENC_CODECS
#: x264/x265 presets, fastest first.
PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
)  # fmt: skip
_NVENC_PRESET = {
    "ultrafast": "p1", "superfast": "p1", "veryfast": "p2", "faster": "p3", "fast": "p3",
    "medium": "p4", "slow": "p5", "slower": "p6", "veryslow": "p7",
}  # fmt: skip
#: CRF range of x264/x265 (and NVENC's ``-cq``, which stops at 51 too).
CRF_RANGE = (0, 51)


@dataclass(frozen=True)
class EncoderSettings:
    """Which video encoder the output gets, and how hard it works."""

    codec: str = defaults.ENCODER_CODEC
    preset: str = defaults.ENCODER_PRESET
    crf: int = defaults.ENCODER_CRF
    #: Encoder threads (None: the encoder's own default).
    threads: int | None = None

    def args(self) -> list[str]:
        """The ffmpeg output arguments selecting this encoder (``-c:v`` onwards)."""
        args = ["-c:v", self.codec]
        if self.codec in NVENC_CODECS:
            args += ["-preset", _NVENC_PRESET[self.preset], "-rc", "vbr", "-cq", str(self.crf)]
            args += ["-b:v", "0"]
        else:
            args += ["-preset", self.preset, "-crf", str(self.crf)]
            if self.threads:
                args += ["-threads", str(self.threads)]
        if self.codec == "libx265":
            args += ["-x265-params", "log-level=error"]
        if self.codec in ("libx265", "hevc_nvenc"):
            args += ["-tag:v", "hvc1"]  # what QuickTime and browsers expect for HEVC in MP4
        return args


def check_settings(settings: EncoderSettings) -> EncoderSettings:
    """``settings`` if this machine can encode with them, else a one-line InputError."""
    if settings.codec not in CODECS:
        raise InputError(f"--codec must be one of {', '.join(CODECS)}, got {settings.codec!r}")
    if settings.preset not in PRESETS:
        raise InputError(f"--preset must be one of {', '.join(PRESETS)}, got {settings.preset!r}")
    low, high = CRF_RANGE
    if not low <= settings.crf <= high:
        raise InputError(f"--crf must be between {low} and {high}, got {settings.crf}")
    if settings.codec not in available_encoders():
        raise InputError(f"--codec {settings.codec}: this ffmpeg has no such encoder")
    if settings.codec in NVENC_CODECS and not has_nvidia_gpu():
        raise InputError(f"--codec {settings.codec} needs an NVIDIA GPU; none was found")
    return settings


@functools.lru_cache(maxsize=1)
def available_encoders() -> frozenset[str]:
    """The video encoders the ffmpeg in use was built with (``ffmpeg -encoders``)."""
    from lipdub.media.ffmpeg import run_ffmpeg

    listing = run_ffmpeg(["-encoders"]).stdout.decode("utf-8", errors="replace")
    return frozenset(re.findall(r"^\s*V\S*\s+(\S+)", listing, flags=re.MULTILINE))


def has_nvidia_gpu() -> bool:
    """Whether an NVIDIA GPU is visible (device node or ``nvidia-smi``)."""
    return os.path.exists("/dev/nvidia0") or shutil.which("nvidia-smi") is not None
