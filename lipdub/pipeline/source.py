"""Source frames in output order, read in bounded pieces (forwards, backwards or held)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from lipdub.pipeline.fit import FramePlan

#: Reads ``count`` consecutive source frames from ``start`` (``None``: to the end).
ReadFrames = Callable[[int, "int | None"], Iterator[np.ndarray]]

#: Frames held in memory at once while playing a run backwards.
BACKWARD_CHUNK = 32


def output_frames(
    plan: FramePlan, read: ReadFrames, chunk: int = BACKWARD_CHUNK
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield ``(output_index, source_index, frame)`` for every output frame of ``plan``.

    Forward runs stream; backward runs are read ``chunk`` frames at a time and reversed, so
    memory stays bounded whatever the policy.
    """
    out = 0
    last: tuple[int, np.ndarray] | None = None
    for start, count, step in plan.runs():
        if step == 0:
            frame = last[1] if last is not None and last[0] == start else next(read(start, 1))
            for _ in range(count):
                yield out, start, frame
                out += 1
            last = (start, frame)
        elif step == 1:
            for offset, frame in enumerate(read(start, count)):
                yield out, start + offset, frame
                out += 1
                last = (start + offset, frame)
        else:
            remaining = count
            high = start
            while remaining > 0:
                n = min(chunk, remaining)
                low = high - n + 1
                block = list(read(low, n))
                for offset in range(len(block) - 1, -1, -1):
                    yield out, low + offset, block[offset]
                    out += 1
                    last = (low + offset, block[offset])
                remaining -= n
                high = low - 1
