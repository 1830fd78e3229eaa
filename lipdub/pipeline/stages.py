"""The second pass of a dub as overlapping stages: decode → generate → compose → encode.

:class:`FrameLoop` reads output frames on a decoder thread (grouped into generator batches
there), generates on the calling thread and composes and encodes on a third
(:mod:`lipdub.pipeline.engine`). Each face's patch is put back with
:func:`lipdub.pipeline.compose.compose`; per-frame steps that act on the finished frame go
in :meth:`FrameLoop.finish_frame`, just before it is encoded.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from lipdub.media.writer import VideoWriter
from lipdub.pipeline import drive_audio as drives
from lipdub.pipeline.analysis import Analysis
from lipdub.pipeline.closure import close_in_pauses
from lipdub.pipeline.components import Components
from lipdub.pipeline.compose import compose
from lipdub.pipeline.engine import Drain, Prefetch
from lipdub.pipeline.fit import FramePlan
from lipdub.pipeline.progress import ProgressCallback, StageTimer
from lipdub.provenance.marking import FrameMark, no_mark
from lipdub.types import GeneratorInput, Patch

#: Generator batches decoded ahead of the generator, and generated batches waiting for the
#: compositor: enough to keep every stage busy, few enough to bound memory.
DECODE_AHEAD = 1
COMPOSE_AHEAD = 1
#: Batches alive at once: being decoded, queued, generated, queued, composed.
BATCHES_IN_FLIGHT = 3 + DECODE_AHEAD + COMPOSE_AHEAD
#: Bytes of decoded frames the stages may hold together; large frames get smaller batches.
FRAME_BUDGET_BYTES = 320 << 20


def frames_per_batch(batch_size: int, width: int, height: int) -> int:
    """The generator batch, capped so that the frames in flight stay within
    :data:`FRAME_BUDGET_BYTES` (at least one frame)."""
    frame_bytes = max(1, width * height * 3)
    return max(1, min(batch_size, FRAME_BUDGET_BYTES // (BATCHES_IN_FLIGHT * frame_bytes)))


@dataclass
class FrameCounts:
    """What the second pass did with the frames it was to dub."""

    dubbed: int = 0
    no_face: int = 0
    #: Frames whose patch came back ``redrawn=False``, by the generator's reason.
    skipped: Counter[str] = field(default_factory=Counter)
    #: Frames encoded so far.
    written: int = 0

    @property
    def skipped_frames(self) -> int:
        return sum(self.skipped.values())


@dataclass
class OutputFrame:
    """One output frame on its way through the stages: the picture, its shot and the
    generator inputs of its faces (none: written as it is)."""

    index: int
    frame: np.ndarray
    shot: int
    items: list[GeneratorInput]


@dataclass
class Batch:
    """Consecutive output frames whose items are generated together; ``patches`` are filled
    in by the generator stage, one list per frame."""

    frames: list[OutputFrame]
    patches: list[list[Patch]] = field(default_factory=list)


@dataclass
class StageCpu:
    """CPU seconds of the stage threads (the generator's is the rest of the process)."""

    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, stage: str, started: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.thread_time() - started


class FrameLoop:
    """Generates, composes and encodes every output frame of ``plan`` into ``writer``."""

    def __init__(
        self,
        parts: Components,
        analysis: Analysis,
        plan: FramePlan,
        lanes: list[drives.Lane],
        starts: np.ndarray,
        window: int,
        progress: ProgressCallback,
        timer: StageTimer,
    ) -> None:
        self.parts = parts
        self.analysis = analysis
        self.plan = plan
        self.lanes = lanes
        self.starts = starts
        self.window = window
        self.progress = progress
        self.timer = timer
        generator = parts.generator
        options_batch = getattr(generator.options, "batch_size", None)
        self.batch_size = frames_per_batch(
            max(1, options_batch or generator.batch_size), analysis.width, analysis.height
        )
        self.counts = FrameCounts()
        self.cpu = StageCpu()
        self.mark: FrameMark = no_mark
        self._shot = -1

    # -- decoder thread ----------------------------------------------------------------------

    def batches(self, frames: Iterable[tuple[int, int, np.ndarray]]) -> Iterator[Batch]:
        """Output frames grouped into generator batches (``batch_size`` items, or as many
        frames when they have no face)."""
        iterator = iter(frames)
        try:
            yield from self._batches(iterator)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()  # stops the decoder's ffmpeg

    def _batches(self, iterator: Iterator[tuple[int, int, np.ndarray]]) -> Iterator[Batch]:
        pending: list[OutputFrame] = []
        size = 0
        while True:
            clock = time.thread_time()
            with self.timer("decode"):
                got = next(iterator, None)
            if got is None:
                self.cpu.add("decode", clock)
                break
            out_index, source_index, frame = got
            items: list[GeneratorInput] = []
            if out_index < self.plan.n_dubbed:
                items = drives.frame_items(
                    self.lanes,
                    frame,
                    source_index,
                    out_index,
                    self.analysis.shots[source_index],
                    self.starts,
                    self.window,
                )
                if not items:
                    self.counts.no_face += 1
            shot = self.analysis.shots[source_index]
            pending.append(OutputFrame(out_index, frame, shot, items))
            size += len(items) or 1
            self.cpu.add("decode", clock)
            if size >= self.batch_size:
                yield Batch(pending)
                pending, size = [], 0
        if pending:
            yield Batch(pending)

    # -- generator stage (calling thread) ----------------------------------------------------

    def generate(self, batch: Batch) -> Batch:
        """Fill ``batch.patches``: the items of each shot are generated after that shot's
        ``begin_shot``."""
        generator = self.parts.generator
        patches: list[Patch] = []
        run: list[GeneratorInput] = []
        for output in batch.frames:
            if not output.items:
                continue
            if output.shot != self._shot:
                self._generate_into(patches, run)
                run = []
                self._shot = output.shot
                lane = self.lanes[output.items[0].lane]
                generator.begin_shot(output.shot, lane.shot_faces(self.analysis.shots, output.shot))
            run.extend(output.items)
        self._generate_into(patches, run)
        done = iter(patches)
        batch.patches = [[next(done) for _ in output.items] for output in batch.frames]
        return batch

    def _generate_into(self, patches: list[Patch], items: list[GeneratorInput]) -> None:
        if items:
            with self.timer("generate"):
                patches.extend(self.parts.generator.generate(items))

    # -- compositor thread -------------------------------------------------------------------

    def compose_batch(self, batch: Batch, writer: VideoWriter) -> None:
        """Blend every patch of ``batch`` into its frame and encode the frames in order."""
        for output, patches in zip(batch.frames, batch.patches, strict=True):
            self.finish_frame(output, patches, writer)

    def finish_frame(self, output: OutputFrame, patches: list[Patch], writer: VideoWriter) -> None:
        """Blend the redrawn patches of one output frame, count it, then encode it.

        A frame none of whose patches the generator redrew is written unchanged and counted
        as skipped, with the first patch's note as the reason."""
        clock = time.thread_time()
        frame = output.frame
        # Blended into a copy made here, one frame at a time: the decoded frame may be shown
        # again (freeze, ping-pong turn) and is what the generator saw.
        if any(patch.redrawn for patch in patches):
            frame = frame.copy()
        for item, patch in zip(output.items, patches, strict=True):
            if patch.redrawn:
                patch = close_in_pauses(self.parts.generator, self.lanes, item, patch)
                with self.timer("blend"):
                    frame = compose(self.parts, frame, patch, item.face)
        if any(patch.redrawn for patch in patches):
            self.counts.dubbed += 1
        elif patches:
            self.counts.skipped[patches[0].note or "not redrawn"] += 1
        # Steps on the finished frame (one line each) go here, before it is encoded.
        with self.timer("mark"):  # the watermark (lipdub.provenance), unless --no-mark
            frame = self.mark(frame, output.items, patches)
        self.cpu.add("blend", clock)
        clock = time.thread_time()
        with self.timer("encode"):
            writer.write(frame)
        self.cpu.add("encode", clock)
        self.counts.written += 1

    # -- all stages --------------------------------------------------------------------------

    def run(self, frames: Iterable[tuple[int, int, np.ndarray]], writer: VideoWriter) -> None:
        """Push every output frame through the stages into ``writer``; on any error or
        Ctrl-C both worker threads are stopped before it propagates (the writer's own
        clean-up then removes the partial file)."""
        total = self.plan.n_output
        decoded = Prefetch(self.batches(frames), depth=DECODE_AHEAD, name="lipdub-decode")
        composer: Drain[Batch] = Drain(
            lambda batch: self.compose_batch(batch, writer),
            depth=COMPOSE_AHEAD,
            name="lipdub-compose",
        )
        try:
            for batch in decoded:
                composer.put(self.generate(batch))
                self.progress("dub", self.counts.written, total)
            composer.finish()
        except BaseException:
            composer.abort()
            raise
        finally:
            decoded.close()
        self.progress("dub", self.counts.written, total)
