"""The original SyncNet in the public ``syncnet_v2`` layout, and the reference crop geometry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lipdub.errors import CheckpointError
from lipdub.eval import load_syncnet_v2
from lipdub.eval.sync_eval import CROP_SIZE, PAD_VALUE, face_runs, reference_crop
from lipdub.eval.syncnet_v2 import save_syncnet_v2, seeded_syncnet_v2
from lipdub.models.checkpoint import layouts


@pytest.fixture(scope="module")
def syncnet_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("syncnet") / "syncnet_v2.model"
    return save_syncnet_v2(seeded_syncnet_v2(0), path)


def test_seeded_weights_are_a_bare_state_dict_in_the_public_layout(syncnet_file: Path) -> None:
    stored = torch.load(syncnet_file, map_location="cpu", weights_only=True)
    assert [(k, tuple(v.shape)) for k, v in stored.items()] == layouts()["syncnet_v2"]


def test_embeddings_load_and_are_deterministic(syncnet_file: Path) -> None:
    first, second = load_syncnet_v2(syncnet_file), load_syncnet_v2(syncnet_file)
    rng = np.random.default_rng(0)
    video = rng.uniform(0, 255, (2, 3, 5, 224, 224)).astype(np.float32)
    audio = rng.normal(0, 10, (3, 1, 13, 20)).astype(np.float32)
    v1, v2 = first.embed_video(video), second.embed_video(torch.from_numpy(video))
    a1, a2 = first.embed_audio(audio), second.embed_audio(audio)
    assert v1.shape == (2, 1024) and a1.shape == (3, 1024)
    assert torch.equal(v1, v2) and torch.equal(a1, a2)
    assert not torch.allclose(v1[0], v1[1])  # responds to its input
    # a batch of one gives the same embedding as inside a batch (eval-mode batch norm)
    torch.testing.assert_close(first.embed_audio(audio[1:2])[0], a1[1], rtol=1e-4, atol=1e-3)
    with pytest.raises(ValueError, match="224"):
        first.embed_video(video[:, :, :, :96])


def test_other_checkpoints_are_refused_with_what_they_are(tmp_path: Path) -> None:
    from lipdub.models.checkpoint import save_checkpoint
    from lipdub.models.syncnet import SyncNetColor

    expert = save_checkpoint(SyncNetColor(), tmp_path / "lipsync_expert.pth")
    with pytest.raises(CheckpointError, match="not a syncnet_v2.*syncnet_color"):
        load_syncnet_v2(expert)
    page = tmp_path / "syncnet_v2.model"
    page.write_text("<html>not found</html>")
    with pytest.raises(CheckpointError, match="web page"):
        load_syncnet_v2(page)


def test_face_runs_interpolate_short_gaps_and_skip_short_runs() -> None:
    box = (40.0, 50.0, 140.0, 170.0)
    boxes = [box] * 10 + [None] * 3 + [box] * 10 + [None] * 40 + [box] * 4
    runs = face_runs(boxes)
    assert [(run.start, run.stop) for run in runs] == [(0, 23)]
    assert np.allclose(runs[0].size, 60.0)  # half the larger side
    assert np.allclose(runs[0].cx, 90.0) and np.allclose(runs[0].cy, 110.0)


def test_reference_crop_geometry_and_grey_padding() -> None:
    frame = np.zeros((200, 200, 3), np.uint8)
    frame[100:, :] = 255  # bottom half white
    crop = reference_crop(frame, size=50.0, cx=100.0, cy=100.0)
    assert crop.shape == (CROP_SIZE, CROP_SIZE, 3)
    # rows cy-s .. cy+1.8s: the top 50 of 140 source rows are black, the rest white
    assert crop[:70].max() == 0 and crop[90:].min() == 255
    corner = reference_crop(frame, size=50.0, cx=10.0, cy=10.0)
    assert (corner[:20, :20] == PAD_VALUE).all()  # outside the frame: grey 110
