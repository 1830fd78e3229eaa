"""Fallback probe: ffmpeg's human-readable ``ffmpeg -i`` report (used when PyAV cannot read).

The report echoes the file name, so the file is shown to ffmpeg through a link with a plain
name: text in a name can never be read as a stream line. Tags are only read from the
container's ``Metadata:`` block, whose continuation lines cannot start a stream line.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from lipdub.errors import InputError
from lipdub.media.ffmpeg import input_url, run_ffmpeg
from lipdub.media.media_info import MediaInfo, clockwise, display_sar, looks_still, snap_rate

_CHANNEL_LAYOUTS = {"mono": 1, "stereo": 2, "quad": 4, "hexagonal": 6, "octagonal": 8}

_INPUT = re.compile(r"^Input #0, (.+?), from '")
_DURATION = re.compile(r"^\s*Duration: (N/A|(\d+):(\d+):(\d+(?:\.\d+)?))(?:, start: (-?[\d.]+))?")
_STREAM = re.compile(r"^\s*Stream #0:(\d+)\S*: (Video|Audio|Subtitle|Data|Attachment): (.*)$")
_SIZE = re.compile(r"(?:^|, )(\d+)x(\d+)(?=$|[ ,])")
_SAR = re.compile(r"\[SAR (\d+):(\d+) DAR \d+:\d+\]")
_RATE = re.compile(r"(\d+(?:\.\d+)?)(k?) (fps|tbr)\b")
_ROTATION = re.compile(r"rotation of (-?\d+(?:\.\d+)?) degrees", re.IGNORECASE)
_METADATA = re.compile(r"^ {4}(\S[^:]*?)\s*: (.*)$")
_CONTINUED = re.compile(r"^ {5,}: (.*)$")
_PLAIN_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")


def probe_with_banner(file: Path) -> MediaInfo:
    """Describe ``file`` from ffmpeg's report; InputError when ffmpeg cannot read it."""
    with tempfile.TemporaryDirectory(prefix="lipdub-probe-") as folder:
        shown = file
        if not _PLAIN_NAME.fullmatch(file.name):
            suffix = file.suffix if _PLAIN_NAME.fullmatch(file.suffix or "-") else ""
            shown = Path(folder) / f"input{suffix}"
            os.symlink(file.absolute(), shown)
        result = run_ffmpeg(["-i", input_url(shown)])
        parsed = parse_ffmpeg_info(file, result.stderr.decode("utf-8", errors="replace"))
        if parsed.duration is None and not parsed.is_still():
            parsed.duration = _decoded_duration(shown, parsed)
    return parsed.build()


@dataclass
class _Parsed:
    """Mutable scratch space while reading ffmpeg's report."""

    path: Path
    container: str = ""
    duration: float | None = None
    start_time: float = 0.0
    metadata: dict[str, str] = field(default_factory=dict)
    video: dict[str, object] | None = None
    audio: dict[str, object] | None = None

    def is_still(self) -> bool:
        if self.video is None:
            return False
        video = self.video
        return looks_still(
            self.container,
            str(video["codec"]),
            video["fps"],
            self.duration or 0.0,  # type: ignore[arg-type]
            self.audio is not None,
        )

    def build(self) -> MediaInfo:
        video, audio = self.video, self.audio
        duration = self.duration or 0.0
        is_still = self.is_still()
        fps: float | None = None
        width = height = None
        rotation = 0
        n_frames = 0
        if video is not None:
            width, height = video["width"], video["height"]  # type: ignore[assignment]
            rotation = int(video["rotation"])  # type: ignore[call-overload]
            if rotation in (90, 270):
                width, height = height, width
            if is_still:
                duration, n_frames = 0.0, 1
            else:
                fps = video["fps"]  # type: ignore[assignment]
                n_frames = round(duration * fps) if fps else 0
        return MediaInfo(
            path=self.path,
            has_video=video is not None,
            has_audio=audio is not None,
            width=width,
            height=height,
            rotation=rotation,
            fps=fps,
            duration=duration,
            n_frames=n_frames,
            is_still=is_still,
            audio_sample_rate=audio["rate"] if audio else None,  # type: ignore[arg-type]
            audio_channels=audio["channels"] if audio else None,  # type: ignore[arg-type]
            video_codec=video["codec"] if video else None,  # type: ignore[arg-type]
            audio_codec=audio["codec"] if audio else None,  # type: ignore[arg-type]
            container=self.container,
            start_time=self.start_time,
            video_stream=video["index"] if video else None,  # type: ignore[arg-type]
            audio_stream=audio["index"] if audio else None,  # type: ignore[arg-type]
            metadata=self.metadata,
            sample_aspect_ratio=display_sar(video["sar"], rotation) if video else Fraction(1),  # type: ignore[arg-type]
        )


def parse_ffmpeg_info(path: Path, stderr: str) -> _Parsed:
    """Read the ``Input #0`` report that ``ffmpeg -i PATH`` prints to stderr."""
    lines = stderr.splitlines()
    start = next((i for i, line in enumerate(lines) if _INPUT.match(line)), None)
    if start is None:
        raise InputError(f"{path}: not a media file ffmpeg can read")
    parsed = _Parsed(path=path, container=_INPUT.match(lines[start]).group(1))  # type: ignore[union-attr]
    if parsed.container == "tty":  # ffmpeg shows any .txt file as ANSI art
        raise InputError(f"{path}: not a media file ffmpeg can read")
    in_global_metadata = False
    key = ""
    for i in range(start + 1, len(lines)):
        line = lines[i]
        if line.startswith("  Metadata:"):
            in_global_metadata = True
            continue
        if in_global_metadata and (match := _METADATA.match(line)):
            key = match.group(1)
            parsed.metadata.setdefault(key, match.group(2))
            continue
        if in_global_metadata and key and (match := _CONTINUED.match(line)):
            parsed.metadata[key] += "\n" + match.group(1)
            continue
        in_global_metadata = False
        if match := _DURATION.match(line):
            if match.group(1) != "N/A":
                hours, minutes, seconds = match.group(2, 3, 4)
                parsed.duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
            if match.group(5):
                parsed.start_time = float(match.group(5))
        elif match := _STREAM.match(line):
            _read_stream(
                parsed, int(match.group(1)), match.group(2), match.group(3), lines[i + 1 :]
            )
    if parsed.video is None and parsed.audio is None:
        raise InputError(f"{path} has no video or audio stream")
    return parsed


def _read_stream(parsed: _Parsed, index: int, kind: str, desc: str, rest: list[str]) -> None:
    codec = desc.split(" ", 1)[0].rstrip(",")
    if kind == "Video" and parsed.video is None and "(attached pic)" not in desc:
        size = _SIZE.search(desc)
        if size is None:
            return
        rates = {
            unit: float(value) * (1000 if kilo else 1) for value, kilo, unit in _RATE.findall(desc)
        }
        fps = rates.get("fps") or rates.get("tbr")
        block = []
        for line in rest:  # the stream's indented details (side data, metadata)
            if len(line) - len(line.lstrip()) <= 2:
                break
            block.append(line)
        rotation = _ROTATION.search("\n".join(block))
        sar = _SAR.search(desc)
        parsed.video = {
            "index": index,
            "codec": codec,
            "width": int(size.group(1)),
            "height": int(size.group(2)),
            "fps": snap_rate(fps) if fps else None,
            "rotation": clockwise(float(rotation.group(1))) if rotation else 0,
            "sar": Fraction(int(sar.group(1)), int(sar.group(2)) or 1) if sar else None,
        }
    elif kind == "Audio" and parsed.audio is None:
        rate = re.search(r"(\d+) Hz", desc)
        parsed.audio = {
            "index": index,
            "codec": codec,
            "rate": int(rate.group(1)) if rate else None,
            "channels": _channels(desc),
        }


def _channels(desc: str) -> int | None:
    parts = [part.strip() for part in desc.split(",")]
    if len(parts) < 3:
        return None
    layout = parts[2].split("(")[0].strip()
    if layout in _CHANNEL_LAYOUTS:
        return _CHANNEL_LAYOUTS[layout]
    if match := re.fullmatch(r"(\d+) channels", layout):
        return int(match.group(1))
    if re.fullmatch(r"\d+(\.\d+)+", layout):
        return sum(int(n) for n in layout.split("."))
    return None


def _decoded_duration(path: Path, parsed: _Parsed) -> float:
    """Duration found by decoding (for files whose header gives none)."""
    stream = parsed.video or parsed.audio
    assert stream is not None
    result = run_ffmpeg(
        ["-i", input_url(path), "-map", f"0:{stream['index']}", "-f", "null", "-progress", "pipe:1"]
    )
    times = re.findall(rb"out_time_us=(\d+)", result.stdout)
    return int(times[-1]) / 1e6 if times else 0.0
