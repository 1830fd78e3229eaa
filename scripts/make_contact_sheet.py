"""Make ``docs/sync_contact_sheet.jpg``: the bundled example dubbed by ``warp``, at its extremes.

Columns: the widest opening, a rounded vowel, a spread vowel and a frame inside a pause.
Rows: the source frame, ``warp`` with the painted interior (``real_mouth=false``, the earlier
look) and ``warp`` with real mouth interiors from the shot. Each cell is the lower face.
Run from the repository root::

    .venv/bin/python scripts/make_contact_sheet.py [--out docs/sync_contact_sheet.jpg]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import numpy as np

from lipdub.cli.app import main as lipdub_main
from lipdub.eval.agreement import eval_tracker, largest_regions
from lipdub.generators.warp.articulation import OPENING, SPREAD, articulate
from lipdub.media.audio import load_audio
from lipdub.media.reader import VideoReader

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "examples" / "astronaut.mp4"
SPEECH = ROOT / "examples" / "speech.wav"
CELL = 200
LABELS = ("widest", "rounded", "spread", "pause")


def pick_frames(speech: Path, fps: float, n_frames: int) -> list[int]:
    """Output frames at the widest opening, the most rounded and most spread open mouths, and
    the middle of the longest closed stretch."""
    rows = articulate(load_audio(speech))
    per_frame = np.array(
        [rows[int(i * 100 / fps) : int(i * 100 / fps) + 4].mean(axis=0) for i in range(n_frames)]
    )
    opening, spread = per_frame[:, OPENING], per_frame[:, SPREAD]
    widest = int(opening.argmax())
    open_enough = opening > 0.4 * opening.max()
    open_enough[max(widest - 2, 0) : widest + 3] = False  # another moment than the widest
    rounded = np.where(open_enough, spread, np.inf).argmin()
    spreadest = np.where(open_enough, spread, -np.inf).argmax()
    closed = opening < 1e-3
    best, run, start = (0, 0), 0, 0
    for i, value in enumerate(closed):
        run, start = (run + 1, start) if value else (0, i + 1)
        if run > best[1]:
            best = (start, run)
    return [widest, int(rounded), int(spreadest), best[0] + best[1] // 2]


def frames_at(video: Path, indices: list[int]) -> list[np.ndarray]:
    wanted = set(indices)
    found = {i: f.copy() for i, f in enumerate(VideoReader(video).frames()) if i in wanted}
    return [found[i] for i in indices]


def lower_face(frame: np.ndarray, centre: np.ndarray, size: float) -> np.ndarray:
    x, y = centre
    half = size / 2
    box = np.int32([x - half, y - 0.45 * size, x + half, y + 0.55 * size])
    box = np.clip(box, 0, [frame.shape[1], frame.shape[0], frame.shape[1], frame.shape[0]])
    return cv2.resize(frame[box[1] : box[3], box[0] : box[2]], (CELL, CELL), cv2.INTER_AREA)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "sync_contact_sheet.jpg")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        painted, real = Path(folder) / "painted.mp4", Path(folder) / "real.mp4"
        common = [str(CLIP), "--audio", str(SPEECH), "--generator", "warp", "-q"]
        lipdub_main([*common, "-o", str(painted), "--option", "generator.real_mouth=false"])
        lipdub_main([*common, "-o", str(real)])
        reader = VideoReader(real)
        indices = pick_frames(SPEECH, reader.fps, reader.info.n_frames or 200)
        sources = frames_at(CLIP, indices)
        tracker = eval_tracker()
        cells = []
        for video in (CLIP, painted, real):
            row = []
            for source, frame in zip(sources, frames_at(video, indices), strict=True):
                regions = largest_regions(tracker, source)
                assert regions is not None, "no face in the example"
                centre = regions.lips_outer.mean(axis=0)
                row.append(lower_face(frame, centre, 0.75 * regions.face_height))
            cells.append(np.concatenate(row, axis=1))
        tracker.close()
    sheet = np.concatenate(cells, axis=0)
    for k, label in enumerate(LABELS):
        cv2.putText(sheet, label, (k * CELL + 6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255,) * 3)
    for r, label in enumerate(("source", "painted", "real mouth")):
        y = r * CELL + CELL - 8
        cv2.putText(sheet, label, (6, y), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 0))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), sheet[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"{args.out}: frames {indices}, {args.out.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
