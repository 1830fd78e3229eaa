"""Maskers (``--masker``) and the weight-free occluder mask: whatever covers the mouth stays
exactly as in the source; masks combine by element-wise minimum."""

from __future__ import annotations

from typing import ClassVar

import cv2
import numpy as np
import pytest

from lipdub import plugins
from lipdub.blenders.box import BoxBlender
from lipdub.blenders.mask import MaskBlender
from lipdub.components import Masker
from lipdub.errors import CheckpointError, InputError
from lipdub.maskers.occlusion import OcclusionMasker
from lipdub.maskers.parsing import ParsingMasker
from lipdub.pipeline.components import resolve_classes
from lipdub.pipeline.compose import combined_mask
from lipdub.testing import lipdub_plugins  # noqa: F401 - fixture
from tests.test_enhancers import FIXTURES, dub_frame, mouth_patch, restorer, scene

MAGENTA = (255, 0, 255)


def occluded_scene():
    """The scene with a magenta 'microphone' over the right half of the mouth."""
    frame, face = scene()
    assert face.regions is not None
    x, y = np.round(face.regions.mouth_corners[1]).astype(int)
    rect = (x - 24, y - 14, x + 6, y + 40)  # over the mouth, past the chin
    cv2.rectangle(frame, rect[:2], rect[2:], MAGENTA, -1)
    inside = np.zeros(frame.shape[:2], bool)
    inside[rect[1] : rect[3] + 1, rect[0] : rect[2] + 1] = True
    return frame, face, inside


def occlusion(**options):
    return OcclusionMasker(
        device="cpu", options={"model": str(FIXTURES / "xseg_key.onnx"), **options}
    )


def parsing():
    return ParsingMasker(device="cpu", options={"model": str(FIXTURES / "bisenet_key.onnx")})


@pytest.mark.parametrize("make", [occlusion, parsing], ids=["occlusion", "parsing"])
def test_an_occluder_over_the_mouth_keeps_its_source_pixels(make) -> None:
    frame, face, inside = occluded_scene()
    patch = mouth_patch(frame, face)
    plain = dub_frame(frame, face, patch)
    masked = dub_frame(frame, face, patch, maskers=[make()])
    assert np.any(plain != frame, axis=2)[inside].sum() > 200  # the dub alone paints over it
    assert np.array_equal(masked[inside], frame[inside])
    mouth_left = np.any(masked != frame, axis=2) & ~inside
    assert mouth_left.sum() > 150  # the rest of the mouth is still redrawn
    # The restorer is held back by the same mask.
    restored = dub_frame(frame, face, patch, enhancer=restorer(), maskers=[make()])
    assert np.array_equal(restored[inside], frame[inside])
    assert (restored.astype(int) - masked).sum() > 50_000


def test_any_blender_is_capped_by_the_maskers() -> None:
    frame, face, inside = occluded_scene()
    masked = dub_frame(frame, face, mouth_patch(frame, face), maskers=[occlusion()],
                       blender=BoxBlender())  # fmt: skip
    assert np.array_equal(masked[inside], frame[inside])


class _Half(Masker):
    name: ClassVar[str] = "test-half"

    def __init__(self, column: int) -> None:
        super().__init__()
        self.column = column

    def mask(self, frame, face, box):
        x1, y1, x2, y2 = box
        weights = np.full((y2 - y1, x2 - x1), 0.8, np.float32)
        weights[:, : self.column - x1] = 0.3
        return weights


def test_masks_combine_by_elementwise_minimum() -> None:
    frame, face = scene()
    box = (40, 40, 200, 200)
    combined = combined_mask([_Half(100), _Half(150)], frame, face, box)
    assert combined is not None
    assert np.allclose(combined[:, : 100 - 40], 0.3)
    assert np.allclose(combined[:, 150 - 40 :], 0.8)
    assert np.allclose(combined[:, 100 - 40 : 150 - 40], 0.3)


def test_weight_free_occluder_mask_keeps_a_dark_handset_out() -> None:
    frame, face = scene()
    assert face.regions is not None
    x, y = np.round(face.regions.mouth_corners[1]).astype(int)
    handset = np.zeros(
        frame.shape[:2], np.uint8
    )  # from the frame's right edge over the mouth corner
    cv2.fillPoly(
        handset, [np.array([[x - 10, y - 12], [255, y - 30], [255, y + 10], [x - 10, y + 22]])], 1
    )
    frame[handset > 0] = (25, 25, 30)
    inside = handset > 0
    patch = mouth_patch(frame, face)
    plain = dub_frame(frame, face, patch)
    aware = dub_frame(frame, face, patch, blender=MaskBlender(occluders=True))
    assert np.any(plain != frame, axis=2)[inside].sum() > 100
    assert np.array_equal(aware[inside], frame[inside])
    assert (np.any(aware != frame, axis=2) & ~inside).sum() > 500  # the mouth is still dubbed
    # Without an occluder it changes nothing: the mouth and lips are not objects.
    clean, clean_face = scene()
    clean_patch = mouth_patch(clean, clean_face)
    assert np.array_equal(
        dub_frame(clean, clean_face, clean_patch, blender=MaskBlender(occluders=True)),
        dub_frame(clean, clean_face, clean_patch),
    )


def test_a_wrong_model_is_one_clear_line() -> None:
    wrong = OcclusionMasker(device="cpu", options={"model": str(FIXTURES / "wav2lip_tiny.onnx")})
    with pytest.raises(CheckpointError) as error:
        wrong.load()
    assert "XSeg" in str(error.value) and "\n" not in str(error.value)
    wrong = ParsingMasker(device="cpu", options={"model": str(FIXTURES / "xseg_key.onnx")})
    with pytest.raises(CheckpointError, match="BiSeNet"):
        wrong.load()


def test_masker_options_go_to_one_masker_or_all() -> None:
    model = str(FIXTURES / "xseg_key.onnx")
    classes = resolve_classes("warp", maskers=("occlusion", "parsing"),
                              options={"masker": {"occlusion.model": model}})  # fmt: skip
    assert [cls.name for cls in classes.maskers] == ["occlusion", "parsing"]
    with pytest.raises(InputError, match="classes"):
        resolve_classes("warp", maskers=("occlusion",), options={"masker": {"classes": "1"}})
    with pytest.raises(InputError, match="no masker"):
        resolve_classes("warp", options={"masker": {"model": model}})
    with pytest.raises(InputError, match="no masker 'parsing'"):
        resolve_classes(
            "warp", maskers=("occlusion",), options={"masker": {"parsing.model": model}}
        )


def test_a_plugin_masker_is_chosen_by_name(lipdub_plugins) -> None:  # noqa: F811
    from lipdub.testing import plugin_module

    def register_maskers(register):
        register(_Half)

    lipdub_plugins.register(plugin_module("half-masker", register_maskers=register_maskers))
    classes = resolve_classes("warp", maskers=("test-half",))
    assert classes.maskers == (_Half,)


@pytest.mark.parametrize("name", sorted(plugins.components("maskers")))
def test_every_masker_keeps_the_contract(name: str) -> None:
    """A box-sized float mask in [0, 1], for boxes at the frame's edge and faces without
    regions too; a read-only frame is not modified."""
    from lipdub.types import Face

    fixtures = {"occlusion": "xseg_key.onnx", "parsing": "bisenet_key.onnx"}
    cls = plugins.get_component("maskers", name)
    options = {"model": str(FIXTURES / fixtures[name])} if name in fixtures else {}
    masker = cls(device="cpu", options=options)
    frame, face, _ = occluded_scene()
    frame.setflags(write=False)
    for box in ((40, 20, 220, 236), (0, 0, 256, 256), (200, 200, 256, 256)):
        for case in (face, Face(box=face.box)):
            mask = masker.mask(frame, case, box)
            assert mask.shape == (box[3] - box[1], box[2] - box[0]) and mask.dtype == np.float32
            assert mask.min() >= 0.0 and mask.max() <= 1.0
