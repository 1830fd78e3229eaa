"""Cost of the sync-quality steps at 720p: ``warp`` frames per second with real mouths on and
off, and the silence-closure blend per frame (what a pause frame costs any generator).

The example clip is scaled into a 1280x720 frame; faces come from the default tracker. Run::

    .venv/bin/python benchmarks/bench_sync_quality.py [--frames 60]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from lipdub.eval.agreement import eval_tracker
from lipdub.generators.warp import ArticulationExtractor, WarpGenerator
from lipdub.media.audio import load_audio
from lipdub.media.reader import VideoReader
from lipdub.pipeline.closure import blend_toward_closed
from lipdub.types import GeneratorInput

ROOT = Path(__file__).resolve().parents[1]


def frames_720p(count: int) -> list[np.ndarray]:
    out = []
    for frame in VideoReader(ROOT / "examples" / "astronaut.mp4").frames(count=count):
        canvas = np.zeros((720, 1280, 3), np.uint8)
        canvas[:, 280:1000] = cv2.resize(frame, (720, 720), interpolation=cv2.INTER_CUBIC)
        out.append(canvas)
    return out


def items_for(frames: list[np.ndarray]) -> list[GeneratorInput]:
    tracker = eval_tracker()
    rows = ArticulationExtractor().extract(load_audio(ROOT / "examples" / "speech.wav"))
    items = []
    for index, frame in enumerate(frames):
        faces = [face for face in tracker.detect(frame) if face.regions is not None]
        face = max(faces, key=lambda face: face.area)
        audio = rows[index * 4 : index * 4 + 4]
        items.append(GeneratorInput(frame, face, audio, index, index, 0))
    tracker.close()
    return items


def rate(generator: WarpGenerator, items: list[GeneratorInput], repeats: int = 2) -> float:
    best = float("inf")
    for _ in range(repeats):
        generator.begin_shot(0, [item.face for item in items])
        started = time.perf_counter()
        for start in range(0, len(items), 8):
            generator.generate(items[start : start + 8])
        best = min(best, time.perf_counter() - started)
    return len(items) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args()
    items = items_for(frames_720p(args.frames))
    painted = rate(WarpGenerator(real_mouth=False), items)
    real = rate(WarpGenerator(), items)
    patches = WarpGenerator().generate(items[:16])
    started = time.perf_counter()
    for item, patch in zip(items[:16], patches, strict=True):
        blend_toward_closed(item.frame, item.face, patch, 1.0)
    closure_ms = (time.perf_counter() - started) / 16 * 1000
    print(
        f"warp 720p: painted {painted:.1f} fps, real mouths {real:.1f} fps ({real / painted:.2f}x)"
    )
    print(f"silence closure: {closure_ms:.1f} ms per pause frame")


if __name__ == "__main__":
    main()
