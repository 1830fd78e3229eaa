"""Typed exceptions. Each carries a one-line message meant for the user."""

from __future__ import annotations


class LipdubError(Exception):
    """Base class: the CLI prints ``str(error)`` on one line and exits non-zero."""

    exit_code = 1


class InputError(LipdubError):
    """A video, image or audio input is missing, unreadable or unusable."""

    exit_code = 2


class OutputError(LipdubError):
    """The output cannot be written where asked (exists, is an input, no permission)."""

    exit_code = 2


class CheckpointError(LipdubError):
    """A checkpoint file does not hold the network it was given for."""

    exit_code = 3


class WeightsMissingError(LipdubError):
    """Weights are needed but not available locally; the message says how to get them."""

    exit_code = 3


class DownloadError(LipdubError):
    """A download failed or produced a file with the wrong digest."""

    exit_code = 3


class PluginError(LipdubError):
    """A plugin registered something invalid, or a component name is unknown or taken twice."""

    exit_code = 4


class FFmpegError(LipdubError):
    """ffmpeg is missing or failed."""

    exit_code = 5
