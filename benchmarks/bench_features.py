"""Time and peak memory of HuBERT feature extraction on long audio.

    python benchmarks/bench_features.py [--minutes 10] [--model DIR] [--chunk-seconds 5]

Without ``--model`` a tiny random HuBERT (hidden 32, 2 layers) is saved to a temporary folder,
so the numbers measure lipdub's chunking and stitching rather than a real model. Peak RSS is
the process's ``ru_maxrss``; the audio itself (``minutes * 3.84`` MB of float32) is included.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20


def current_rss_mb() -> float:
    """Resident memory now, in MiB (from /proc; falls back to the peak)."""
    try:
        fields = Path("/proc/self/statm").read_text().split()
        return int(fields[1]) * resource.getpagesize() / 2**20
    except OSError:
        return peak_rss_mb()


def tiny_model(folder: Path) -> Path:
    """Save a seeded tiny random HuBERT to ``folder``."""
    import torch
    from lipdub_hubert.tiny import tiny_config
    from transformers import HubertModel

    torch.manual_seed(0)
    config = tiny_config()
    HubertModel(config).save_pretrained(folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--model", type=str, default=None)
    parser.add_argument("--chunk-seconds", type=float, default=5.0)
    parser.add_argument("--overlap-seconds", type=float, default=0.5)
    args = parser.parse_args()

    from lipdub_hubert.hubert import HubertExtractor

    with tempfile.TemporaryDirectory() as temp:
        model = args.model or str(tiny_model(Path(temp) / "tiny-hubert"))
        extractor = HubertExtractor(
            model=model, chunk_seconds=args.chunk_seconds, overlap_seconds=args.overlap_seconds
        )
        extractor.load()
        samples = int(args.minutes * 60 * 16000)
        wav = np.random.default_rng(0).standard_normal(samples, dtype=np.float32)
        wav *= 0.1
        extractor.extract(wav[:16000])  # warm-up: first-call allocations are not per-length
        before, peak_before = current_rss_mb(), peak_rss_mb()
        start = time.perf_counter()
        features = extractor.extract(wav)
        seconds = time.perf_counter() - start
    print(f"audio: {args.minutes:g} min ({samples} samples), model: {extractor.model_label}")
    print(f"features: {features.shape} float32 ({features.nbytes / 2**20:.1f} MiB)")
    print(f"time: {seconds:.1f} s ({args.minutes * 60 / seconds:.0f}x real time)")
    print(
        f"rss before extract: {before:.0f} MiB (peak so far {peak_before:.0f} MiB), "
        f"peak rss after: {peak_rss_mb():.0f} MiB"
    )


if __name__ == "__main__":
    main()
