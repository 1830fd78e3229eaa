"""Length policy: which source frame each output frame shows.

When the dub is longer than the video, the video is extended by ``pingpong`` (default: play
forwards, then backwards, ...), ``loop`` or ``freeze`` (hold the last frame). When the dub is
shorter, the output either ends with the audio (``trim``, default) or keeps the rest of the
video untouched with the dub padded by silence (``keep``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from lipdub.errors import InputError

LONG_POLICIES = ("pingpong", "loop", "freeze")
SHORT_POLICIES = ("trim", "keep")
DEFAULT_LONG = "pingpong"
DEFAULT_SHORT = "trim"


@dataclass(frozen=True)
class FitPolicy:
    """What to do when the dub is longer (``long``) or shorter (``short``) than the video."""

    long: str = DEFAULT_LONG
    short: str = DEFAULT_SHORT

    @classmethod
    def parse(cls, values: Iterable[str] | None) -> FitPolicy:
        """Build a policy from ``--fit`` values (each a long or a short policy name)."""
        chosen: dict[tuple[str, ...], str] = {}
        for raw in values or ():
            for value in raw.split(","):
                value = value.strip().lower()
                group = next((g for g in (LONG_POLICIES, SHORT_POLICIES) if value in g), None)
                if group is None:
                    if value:
                        choices = ", ".join(LONG_POLICIES + SHORT_POLICIES)
                        raise InputError(f"--fit {value!r} is not one of {choices}")
                    continue
                before = chosen.setdefault(group, value)
                if before != value:
                    raise InputError(
                        f"--fit {before} and {value} contradict; choose one of {', '.join(group)}"
                    )
        return cls(
            long=chosen.get(LONG_POLICIES, DEFAULT_LONG),
            short=chosen.get(SHORT_POLICIES, DEFAULT_SHORT),
        )


@dataclass(frozen=True)
class FramePlan:
    """The output's frames: ``n_output`` frames, the first ``n_dubbed`` of which get a new mouth."""

    n_source: int
    n_output: int
    n_dubbed: int
    long: str

    def source_index(self, i: int) -> int:
        """The source frame shown by output frame ``i``."""
        n = self.n_source
        if i < n:
            return i
        if self.long == "freeze" or n == 1:
            return n - 1
        if self.long == "loop":
            return i % n
        period = 2 * n - 2
        k = i % period
        return k if k < n else period - k

    @property
    def n_source_needed(self) -> int:
        """How many leading source frames the output uses."""
        return min(self.n_source, self.n_output)

    def runs(self) -> Iterator[tuple[int, int, int]]:
        """The output as runs ``(first_source_index, count, step)``, step in {1, -1, 0}."""
        i = 0
        while i < self.n_output:
            start = self.source_index(i)
            step = 1
            if i + 1 < self.n_output:
                step = self.source_index(i + 1) - start
                if step not in (1, -1, 0):
                    step = 1
            count = 1
            while (
                i + count < self.n_output and self.source_index(i + count) == start + step * count
            ):
                count += 1
            yield start, count, step
            i += count


def plan_frames(n_source: int, n_audio_frames: int, policy: FitPolicy) -> FramePlan:
    """Plan the output for ``n_source`` video frames and a dub lasting ``n_audio_frames``."""
    if n_source < 1:
        raise InputError("the video has no frames")
    n_audio_frames = max(1, n_audio_frames)
    if n_audio_frames >= n_source or policy.short == "trim":
        n_output = n_audio_frames
    else:
        n_output = n_source
    return FramePlan(
        n_source=n_source,
        n_output=n_output,
        n_dubbed=min(n_output, n_audio_frames),
        long=policy.long,
    )
