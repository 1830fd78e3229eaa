"""Face restorers (``--enhancer``) on tiny ONNX models that follow the real ones' I/O:
what the restored dub looks like (unchanged, brighter only in the region, flicker-free)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from lipdub.blenders import masks
from lipdub.blenders.mask import MaskBlender
from lipdub.contracts import synthetic_face
from lipdub.enhancers.codeformer import CodeFormerEnhancer
from lipdub.enhancers.gfpgan import GFPGANEnhancer
from lipdub.enhancers.gpen import GPENEnhancer
from lipdub.enhancers.restoreformer import RestoreFormerEnhancer
from lipdub.errors import WeightsMissingError
from lipdub.pipeline.components import Components
from lipdub.pipeline.compose import compose
from lipdub.types import Face, Patch

FIXTURES = Path(__file__).parent / "fixtures" / "onnx"
SIZE = 256


def scene(seed: int = 0) -> tuple[np.ndarray, Face]:
    """A 256 px frame: textured background, a skin oval with skin noise, red lips."""
    rng = np.random.default_rng(seed)
    frame = cv2.GaussianBlur(rng.integers(40, 215, (SIZE, SIZE, 3), dtype=np.uint8), (0, 0), 2)
    face = synthetic_face((60, 30, 196, 210))
    assert face.regions is not None
    cv2.fillPoly(frame, [np.round(face.regions.oval).astype(np.int32)], (200, 150, 120))
    frame = np.clip(frame + rng.normal(0, 6, frame.shape), 0, 255).astype(np.uint8)
    cv2.fillPoly(frame, [np.round(face.regions.lips_outer).astype(np.int32)], (150, 60, 60))
    return frame, face


def mouth_patch(frame: np.ndarray, face: Face, opening: float = 8.0) -> Patch:
    """A 'generated' patch: the source box with a dark open mouth drawn in."""
    box = face.int_box(frame.shape[1], frame.shape[0])
    x1, y1, x2, y2 = box
    image = frame[y1:y2, x1:x2].copy()
    centre = ((x2 - x1) // 2, int(0.78 * (y2 - y1)))
    cv2.ellipse(image, centre, (22, int(opening)), 0, 0, 360, (60, 20, 20), -1)
    return Patch(image=image, box=box)


def dub_frame(frame, face, patch, enhancer=None, maskers=(), blender=None) -> np.ndarray:
    parts = Components(None, None, None, blender or MaskBlender(), enhancer=enhancer,  # type: ignore[arg-type]
                       maskers=list(maskers))  # fmt: skip
    return compose(parts, frame.copy(), patch, face)


def restorer(cls=GFPGANEnhancer, fixture: str = "restorer_brighten.onnx", **options):
    return cls(checkpoint=FIXTURES / fixture, device="cpu", options=options)


def test_identity_restorer_leaves_the_dub_unchanged() -> None:
    frame, face = scene()
    patch = mouth_patch(frame, face)
    plain = dub_frame(frame, face, patch)
    restored = dub_frame(frame, face, patch, restorer(fixture="restorer_identity.onnx"))
    assert np.abs(restored.astype(int) - plain.astype(int)).max() <= 1


def test_brightening_restorer_changes_only_the_lower_face() -> None:
    frame, face = scene()
    patch = mouth_patch(frame, face)
    plain = dub_frame(frame, face, patch)
    restored = dub_frame(frame, face, patch, restorer())
    changed = np.any(restored != plain, axis=2)
    assert face.regions is not None
    width = face.regions.face_width
    region = masks.lower_face_mask(face.regions, (SIZE, SIZE), feather_px=0.08 * width,
                                   dilate_px=0.03 * width) > 0  # fmt: skip
    assert changed.sum() > 2000
    assert not (changed & ~region).any()
    mouth = masks.mouth_mask(face.regions, (SIZE, SIZE)) > 0.99
    assert (restored[mouth].astype(int) - plain[mouth].astype(int)).mean() > 25
    eyes = np.round(face.regions.eyes).astype(int)
    for x, y in eyes:  # eyes and identity above stay the source's
        assert np.array_equal(
            restored[y - 5 : y + 5, x - 5 : x + 5], frame[y - 5 : y + 5, x - 5 : x + 5]
        )


def test_strength_zero_changes_nothing() -> None:
    frame, face = scene()
    patch = mouth_patch(frame, face)
    plain = dub_frame(frame, face, patch)
    assert np.array_equal(dub_frame(frame, face, patch, restorer(strength=0.0)), plain)
    half = dub_frame(frame, face, patch, restorer(strength=0.5))
    full = dub_frame(frame, face, patch, restorer())
    gain = lambda image: (image.astype(float) - plain).sum()  # noqa: E731
    assert 0.35 * gain(full) < gain(half) < 0.65 * gain(full)


def test_mouth_region_restores_only_around_the_lips() -> None:
    frame, face = scene()
    patch = mouth_patch(frame, face)
    plain = dub_frame(frame, face, patch)
    restored = dub_frame(frame, face, patch, restorer(region="mouth"))
    changed = np.any(restored != plain, axis=2)
    assert face.regions is not None
    assert changed.any()
    assert not (changed & ~(masks.mouth_mask(face.regions, (SIZE, SIZE)) > 0)).any()


def test_codeformer_feeds_its_fidelity_input() -> None:
    frame, face = scene()
    patch = mouth_patch(frame, face)
    plain = dub_frame(frame, face, patch)
    faithful = dub_frame(
        frame, face, patch, restorer(CodeFormerEnhancer, "restorer_codeformer.onnx", fidelity=1.0)
    )
    restored = dub_frame(
        frame, face, patch, restorer(CodeFormerEnhancer, "restorer_codeformer.onnx", fidelity=0.0)
    )
    assert np.abs(faithful.astype(int) - plain).max() <= 1
    assert (restored.astype(int) - plain).sum() > 100_000


def test_restoreformer_finds_the_image_among_several_outputs() -> None:
    frame, face = scene()
    patch = mouth_patch(frame, face)
    plain = dub_frame(frame, face, patch)
    restored = dub_frame(
        frame, face, patch, restorer(RestoreFormerEnhancer, "restorer_multi_output.onnx")
    )
    assert (restored.astype(int) - plain).sum() > 100_000


def test_a_missing_model_says_how_to_get_it() -> None:
    with pytest.raises(WeightsMissingError, match=r"lipdub models pull gfpgan-1\.3"):
        GFPGANEnhancer(device="cpu", options={"version": "1.3"}).load()


def _mouth_flicker(enhancer, frames: int = 14, jitter_px: float = 0.8) -> float:
    """Mean absolute frame-to-frame change of the mouth region of a still head whose mouth
    is redrawn every frame and whose tracked landmarks jitter like a real tracker's."""
    frame, face = scene()
    rng = np.random.default_rng(1)
    assert face.regions is not None
    mouth = masks.mouth_mask(face.regions, (SIZE, SIZE), margin_px=12) > 0
    outputs = []
    for index in range(frames):
        noisy = face.regions.map(lambda p: p + rng.normal(0, jitter_px, p.shape).astype(np.float32))
        moved = Face(box=face.box, regions=noisy)
        patch = mouth_patch(frame, face, opening=4 + 6 * abs(np.sin(index * 0.7)))
        outputs.append(dub_frame(frame, moved, patch, enhancer).astype(np.float32))
    return float(
        np.mean([np.abs(b - a)[mouth].mean() for a, b in zip(outputs, outputs[1:], strict=False)])
    )


def test_restoration_adds_no_flicker_on_a_still_head() -> None:
    without = _mouth_flicker(None)
    sharpen = "restorer_sharpen.onnx"
    steady = _mouth_flicker(restorer(GPENEnhancer, sharpen, size=256))
    assert steady <= 1.2 * without
    # The same restorer without the temporal steadying flickers: the check can fail.
    raw = _mouth_flicker(restorer(GPENEnhancer, sharpen, size=256, smoothing=0.0, flicker=None))
    assert raw > 1.3 * without


def _registered(kind: str) -> list[str]:
    from lipdub import plugins

    return sorted(plugins.components(kind))


@pytest.mark.parametrize("name", _registered("enhancers"))
def test_every_enhancer_keeps_the_contract(name: str) -> None:
    """Built on the identity model of its kind: a restoration inside the frame, weights in
    [0, 1], nothing changed; no regions: nothing to do."""
    from lipdub import plugins

    cls = plugins.get_component("enhancers", name)
    fixture = "restorer_codeformer.onnx" if name == "codeformer" else "restorer_identity.onnx"
    options = {"fidelity": 1.0} if name == "codeformer" else {}
    enhancer = cls(checkpoint=FIXTURES / fixture, device="cpu", options=options)
    frame, face = scene()
    frame.setflags(write=False)
    restored = enhancer.enhance(frame, face)
    assert restored is not None
    x1, y1, x2, y2 = restored.box
    assert 0 <= x1 < x2 <= SIZE and 0 <= y1 < y2 <= SIZE
    assert restored.image.shape == (y2 - y1, x2 - x1, 3) and restored.image.dtype == np.uint8
    assert restored.weights.shape == (y2 - y1, x2 - x1)
    assert restored.weights.min() >= 0.0 and restored.weights.max() <= 1.0
    assert np.abs(restored.image.astype(int) - frame[y1:y2, x1:x2]).max() <= 1
    assert enhancer.enhance(frame, Face(box=face.box)) is None
