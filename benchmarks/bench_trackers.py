"""Frames/s of the face-alignment tracker (S3FD + FAN) against mediapipe, and the Wav2Lip box
each gives, on the same frames.

    python benchmarks/bench_trackers.py [--size 720] [--frames 8] [--seeded] [--json OUT]

Two clips scaled to ``--size`` rows (16:9): the bundled example (``examples/astronaut.mp4``)
and a generated talking head (``tests/conftest.py`` ``make_talking_head``). face-alignment
runs frame by frame (``detect``) and in batches (``detect_batch``, ``--batch`` frames per
S3FD pass) on the same frames, after one warm-up frame (numba compiles FAN's decoding).

With the real ``s3fd-619a316812.pth`` and ``2DFAN4-11f355bf06.pth.tar`` in the model cache
(``lipdub models pull s3fd fan-2d``) those are used. ``--seeded`` uses seeded weights in the
public layout instead (the same networks, so the speed is representative) with S3FD's face
scores held down, so S3FD finds nothing and a stand-in box (mediapipe's Wav2Lip box of the
first frame) feeds FAN; the box IoU is then meaningless, and the output says so.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PADS = (0, 10, 0, 0)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scaled(frames: list[np.ndarray], rows: int) -> list[np.ndarray]:
    """``frames`` resized to ``rows`` x ``rows * 16 / 9`` (the face keeps its place)."""
    import cv2

    width = int(round(rows * 16 / 9)) // 2 * 2
    return [np.ascontiguousarray(cv2.resize(f, (width, rows), interpolation=cv2.INTER_CUBIC))
            for f in frames]  # fmt: skip


def clips(count: int, rows: int, folder: Path) -> dict[str, list[np.ndarray]]:
    """The example clip and a generated one, ``count`` frames each, at ``rows`` rows."""
    from lipdub.media.reader import VideoReader

    sys.path.insert(0, str(ROOT))
    from tests.conftest import make_talking_head

    example = list(VideoReader(ROOT / "examples" / "astronaut.mp4").frames(count=count))
    generated = make_talking_head(folder / "head.mp4", seconds=count / 25 + 0.2)
    made = list(VideoReader(generated).frames(count=count))
    return {"example": scaled(example, rows), "generated": scaled(made, rows)}


def largest_box(faces: list, size: tuple[int, int]) -> tuple[float, ...] | None:
    """The Wav2Lip box (pads 0 10 0 0) of the largest face, or None."""
    from lipdub.faces.boxes import wav2lip_box

    if not faces:
        return None
    face = max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
    return wav2lip_box(face, PADS, size)


def timed(run, frames: list[np.ndarray]) -> tuple[list[list], float]:
    start = time.perf_counter()
    found = run(frames)
    return found, len(frames) / (time.perf_counter() - start)


def bench_clip(frames: list[np.ndarray], face_alignment, mediapipe) -> dict:
    """Frames/s of each tracker on ``frames`` and the per-frame IoU of their Wav2Lip boxes."""
    from lipdub.faces.boxes import box_iou

    size = (frames[0].shape[1], frames[0].shape[0])
    mediapipe.reset()
    mp_faces, mp_fps = timed(lambda fs: [mediapipe.detect(f) for f in fs], frames)
    face_alignment.reset()
    fa_faces, fa_fps = timed(lambda fs: [face_alignment.detect(f) for f in fs], frames)
    face_alignment.reset()
    batch_faces, batch_fps = timed(face_alignment.detect_batch, frames)
    ious = []
    for mp, fa in zip(mp_faces, fa_faces, strict=True):
        a, b = largest_box(mp, size), largest_box(fa, size)
        ious.append(None if a is None or b is None else round(box_iou(a, b), 3))
    same = all(len(a) == len(b) for a, b in zip(fa_faces, batch_faces, strict=True))
    return {
        "frames": len(frames),
        "size": f"{size[0]}x{size[1]}",
        "mediapipe_fps": round(mp_fps, 3),
        "face_alignment_fps": round(fa_fps, 3),
        "face_alignment_batch_fps": round(batch_fps, 3),
        "batch_speedup": round(batch_fps / fa_fps, 3),
        "batch_same_faces": same,
        "wav2lip_box_iou": ious,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=720, help="frame rows (16:9)")
    parser.add_argument("--frames", type=int, default=8, help="frames per clip")
    parser.add_argument("--batch", type=int, default=8, help="frames per S3FD pass")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seeded", action="store_true", help="seeded weights, stand-in box")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        if args.seeded:
            from lipdub_face_alignment.testing import write_seeded_weights

            os.environ["LIPDUB_HOME"] = str(folder / "home")
            os.environ["TORCH_HOME"] = str(folder / "torch")
            write_seeded_weights(folder / "home" / "models", faceless=True)
        from lipdub_face_alignment.testing import stand_in_box

        from lipdub.plugins import get_component

        frames_of = clips(args.frames, args.size, folder)
        mediapipe = get_component("face_trackers", "mediapipe")()
        options = {"device": args.device, "batch_size": args.batch}
        face_alignment = get_component("face_trackers", "face-alignment")(options)
        results: dict = {"seeded": args.seeded, "batch": args.batch, "device": args.device}
        for name, frames in frames_of.items():
            size = (frames[0].shape[1], frames[0].shape[0])
            first = largest_box(mediapipe.detect(frames[0]), size) or (0, 0, *size)
            context = stand_in_box(first) if args.seeded else nullcontext()
            with context:
                face_alignment.detect(frames[0])  # warm-up (numba, allocations)
                results[name] = bench_clip(frames, face_alignment, mediapipe)
        results["peak_rss_mb"] = round(peak_rss_mb())
        results["load_average"] = [round(v, 2) for v in os.getloadavg()]
        if args.seeded:
            results["note"] = ("seeded weights: speeds are representative, the Wav2Lip box IoU "
                               "is not (S3FD's box is a stand-in)")  # fmt: skip
    for name in frames_of:
        row = results[name]
        print(f"{name} {row['size']} x{row['frames']}: mediapipe {row['mediapipe_fps']} fps, "
              f"face-alignment {row['face_alignment_fps']} fps, batched "
              f"{row['face_alignment_batch_fps']} fps (x{row['batch_speedup']}); "
              f"Wav2Lip box IoU per frame {row['wav2lip_box_iou']}")  # fmt: skip
    print(f"peak RSS {results['peak_rss_mb']} MiB, load {results['load_average']}")
    if args.seeded:
        print("NOTE: " + results["note"])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
