"""Pipeline speed and memory on a generated talking-head clip, against the generator alone.

Usage: python benchmarks/bench_pipeline.py [--seconds 12] [--size 720p|1080p|4k|WxH]
    [--generator wav2lip|warp] [--precision bf16|fp32|fp16|auto] [--device cpu|cuda]
    [--batch-size N] [--preset P] [--crf N] [--codec C] [--second-audio] [--json]
       python benchmarks/bench_pipeline.py --encoders [--grid veryfast:15,medium:18]

One run measures, in a fresh child process, the dub end to end and then the generator alone
(same components: weights, batch, precision, device; the frames already decoded, so nothing
but ``generate`` is timed), and prints both frame rates and their ratio, the CPU seconds of
every stage (the dub's threads and its ffmpeg children, decoder and encoder apart), the
detection cost per frame and the peak RSS of the dub. ``--second-audio`` dubs the same clip
again with another audio (the analysis cache's case). ``--encoders`` compares x264 settings:
encoder CPU per frame and PSNR of the encoded picture against the source.

Wav2Lip runs with seeded-random weights (real speed, meaningless pictures). Note the load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np
from report import print_result  # benchmarks/ is on the path when run as a script

SIZES = {"720p": (1280, 720), "1080p": (1920, 1080), "4k": (3840, 2160)}
FPS = 25
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def parse_size(text: str) -> tuple[int, int]:
    if text.lower() in SIZES:
        return SIZES[text.lower()]
    width, height = (int(v) for v in text.lower().split("x"))
    return width, height


def make_clip(path: Path, seconds: float, width: int, height: int, fps: int = FPS) -> None:
    """A face (scikit-image's astronaut, 0.55 of the frame height) drifting on a texture."""
    from skimage import data

    from lipdub.media.ffmpeg import find_ffmpeg

    face = data.astronaut()[0:300, 110:410]
    side = int(height * 0.55)
    face = cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(0)
    small = rng.integers(0, 255, (height // 4, width // 4, 3), dtype=np.uint8)
    background = cv2.resize(cv2.GaussianBlur(small, (0, 0), 2), (width, height))
    command = [
        find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo",
        "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", str(path),
    ]  # fmt: skip
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


def make_audio(path: Path, seconds: float, seed: int = 0) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from conftest import speech_like, write_wav  # noqa: I001 - the tests' speech generator

    write_wav(path, speech_like(seconds, seed=seed))


class ChildCpu:
    """Samples the CPU time of this process's ffmpeg children, by role (the last sample
    before a child exits is what it is credited with; the exact total comes from rusage)."""

    def __init__(self, interval: float = 0.05) -> None:
        self.seconds: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._interval = interval
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ChildCpu:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.wait(self._interval):
            for entry in os.scandir("/proc"):
                if not entry.name.isdigit():
                    continue
                try:
                    with open(f"/proc/{entry.name}/stat") as handle:
                        fields = handle.read().rsplit(")", 1)[1].split()
                    if int(fields[1]) != me:
                        continue
                    with open(f"/proc/{entry.name}/cmdline", "rb") as handle:
                        cmdline = handle.read()
                except (OSError, IndexError, ValueError):
                    continue
                cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
                pid = int(entry.name)
                role = self.seconds.get(pid, ("", 0.0))[0] or _role(cmdline)
                self.seconds[pid] = (role, cpu)

    def by_role(self) -> dict[str, float]:
        roles: dict[str, float] = {}
        for role, cpu in self.seconds.values():
            roles[role] = roles.get(role, 0.0) + cpu
        return roles


def _role(cmdline: bytes) -> str:
    """What a child process does, from its command line ("" while it is unreadable)."""
    if not cmdline:
        return ""  # an exited child; its role was noted while it ran
    if b"ffmpeg" not in cmdline:
        return "other children"
    if b"pipe:0" in cmdline:
        return "ffmpeg encode"
    return "ffmpeg decode" if b"rawvideo" in cmdline else "ffmpeg audio"


def cpu_of(who: int) -> float:
    """User + system CPU seconds of ``resource.RUSAGE_SELF`` or ``RUSAGE_CHILDREN``."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_child(spec: dict) -> dict:
    """Child process: the dub(s), then the generator alone, as one JSON dict."""
    from lipdub.pipeline.components import choose_generator, merge_settings, parse_option_flags
    from lipdub.pipeline.dub import DubRequest, components_for, dub

    def request(audio: str, output: str) -> DubRequest:
        batch = {"generator": {"batch_size": spec["batch_size"]}} if spec["batch_size"] else {}
        options = merge_settings(batch, parse_option_flags(spec["options"]))
        extra = {"mark": False} if spec["no_mark"] else {}
        return DubRequest(
            **extra,
            video=Path(spec["video"]),
            audio=Path(audio),
            output=Path(output),
            generator=spec["generator"],
            checkpoint=Path(spec["checkpoint"]) if spec["checkpoint"] else None,
            precision=spec["precision"],
            device=spec["device"],
            options=options,
            codec=spec["codec"],
            preset=spec["preset"],
            crf=spec["crf"],
            analysis_cache=spec["second_audio"] is not None,
        )

    first = request(spec["audio"], spec["output"])
    parts = components_for(first, choose_generator(first.generator, first.checkpoint).name)
    results: dict = {}
    cpu0, child0 = cpu_of(resource.RUSAGE_SELF), cpu_of(resource.RUSAGE_CHILDREN)
    with ChildCpu() as sampler:
        start = time.perf_counter()
        summary = dub(first, components=parts)
        wall = time.perf_counter() - start
    results["dub"] = {
        "wall_s": wall,
        "frames": summary.frames,
        "duration": summary.duration,
        "generator": summary.generator,
        "stages_s": summary.seconds,
        "cpu_s": summary.cpu_seconds,
        "process_cpu_s": cpu_of(resource.RUSAGE_SELF) - cpu0,
        "children_cpu_s": cpu_of(resource.RUSAGE_CHILDREN) - child0,
        "children_by_role_s": sampler.by_role(),
        "detect_ms_per_frame": summary.detect_ms_per_frame,
    }
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results["ffmpeg_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if spec["second_audio"] is not None:
        start = time.perf_counter()
        again = dub(request(spec["second_audio"], spec["output"] + ".2.mp4"), components=parts)
        results["second_dub"] = {
            "wall_s": time.perf_counter() - start,
            "frames": again.frames,
            "analysis_reused": again.analysis_reused,
            "stages_s": again.seconds,
        }
    results["generator_alone"] = generator_alone(parts, spec, first)
    parts.close()
    return results


def generator_alone(parts, spec: dict, request) -> dict:  # type: ignore[no-untyped-def]
    """Frames/s of ``parts.generator.generate`` alone on decoded frames of the clip, with the
    tracked face of its first frame and real audio windows, in the dub's batch size."""
    from lipdub import defaults
    from lipdub.audio.features import compute_features
    from lipdub.faces.boxes import wav2lip_box
    from lipdub.media.audio import load_audio
    from lipdub.media.reader import VideoReader
    from lipdub.pipeline.engine import plan_threads
    from lipdub.types import Face, GeneratorInput

    plan_threads()
    reader = VideoReader(spec["video"])
    frames = [f for _, f in zip(range(16), reader.frames(), strict=False)]
    face = parts.tracker.detect(frames[0])[0]
    size = (frames[0].shape[1], frames[0].shape[0])
    face = Face(wav2lip_box(face, request.pads, size), None, face.score, face.regions, None)
    wav = load_audio(spec["audio"], defaults.ANALYSIS_SAMPLE_RATE)
    features = compute_features(wav, parts.extractor, None)
    generator = parts.generator
    window = max(1, round(generator.audio_window_seconds * parts.extractor.frames_per_second))
    batch = max(1, getattr(generator.options, "batch_size", None) or generator.batch_size)
    n = spec["frames_alone"]
    items = [
        GeneratorInput(frames[i % len(frames)], face, features[:window], i, i % len(frames))
        for i in range(n)
    ]
    generator.generate(items[:batch])  # warm-up (lazy loading, kernels)
    start = time.perf_counter()
    for low in range(0, n, batch):
        generator.generate(items[low : low + batch])
    wall = time.perf_counter() - start
    return {"frames": n, "wall_s": wall, "frames_per_s": n / wall, "batch": batch}


def encoder_sweep(args: argparse.Namespace) -> list[dict]:
    """Per ``--grid`` preset (and CRF; default ``--crf``): encoder CPU ms per frame, PSNR
    against the source."""
    from lipdub.media.reader import VideoReader
    from lipdub.media.writer import VideoWriter

    width, height = parse_size(args.size)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        make_clip(clip, args.seconds, width, height)
        source = list(VideoReader(clip).frames())
        for pair in args.grid.split(","):
            preset, _, crf_text = pair.partition(":")
            crf = int(crf_text or args.crf)
            out = Path(tmp) / f"{preset}-{crf}.mp4"
            before = cpu_of(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            with VideoWriter(out, width, height, FPS, crf=crf, preset=preset) as writer:
                for frame in source:
                    writer.write(frame)
            wall = time.perf_counter() - start
            cpu = cpu_of(resource.RUSAGE_CHILDREN) - before
            errors = [
                np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2)
                for a, b in zip(source, VideoReader(out).frames(), strict=True)
            ]
            psnr = 10 * np.log10(255.0**2 / max(float(np.mean(errors)), 1e-9))
            results.append(
                {
                    "preset": preset,
                    "crf": crf,
                    "encoder_cpu_ms_per_frame": round(1000 * cpu / len(source), 2),
                    "wall_s": round(wall, 2),
                    "psnr_db": round(psnr, 2),
                    "size_kb": round(out.stat().st_size / 1024),
                }
            )
    return results


def summarise(args: argparse.Namespace, run: dict) -> dict:
    dub_run, alone = run["dub"], run["generator_alone"]
    end_to_end = dub_run["frames"] / dub_run["wall_s"]
    cpu = {f"python {k}": v for k, v in dub_run["cpu_s"].items()}
    cpu |= dub_run["children_by_role_s"] | {"ffmpeg children total": dub_run["children_cpu_s"]}
    cpu = {k: round(v, 2) for k, v in (cpu | {"python total": dub_run["process_cpu_s"]}).items()}
    result = {
        "setup": f"{dub_run['generator']} {args.precision} {args.device} {args.size}, "
        f"{args.codec} {args.preset} crf {args.crf}",
        "seconds_of_video": round(dub_run["duration"], 2),
        "frames": dub_run["frames"],
        "wall_s": round(dub_run["wall_s"], 2),
        "end_to_end_fps": round(end_to_end, 1),
        "generator_alone_fps": round(alone["frames_per_s"], 1),
        "ratio_end_to_end_to_generator": round(end_to_end / alone["frames_per_s"], 3),
        "realtime_factor": round(dub_run["duration"] / dub_run["wall_s"], 3),
        "peak_rss_mb": round(run["peak_rss_mb"]),
        "peak_rss_ffmpeg_mb": round(run["ffmpeg_peak_rss_mb"]),
        "detect_ms_per_frame": round(dub_run["detect_ms_per_frame"] or 0.0, 2),
        "cpu_s": cpu,
        "stages_wall_s": {k: round(v, 2) for k, v in dub_run["stages_s"].items()},
        "load": os.getloadavg()[0],
    }
    if "second_dub" in run:
        second = run["second_dub"]
        result["second_dub_wall_s"] = round(second["wall_s"], 2)
        result["second_dub_analysis_reused"] = second["analysis_reused"]
        result["second_to_first_time"] = round(second["wall_s"] / dub_run["wall_s"], 3)
        result["second_dub_stages_wall_s"] = {k: round(v, 2) for k, v in second["stages_s"].items()}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--generator", default="wav2lip")
    parser.add_argument("--size", default="720p", help="720p, 1080p, 4k or WIDTHxHEIGHT")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--codec", default="libx264")
    parser.add_argument("--preset", default=None, help="default: lipdub's")
    parser.add_argument("--crf", type=int, default=None, help="default: lipdub's")
    parser.add_argument("--frames-alone", type=int, default=96)
    parser.add_argument("--second-audio", action="store_true", help="dub again, other audio")
    parser.add_argument("--option", action="append", default=[], help="KIND.KEY=VALUE")
    parser.add_argument("--no-mark", action="store_true", help="dub without provenance marks")
    parser.add_argument("--encoders", action="store_true", help="compare x264 presets")
    parser.add_argument(
        "--grid",
        default="ultrafast,superfast,veryfast,faster,fast,medium",
        help="--encoders: PRESET[:CRF],... to compare",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run_child(json.loads(args.run))))
        return
    from lipdub import defaults

    args.preset = args.preset or defaults.ENCODER_PRESET
    args.crf = defaults.ENCODER_CRF if args.crf is None else args.crf
    if args.encoders:
        rows = encoder_sweep(args)
        print(json.dumps(rows) if args.json else "\n".join(map(str, rows)))
        return
    width, height = parse_size(args.size)

    from lipdub.models.checkpoint import save_checkpoint, seeded_wav2lip

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        clip, audio, other = work / "clip.mp4", work / "dub.wav", work / "dub2.wav"
        make_clip(clip, args.seconds, width, height)
        make_audio(audio, args.seconds)
        make_audio(other, args.seconds, seed=1)
        checkpoint = None
        if args.generator.startswith("wav2lip"):
            checkpoint = work / "seeded.pth"
            save_checkpoint(seeded_wav2lip(0), checkpoint)
        spec = {
            "video": str(clip),
            "audio": str(audio),
            "second_audio": str(other) if args.second_audio else None,
            "output": str(work / "out.mp4"),
            "generator": args.generator,
            "checkpoint": str(checkpoint) if checkpoint else None,
            "precision": args.precision,
            "device": args.device,
            "batch_size": args.batch_size,
            "codec": args.codec,
            "preset": args.preset,
            "crf": args.crf,
            "frames_alone": args.frames_alone,
            "options": args.option,
            "no_mark": args.no_mark,
        }
        env = {**os.environ, "LIPDUB_HOME": str(work / "home")}
        child = subprocess.run(
            [sys.executable, __file__, "--run", json.dumps(spec)],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
        run = json.loads(child.stdout.strip().splitlines()[-1])
    result = summarise(args, run)
    print_result(result, args.json, width=32)


if __name__ == "__main__":
    main()
