"""Every registered component keeps its kind's contract (lipdub.contracts), built-ins and
installed first-party plugins alike; a new component without a way to build it here fails."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lipdub import contracts, plugins
from lipdub.testing import check_blender, check_extractor, check_generator, check_tracker
from tests.conftest import astronaut_face

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """Seeded tiny HuBERT / ContentVec models and generator checkpoints for them."""
    pytest.importorskip("lipdub_hubert")
    from lipdub_hubert.checkpoint import NetworkMeta, make_random_checkpoint
    from lipdub_hubert.contentvec import hubert_with_final_proj
    from lipdub_hubert.tiny import tiny_config
    from transformers import HubertModel

    root = tmp_path_factory.mktemp("contract-models")
    torch.manual_seed(0)
    HubertModel(tiny_config()).save_pretrained(root / "hubert")
    hubert_with_final_proj()(tiny_config()).save_pretrained(root / "contentvec")
    paths = {"hubert": root / "hubert", "contentvec": root / "contentvec"}
    for arch, extractor, dim in (("wav2lip-hubert", "hubert", 32),
                                 ("wav2lip-contentvec", "contentvec", 16)):  # fmt: skip
        projected = True if extractor == "contentvec" else None
        meta = NetworkMeta(arch=arch, extractor=extractor, model=extractor, layer=2,
                           feature_dim=dim, projected=projected)  # fmt: skip
        paths[arch] = make_random_checkpoint(root / f"{arch}.pth", meta, seed=1)
    return paths


def _extractor(name: str, models: Callable[[], dict[str, Path]]) -> Any:
    cls = plugins.get_component("audio_extractors", name)
    if name in ("hubert", "contentvec"):
        return cls(model=str(models()[name]))
    return cls()


def _names(kind: str) -> list[str]:
    return sorted(plugins.components(kind))


@pytest.mark.parametrize("name", _names("blenders"))
def test_blender_contract(name) -> None:
    check_blender(plugins.get_component("blenders", name)())


@pytest.mark.parametrize("name", _names("audio_extractors"))
def test_extractor_contract(name, request) -> None:
    check_extractor(_extractor(name, lambda: request.getfixturevalue("tiny_models")))


@pytest.mark.parametrize("name", _names("generators"))
def test_generator_contract(name, request, seeded_checkpoint) -> None:
    cls = plugins.get_component("generators", name)
    checkpoint = None
    if name in ("wav2lip", "wav2lip-gan"):
        checkpoint = seeded_checkpoint
    elif name == "wav2lip-onnx":  # a tiny model with the real files' inputs and outputs
        checkpoint = Path(__file__).parent / "fixtures" / "onnx" / "wav2lip_tiny.onnx"
    elif cls.needs_weights:
        models = request.getfixturevalue("tiny_models")
        assert name in models, f"no contract checkpoint for generator {name!r}: add one here"
        checkpoint = models[name]
    generator = cls(checkpoint=checkpoint, device="cpu", precision="fp32")
    extractor = _extractor(cls.audio_extractor, lambda: request.getfixturevalue("tiny_models"))
    generator.check_extractor(extractor)
    check_generator(generator, extractor)


def _tracker_frames() -> list[np.ndarray]:
    face = astronaut_face(256)
    edge = np.zeros_like(face)
    edge[:, :181] = face[:, 75:]  # the face cut by the frame's left edge
    return [face, face, edge, np.zeros_like(face)]


@pytest.mark.parametrize("name", _names("face_trackers"))
def test_tracker_contract(name, tmp_path, monkeypatch) -> None:
    stand_in = contextlib.nullcontext()
    if name == "face-alignment":  # seeded S3FD and FAN in an isolated model cache
        from lipdub_face_alignment.testing import stand_in_box, write_seeded_weights

        monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
        # Faceless S3FD runs fast (random S3FD scores every pixel a face); a stand-in box
        # where it finds none gives FAN, the regions and detect_batch a face.
        write_seeded_weights(Path(os.environ["LIPDUB_HOME"]) / "models", faceless=True)
        stand_in = stand_in_box((60.0, 40.0, 196.0, 200.0))
        options = {"max_faces": 1, "flip_input": False}
    else:
        options = {}
    tracker = plugins.get_component("face_trackers", name)(options)
    frames = _tracker_frames()
    if name == "face-alignment":  # FAN on CPU is slow: the cut face and an empty frame
        frames = frames[2:]
    with stand_in:
        seen = check_tracker(tracker, frames)
    if name == "face-alignment":
        assert seen >= 1  # the cut face (the stand-in box skips the blank frame)
    if name == "mediapipe":
        assert seen >= 3  # the face, again, and the cut one


def test_the_checks_catch_broken_components() -> None:
    """The contract checks fail on components that break them (they are not vacuous)."""

    class Spills(plugins.KINDS["blenders"]):
        name = "spills"

        def blend(self, frame, patch, face):
            frame = frame.copy()
            frame[0, 0] = 255 - frame[0, 0]  # outside every patch box in the cases
            return frame

    class Short(plugins.KINDS["generators"]):
        name = "short"
        needs_weights = False
        audio_extractor = "articulation"

        def generate(self, items):
            return []

    class BatchLoses(plugins.KINDS["face_trackers"]):
        name = "batch-loses"

        def detect(self, frame):
            return [contracts.synthetic_face()]

        def detect_batch(self, frames):
            return [[] for _ in frames]  # drops the faces detect finds

    with pytest.raises(AssertionError, match="outside the patch box"):
        check_blender(Spills())
    with pytest.raises(AssertionError, match="detect found 1 faces, detect_batch 0"):
        check_tracker(BatchLoses(), [contracts.synthetic_frame()] * 2)
    with pytest.raises(AssertionError, match="3 inputs gave 0 patches"):
        check_generator(Short())


def test_synthetic_face_has_its_regions_in_the_canonical_order() -> None:
    regions = contracts.synthetic_face().regions
    assert regions is not None
    left, right = regions.mouth_corners
    assert left[0] < right[0]
    assert regions.lower_lip_inner[1] > regions.upper_lip_inner[1]
    assert regions.chin[1] > regions.nose_tip[1] > regions.eyes[:, 1].max()
    assert regions.forehead[1] < regions.eyes[:, 1].min()
