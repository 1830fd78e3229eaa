"""Length policy and the order in which source frames are read."""

from __future__ import annotations

import numpy as np
import pytest

from lipdub.errors import InputError
from lipdub.pipeline.fit import FitPolicy, plan_frames
from lipdub.pipeline.source import output_frames


def indices(n_source: int, n_audio: int, *fit: str) -> list[int]:
    plan = plan_frames(n_source, n_audio, FitPolicy.parse(fit))
    return [plan.source_index(i) for i in range(plan.n_output)]


def test_long_audio_policies() -> None:
    assert indices(4, 10) == [0, 1, 2, 3, 2, 1, 0, 1, 2, 3]
    assert indices(4, 10, "loop") == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]
    assert indices(4, 7, "freeze") == [0, 1, 2, 3, 3, 3, 3]
    assert indices(1, 3) == [0, 0, 0]


def test_short_audio_policies() -> None:
    trim = plan_frames(10, 4, FitPolicy.parse(["trim"]))
    assert (trim.n_output, trim.n_dubbed) == (4, 4)
    keep = plan_frames(10, 4, FitPolicy.parse(["loop,keep"]))
    assert (keep.n_output, keep.n_dubbed, keep.long) == (10, 4, "loop")


def test_bad_policy_is_refused() -> None:
    with pytest.raises(InputError, match="--fit 'bounce'"):
        FitPolicy.parse(["bounce"])


@pytest.mark.parametrize("fit", [(), ("loop",), ("freeze",)])
def test_output_frames_follow_the_plan_with_bounded_reads(fit) -> None:
    source = [np.full((2, 2, 3), i, np.uint8) for i in range(7)]
    reads: list[int] = []

    def read(start: int, count: int | None):
        count = len(source) - start if count is None else count
        reads.append(count)
        yield from source[start : start + count]

    plan = plan_frames(7, 40, FitPolicy.parse(fit))
    got = list(output_frames(plan, read, chunk=3))
    assert [i for i, _, _ in got] == list(range(40))
    assert [s for _, s, _ in got] == [plan.source_index(i) for i in range(40)]
    assert all(int(frame[0, 0, 0]) == s for _, s, frame in got)
    if not fit:  # backwards runs are read in chunks of at most 3 frames
        assert max(reads[1:]) <= 7 and 3 in reads
