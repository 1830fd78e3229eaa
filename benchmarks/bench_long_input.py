"""Peak memory against input length: a short and a long dub of the same looped example.

The bundled example is looped to ``--short`` and ``--long`` minutes (scaled to ``--side``
pixels square, audio looped alike) and dubbed with the weight-free ``warp`` generator and
``--no-cache`` in a fresh child process each; the child's peak RSS (not counting the ffmpeg
children), the growth per frame and the hour it extrapolates to are printed. ``--no-mark``
leaves out the provenance marks: signing the C2PA manifest holds about twice the output file
in memory, which then sets the long dub's peak. Run::

    .venv/bin/python benchmarks/bench_long_input.py [--short 1] [--long 8] [--side 240]
        [--no-mark] [--json]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from report import print_result  # benchmarks/ is on the path when run as a script

from lipdub.media.ffmpeg import find_ffmpeg

ROOT = Path(__file__).resolve().parents[1]
FPS = 25
CHILD = """
import resource, sys
from lipdub.cli.app import main
code = main(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, code)
"""


def make_inputs(folder: Path, minutes: float, side: int) -> tuple[Path, Path]:
    video, audio = folder / f"v{minutes}.mp4", folder / f"a{minutes}.wav"
    seconds = str(60 * minutes)
    example = ROOT / "examples"
    loop = ["-stream_loop", "-1"]
    subprocess.run([find_ffmpeg(), "-v", "error", "-y", *loop, "-i", str(example / "astronaut.mp4"),
                    "-t", seconds, "-vf", f"scale={side}:{side}", "-an", "-c:v", "libx264",
                    "-preset", "ultrafast", str(video)], check=True)  # fmt: skip
    subprocess.run([find_ffmpeg(), "-v", "error", "-y", *loop, "-i", str(example / "speech.wav"),
                    "-t", seconds, str(audio)], check=True)  # fmt: skip
    return video, audio


def peak_rss_mb(folder: Path, minutes: float, side: int, mark: bool) -> int:
    video, audio = make_inputs(folder, minutes, side)
    args = [str(video), "--audio", str(audio), "-o", str(folder / f"o{minutes}.mp4"), "-q"]
    args += ["-g", "warp", "--no-cache", "--overwrite"] + ([] if mark else ["--no-mark"])
    run = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True)
    peak, code = run.stdout.split()[-2:]
    if code != "0":
        raise SystemExit(f"the {minutes} min dub failed: {run.stderr.strip()}")
    return int(peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", type=float, default=1.0, help="minutes")
    parser.add_argument("--long", type=float, default=8.0, help="minutes")
    parser.add_argument("--side", type=int, default=240, help="frame side, pixels")
    parser.add_argument("--no-mark", action="store_true", help="dub with --no-mark")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        short = peak_rss_mb(Path(tmp), args.short, args.side, not args.no_mark)
        long = peak_rss_mb(Path(tmp), args.long, args.side, not args.no_mark)
    frames = (args.long - args.short) * 60 * FPS
    per_frame_kb = (long - short) * 1024 / frames
    hour = short + per_frame_kb * (60 - args.short) * 60 * FPS / 1024
    result = {
        f"peak_rss_mb_{args.short:g}min": short,
        f"peak_rss_mb_{args.long:g}min": long,
        "growth_kb_per_frame": round(per_frame_kb, 2),
        "hour_extrapolated_mb": round(hour),
        "hour_over_short": round(hour / short, 2),
    }
    print_result(result, args.json, width=24)


if __name__ == "__main__":
    main()
