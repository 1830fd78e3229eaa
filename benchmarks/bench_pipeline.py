"""Pipeline speed and memory on a generated 720p 25 fps talking-head clip.

Usage:
    python benchmarks/bench_pipeline.py [--seconds 6] [--precision bf16|fp32|auto]
                                        [--generator wav2lip|warp] [--size 1280x720]

Prints per-stage seconds, frames/s, real-time factor and peak RSS (this process; ffmpeg child
processes are reported separately). Runs with seeded-random Wav2Lip weights in the public format,
so the speed is that of the real network; the pictures are meaningless.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np


def make_clip(path: Path, seconds: float, width: int, height: int, fps: int = 25) -> None:
    """A face (scikit-image's astronaut) drifting slowly on a textured 720p background."""
    from skimage import data

    from lipdub.media.ffmpeg import find_ffmpeg

    face = data.astronaut()[0:300, 110:410]
    side = int(height * 0.55)
    face = cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(0)
    background = cv2.GaussianBlur(
        rng.integers(0, 255, (height, width, 3), dtype=np.uint8), (0, 0), 8
    )
    command = [
        find_ffmpeg(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{width}x{height}",
        "-r",
        str(fps),
        "-i",
        "-",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "20",
        "-pix_fmt",
        "yuv420p",
        str(path),
    ]
    encoder = subprocess.Popen(command, stdin=subprocess.PIPE)
    assert encoder.stdin is not None
    for i in range(int(seconds * fps)):
        frame = background.copy()
        x = int(width / 2 - side / 2 + 20 * np.sin(i / 40))
        y = int(height / 2 - side / 2 + 10 * np.sin(i / 55))
        frame[y : y + side, x : x + side] = face
        encoder.stdin.write(frame.tobytes())
    encoder.stdin.close()
    if encoder.wait() != 0:
        raise SystemExit("ffmpeg failed to make the benchmark clip")


def make_audio(path: Path, seconds: float) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from conftest import speech_like, write_wav

    write_wav(path, speech_like(seconds))


def run_dub(spec: dict) -> None:
    """Child process: run one dub and print its summary as JSON (its own peak RSS too)."""
    from lipdub.pipeline.dub import DubRequest, dub

    request = DubRequest(
        video=Path(spec["video"]),
        audio=Path(spec["audio"]),
        output=Path(spec["output"]),
        generator=spec["generator"],
        checkpoint=Path(spec["checkpoint"]) if spec["checkpoint"] else None,
        precision=spec["precision"],
        device=spec["device"],
    )
    start = time.perf_counter()
    summary = dub(request)
    wall = time.perf_counter() - start
    print(
        json.dumps(
            {
                "generator": summary.generator,
                "frames": summary.frames,
                "duration": summary.duration,
                "wall_s": wall,
                "python_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "ffmpeg_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                "stages_s": summary.seconds,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--generator", default="wav2lip")
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run_dub(json.loads(args.run))
        return
    width, height = (int(v) for v in args.size.split("x"))

    from lipdub.models.checkpoint import save_checkpoint, seeded_wav2lip

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        clip, audio = work / "clip.mp4", work / "dub.wav"
        make_clip(clip, args.seconds, width, height)
        make_audio(audio, args.seconds)
        checkpoint = None
        if args.generator.startswith("wav2lip"):
            checkpoint = work / "seeded.pth"
            save_checkpoint(seeded_wav2lip(0), checkpoint)
        spec = {
            "video": str(clip),
            "audio": str(audio),
            "output": str(work / "out.mp4"),
            "generator": args.generator,
            "checkpoint": str(checkpoint) if checkpoint else None,
            "precision": args.precision,
            "device": args.device,
        }
        # The dub runs in its own process so its peak memory (and its ffmpeg children's) is
        # measured without the set-up above.
        child = subprocess.run(
            [sys.executable, __file__, "--run", json.dumps(spec)],
            check=True,
            capture_output=True,
            text=True,
        )
        run = json.loads(child.stdout.strip().splitlines()[-1])
    wall = run["wall_s"]
    result = {
        "generator": run["generator"],
        "precision": args.precision,
        "size": args.size,
        "seconds_of_video": round(run["duration"], 2),
        "frames": run["frames"],
        "wall_s": round(wall, 2),
        "frames_per_s": round(run["frames"] / wall, 1),
        "realtime_factor": round(run["duration"] / wall, 3),
        "peak_rss_mb": round(run["python_peak_rss_mb"]),
        "peak_rss_ffmpeg_mb": round(run["ffmpeg_peak_rss_mb"]),
        "stages_s": {k: round(v, 2) for k, v in run["stages_s"].items()},
    }
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:>20}: {value}")


if __name__ == "__main__":
    main()
