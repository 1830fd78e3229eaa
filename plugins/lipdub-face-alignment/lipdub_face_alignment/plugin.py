"""The ``lipdub`` entry point: the ``face-alignment`` tracker and the S3FD weights."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lipdub.hookspecs import hookimpl


@hookimpl
def register_face_trackers(register: Callable[[type], None]) -> None:
    from lipdub_face_alignment.tracker import FaceAlignmentTracker

    register(FaceAlignmentTracker)


@hookimpl
def register_weights(register: Callable[[Any], None]) -> None:
    from lipdub_face_alignment.weights import FAN, S3FD

    for spec in (S3FD, *FAN.values()):
        register(spec)
