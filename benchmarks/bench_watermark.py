"""How the watermark survives: the bundled example dubbed (warp), then re-encoded and cut.

For each variant, ``lipdub verify``'s watermark verdict (found, confidence, version read);
then the mouth-region PSNR of the mark itself (marked against unmarked frames, before any
encoding). Run from the repository root::

    .venv/bin/python benchmarks/bench_watermark.py [--loops 3] [--json]

``--loops N`` first loops the example N more times (a longer dub, so that a 10 s trim exists).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from report import print_result  # benchmarks/ is on the path when run as a script

from lipdub.blenders.masks import lower_face_mask
from lipdub.cli.app import main as lipdub
from lipdub.faces.mediapipe_tracker import MediapipeTracker
from lipdub.media.ffmpeg import find_ffmpeg
from lipdub.media.probe import probe
from lipdub.media.reader import VideoReader
from lipdub.provenance import payload
from lipdub.provenance.watermark import Embedder

ROOT = Path(__file__).resolve().parents[1]
VIDEO, AUDIO = ROOT / "examples" / "astronaut.mp4", ROOT / "examples" / "speech.wav"
#: Variant name -> ffmpeg arguments before the dub (input seeking) and after it (output).
VARIANTS = {
    "crf28_half": ([], ["-c:v", "libx264", "-crf", "28", "-vf", "scale=iw/2:-2"]),
    "first_50_dropped": ([], ["-vf", "trim=start_frame=50,setpts=PTS-STARTPTS", "-c:v", "libx264"]),
    "excerpt_4s": (["-ss", "2"], ["-t", "4", "-c:v", "libx264", "-crf", "23"]),
    "trim_10s_copy": (["-ss", "10"], ["-t", "10", "-c", "copy"]),
    "trim_10s_crf28_half": (["-ss", "10"], ["-t", "10", "-c:v", "libx264", "-crf", "28",
                                            "-vf", "scale=iw/2:-2"]),
}  # fmt: skip


def ffmpeg(*args: str) -> None:
    subprocess.run([find_ffmpeg(), "-v", "error", "-y", *args], check=True)


def watermark_of(path: Path) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        lipdub(["verify", str(path), "--json"])
    return json.loads(out.getvalue())["watermark"]


def mark_psnr(frames: int = 60) -> float:
    """Mouth-region (lower-face mask > 1/2) PSNR of marked against unmarked example frames."""
    tracker, embedder = MediapipeTracker(), Embedder(payload.encode())
    errors = []
    for index, frame in enumerate(VideoReader(probe(VIDEO)).frames(count=frames)):
        faces = tracker.detect(frame)
        if faces:
            regions = faces[0].regions
            marked = embedder.embed(frame.copy(), regions, index)
            inside = lower_face_mask(regions, frame.shape[:2]) > 0.5
            errors.append(np.mean((marked[inside].astype(float) - frame[inside]) ** 2))
    return float(10 * np.log10(255.0**2 / np.mean(errors)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", type=int, default=3, help="extra loops of the example")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        video, audio = VIDEO, AUDIO
        if args.loops > 0:
            video, audio = folder / "source.mp4", folder / "speech.wav"
            ffmpeg("-stream_loop", str(args.loops), "-i", str(VIDEO), "-an", "-c:v", "libx264",
                   "-crf", "18", str(video))  # fmt: skip
            ffmpeg("-stream_loop", str(args.loops), "-i", str(AUDIO), str(audio))
        dub = folder / "dub.mp4"
        lipdub([str(video), "--audio", str(audio), "-o", str(dub), "-q", "-g", "warp"])
        results["source"] = watermark_of(video)
        results["dub"] = watermark_of(dub)
        seconds = probe(dub).duration
        for name, (before, after) in VARIANTS.items():
            if name.startswith("trim_10s") and seconds < 20:
                continue  # needs --loops: a 10 s trim of a 20 s dub or longer
            variant = folder / f"{name}.mp4"
            ffmpeg(*before, "-i", str(dub), *after, str(variant))
            results[name] = watermark_of(variant)
    results["mouth_psnr_db"] = round(mark_psnr(), 2)
    print_result(results, args.json, width=22)


if __name__ == "__main__":
    main()
