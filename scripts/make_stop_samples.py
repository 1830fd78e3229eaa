"""Make the stop-consonant samples of ``tests/test_warp.py`` under ``tests/data/stops/``.

Six espeak-ng syllables, 16 kHz mono 16-bit WAV: ``apa``, ``ata``, ``aka`` and ``iti`` in one
voice, ``ipi`` and ``iki`` in another, each with a voiceless stop between two vowels (the
lips shut only for /p/).

Needs espeak-ng. Run from the repository root: ``.venv/bin/python scripts/make_stop_samples.py``.
"""

from __future__ import annotations

import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "data" / "stops"
SAMPLES = {"en": ("apa", "ata", "aka", "iti"), "en-us": ("ipi", "iki")}
RATE = 16000


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as source:
        samples = np.frombuffer(source.readframes(source.getnframes()), np.int16)
        return samples.astype(np.float32) / 32768.0, source.getframerate()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for voice, words in SAMPLES.items():
            for word in words:
                raw = Path(tmp) / f"{word}.wav"
                subprocess.run(
                    ["espeak-ng", "-v", voice, "-s", "140", "-w", str(raw), word], check=True
                )
                samples, rate = read_wav(raw)
                if rate != RATE:
                    samples = resample_poly(samples, RATE, rate)
                pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype(np.int16)
                with wave.open(str(OUT / f"{word}.wav"), "wb") as out:
                    out.setnchannels(1)
                    out.setsampwidth(2)
                    out.setframerate(RATE)
                    out.writeframes(pcm.tobytes())
                print(OUT / f"{word}.wav")


if __name__ == "__main__":
    main()
