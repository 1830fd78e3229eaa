"""Per-frame cost of the ONNX backend and the HQ stages, and wav2lip-onnx against torch.

    python benchmarks/bench_onnx.py [--device cpu|cuda] [--frames 20] [--size 512] [--json]

Uses the tiny fixtures of tests/fixtures/onnx (so the numbers measure lipdub's alignment,
warping, masks and compositing plus the session overhead, not a real restorer's network) on
a synthetic face in a ``--size`` square frame; then exports the seeded torch Wav2Lip to ONNX
(real architecture, seeded weights) and times both generators on the same batches.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "onnx"
sys.path.insert(0, str(ROOT))


def per_call_ms(function: Callable[[], object], repeats: int) -> float:
    function()  # warm-up
    started = time.perf_counter()
    for _ in range(repeats):
        function()
    return 1000.0 * (time.perf_counter() - started) / repeats


def scene(size: int):
    from lipdub.contracts import synthetic_face

    rng = np.random.default_rng(0)
    frame = rng.integers(40, 215, (size, size, 3), dtype=np.uint8)
    margin = size * 0.22
    face = synthetic_face((margin, margin * 0.6, size - margin, size - margin * 0.4))
    cv2.fillPoly(frame, [np.round(face.regions.oval).astype(np.int32)], (200, 150, 120))
    cv2.fillPoly(frame, [np.round(face.regions.lips_outer).astype(np.int32)], (150, 60, 60))
    box = face.int_box(size, size)
    x1, y1, x2, y2 = box
    from lipdub.types import Patch

    return frame, face, Patch(frame[y1:y2, x1:x2].copy(), box)


def stage_costs(device: str, frames: int, size: int) -> dict[str, float]:
    from lipdub.blenders.mask import MaskBlender
    from lipdub.enhancers.gfpgan import GFPGANEnhancer
    from lipdub.enhancers.gpen import GPENEnhancer
    from lipdub.maskers.occlusion import OcclusionMasker
    from lipdub.maskers.parsing import ParsingMasker
    from lipdub.onnx.session import open_model
    from lipdub.pipeline.components import Components
    from lipdub.pipeline.compose import compose

    frame, face, patch = scene(size)
    box = patch.box
    identity = open_model(FIXTURES / "restorer_identity.onnx", device)
    tensor = np.zeros((1, 3, 512, 512), np.float32)
    gfpgan = GFPGANEnhancer(checkpoint=FIXTURES / "restorer_brighten.onnx", device=device)
    gpen = GPENEnhancer(checkpoint=FIXTURES / "restorer_sharpen.onnx", device=device)
    occlusion = OcclusionMasker(device=device, options={"model": str(FIXTURES / "xseg_key.onnx")})
    parsing = ParsingMasker(device=device, options={"model": str(FIXTURES / "bisenet_key.onnx")})
    blender, aware = MaskBlender(), MaskBlender(occluders=True)
    at, at_box = (frame, face), (frame, face, box)

    def dub(enhancer=None, maskers=(), chosen=blender):
        parts = Components(None, None, None, chosen, enhancer=enhancer, maskers=list(maskers))  # type: ignore[arg-type]
        return lambda: compose(parts, frame.copy(), patch, face)

    return {
        "onnx session.run, 512 px identity": per_call_ms(
            lambda: identity.run({"input": tensor}), frames
        ),
        "blend (mask blender alone)": per_call_ms(dub(), frames),
        "blend, weight-free occluder mask": per_call_ms(dub(chosen=aware), frames),
        "occlusion masker (xseg, 256)": per_call_ms(lambda: occlusion.mask(*at_box), frames),
        "parsing masker (bisenet, 512)": per_call_ms(lambda: parsing.mask(*at_box), frames),
        "gfpgan enhancer (512) incl. alignment": per_call_ms(lambda: gfpgan.enhance(*at), frames),
        "gpen-256 enhancer incl. alignment": per_call_ms(lambda: gpen.enhance(*at), frames),
        "compose: blend + gfpgan + occlusion + parsing": per_call_ms(
            dub(gfpgan, (occlusion, parsing)), frames
        ),
    }  # fmt: skip


def generator_costs(device: str, batches: int, batch: int = 16) -> dict[str, float]:
    import torch

    from lipdub.contracts import generator_inputs
    from lipdub.generators.wav2lip_onnx import Wav2LipOnnxGenerator
    from lipdub.models.checkpoint import save_checkpoint, seeded_wav2lip
    from lipdub.onnx.export import export_onnx
    from lipdub.plugins import get_component

    folder = Path(tempfile.mkdtemp(prefix="bench-onnx-"))
    model = seeded_wav2lip(0)
    save_checkpoint(model, folder / "seeded.pth")
    dynamic = {0: "batch"}
    export_onnx(model, (torch.zeros(1, 1, 80, 16), torch.zeros(1, 6, 96, 96)), folder / "w.onnx",
                input_names=["mel_spectrogram", "video_frames"], output_names=["predicted_frames"],
                dynamic_axes={"mel_spectrogram": dynamic, "video_frames": dynamic,
                              "predicted_frames": dynamic})  # fmt: skip
    torch_gen = get_component("generators", "wav2lip")(
        checkpoint=folder / "seeded.pth", device=device, precision="fp32"
    )
    onnx_gen = Wav2LipOnnxGenerator(checkpoint=folder / "w.onnx", device=device)
    extractor = get_component("audio_extractors", "mel")()
    items = generator_inputs(torch_gen, extractor, count=batch)
    return {
        f"wav2lip torch fp32, per frame (batch {batch})": per_call_ms(
            lambda: torch_gen.generate(items), batches
        ) / batch,
        f"wav2lip-onnx, per frame (batch {batch})": per_call_ms(
            lambda: onnx_gen.generate(items), batches
        ) / batch,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--size", type=int, default=512, help="Frame side in pixels.")
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--skip-generators", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from lipdub.plugins import load_plugins

    load_plugins()
    results = stage_costs(args.device, args.frames, args.size)
    if not args.skip_generators:
        results.update(generator_costs(args.device, args.batches))
    if args.json:
        print(json.dumps({"device": args.device, "ms": results}, indent=2))
        return
    print(f"device {args.device}, {args.size} px frames")
    for name, ms in results.items():
        print(f"  {name:<48} {ms:8.1f} ms")


if __name__ == "__main__":
    main()
