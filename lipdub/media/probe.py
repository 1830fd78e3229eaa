"""``probe``: what a media file holds.

Read through PyAV's structured fields (exact frame counts, pixel aspect ratio, rotation);
when PyAV is missing or cannot open a file, ffmpeg's own report is read instead
(``probe_banner``). Neither path ever reads text that comes from a file name or a tag.
"""

from __future__ import annotations

import os

from lipdub.media.media_info import MediaInfo, check_readable_file
from lipdub.media.probe_av import AVUnavailable, probe_with_av
from lipdub.media.probe_banner import probe_with_banner

__all__ = ["MediaInfo", "check_readable_file", "probe"]


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Describe the media file at ``path``; InputError when it is not one ffmpeg can read."""
    file = check_readable_file(path)
    try:
        return probe_with_av(file)
    except AVUnavailable:
        return probe_with_banner(file)
