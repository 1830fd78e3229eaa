"""Probe through PyAV: the demuxer's own fields, never text that ffmpeg prints.

Frame counts come from the container index (MP4/MOV) or from a demux-only pass over the
video packets (Matroska, WebM, AVI, ...); the rotation and pixel aspect ratio from the stream
and the first decoded frame. ``AVUnavailable`` tells the caller to use the fallback reader.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from lipdub.errors import InputError
from lipdub.media.media_info import MediaInfo, clockwise, display_sar, looks_still, snap_rate

#: Above this size a file without a frame index gets an estimated (not counted) frame total.
COUNT_LIMIT_BYTES = 1 << 30
#: Demuxers that show any text file as a picture: never a media file here.
_TEXT_DEMUXERS = {"tty"}


class AVUnavailable(Exception):
    """PyAV is not installed or cannot open the file: use the fallback probe."""


def probe_with_av(file: Path) -> MediaInfo:
    """Describe ``file``; AVUnavailable when PyAV cannot, InputError when it is no media."""
    try:
        import av
    except ImportError as error:  # a slim install: the ffmpeg report is read instead
        raise AVUnavailable(str(error)) from error
    try:
        container = av.open(str(file), metadata_errors="replace")
    except (av.FFmpegError, OSError, UnicodeError) as error:
        raise AVUnavailable(str(error)) from error
    with container:
        return _describe(file, container)


def _describe(file: Path, container) -> MediaInfo:
    name = container.format.name
    if name in _TEXT_DEMUXERS:
        raise InputError(f"{file}: not a media file ffmpeg can read")
    video = next((s for s in container.streams.video if not _attached_picture(s)), None)
    audio = next(iter(container.streams.audio), None)
    if video is None and audio is None:
        raise InputError(f"{file} has no video or audio stream")
    duration = container.duration / 1e6 if container.duration else None
    start = container.start_time / 1e6 if container.start_time else 0.0
    if duration is None:
        duration = _demuxed_seconds(container, video or audio)
    fields: dict[str, object] = {}
    if video is not None:
        fields = _video_fields(file, container, video, name, duration, audio is not None)
        if fields["is_still"]:
            duration = 0.0
    return MediaInfo(
        path=file,
        has_video=video is not None,
        has_audio=audio is not None,
        width=fields.get("width"),  # type: ignore[arg-type]
        height=fields.get("height"),  # type: ignore[arg-type]
        rotation=fields.get("rotation", 0),  # type: ignore[arg-type]
        fps=fields.get("fps"),  # type: ignore[arg-type]
        duration=duration,
        n_frames=fields.get("n_frames", 0),  # type: ignore[arg-type]
        is_still=bool(fields.get("is_still", False)),
        audio_sample_rate=audio.rate or None if audio is not None else None,
        audio_channels=audio.channels or None if audio is not None else None,
        video_codec=_codec_name(video) if video is not None else None,
        audio_codec=_codec_name(audio) if audio is not None else None,
        container=name,
        start_time=start,
        video_stream=video.index if video is not None else None,
        audio_stream=audio.index if audio is not None else None,
        metadata={str(k): str(v) for k, v in container.metadata.items()},
        sample_aspect_ratio=fields.get("sar", Fraction(1)),  # type: ignore[arg-type]
        exact_frames=bool(fields.get("exact", False)),
    )


def _codec_name(stream) -> str:
    """The codec's canonical name (``mp3``, ``h264``), not the decoder's (``mp3float``)."""
    codec = stream.codec_context.codec
    return str(getattr(codec, "canonical_name", None) or codec.name)


def _attached_picture(stream) -> bool:
    import av

    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def _video_fields(
    file: Path, container, video, demuxer: str, duration: float, has_audio: bool
) -> dict[str, object]:
    rate = video.average_rate or video.guessed_rate or video.base_rate
    fps = snap_rate(float(rate)) if rate else None
    codec = _codec_name(video)
    width, height = video.codec_context.width, video.codec_context.height
    if not width or not height:
        raise AVUnavailable("no picture size in the stream header")
    is_still = looks_still(demuxer, codec, fps, duration, has_audio)
    rotation = _rotation(container, video)
    if rotation in (90, 270):
        width, height = height, width
    fields: dict[str, object] = {
        "width": width,
        "height": height,
        "rotation": rotation,
        "is_still": is_still,
        "sar": display_sar(video.sample_aspect_ratio, rotation),
    }
    if is_still:
        fields.update(fps=None, n_frames=1, exact=True)
        return fields
    n_frames, exact = video.frames, True
    if not n_frames and file.stat().st_size <= COUNT_LIMIT_BYTES:
        n_frames = _count_packets(container, video)
    if not n_frames:
        seconds = float(video.duration * video.time_base) if video.duration else duration
        n_frames, exact = (round(seconds * fps) if fps else 0), False
    fields.update(fps=fps, n_frames=n_frames, exact=exact)
    return fields


def _rotation(container, video) -> int:
    """Clockwise degrees from the display matrix, read off the first decoded frame."""
    try:
        container.seek(0, stream=video)
        for frame in container.decode(video):
            return clockwise(float(frame.rotation))
    except Exception:  # noqa: BLE001 - an undecodable first frame: no rotation known
        return 0
    return 0


def _count_packets(container, video) -> int:
    """The number of (non-empty) video packets, by demuxing without decoding."""
    try:
        container.seek(0, stream=video)
        return sum(1 for packet in container.demux(video) if packet.size)
    except Exception:  # noqa: BLE001 - a damaged tail: what was counted is unreliable
        return 0


def _demuxed_seconds(container, stream) -> float:
    """Duration found by demuxing (for files whose header gives none)."""
    end = 0.0
    try:
        for packet in container.demux(stream):
            if packet.pts is not None and packet.size:
                end = max(end, float((packet.pts + (packet.duration or 0)) * stream.time_base))
    except Exception:  # noqa: BLE001
        pass
    start = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
    return max(0.0, end - start)
