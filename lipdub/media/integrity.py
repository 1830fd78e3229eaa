"""Noticing inputs that decode only in part (a file cut short, a damaged tail)."""

from __future__ import annotations

import warnings

from lipdub.media.media_info import MediaInfo

#: Frames that may go missing at the end without a warning (rounding of the last frame).
TOLERATED_MISSING_FRAMES = 1


def damaged_note(
    info: MediaInfo, decoded: int, fps: float | None = None, limit: int | None = None
) -> str | None:
    """A one-line note when fewer than the frames ``info`` promises could be decoded.

    ``fps`` is the rate the frames were read at (default: the file's); ``limit`` the most
    frames that were asked for (a dub trimmed to a short audio reads no further).
    """
    if info.is_still or not info.has_video or not info.exact_frames:
        return None
    expected = info.frames_at(fps or info.fps or 0.0)
    if limit is not None:
        expected = min(expected, limit)
    if decoded >= expected - TOLERATED_MISSING_FRAMES:
        return None
    return (
        f"{info.path.name} looks damaged or cut short: only {decoded} of its {expected} "
        "video frames could be decoded"
    )


def warn_if_damaged(
    info: MediaInfo, decoded: int, fps: float | None = None, limit: int | None = None
) -> str | None:
    """Issue :func:`damaged_note` as a warning (one line on the CLI); the note, if any."""
    note = damaged_note(info, decoded, fps, limit)
    if note is not None:
        warnings.warn(note, UserWarning, stacklevel=2)
    return note
