"""Seeded stand-in weights for tests and benchmarks: face-alignment's own S3FD and FAN
networks with random weights, saved under the public file names (nothing is downloaded)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lipdub_face_alignment.weights import FAN_FILES, S3FD

#: S3FD's classification heads and the channel of each that scores "face".
S3FD_FACE_CHANNELS = {
    "conv3_3_norm_mbox_conf": 3,
    "conv4_3_norm_mbox_conf": 1,
    "conv5_3_norm_mbox_conf": 1,
    "fc7_mbox_conf": 1,
    "conv6_2_mbox_conf": 1,
    "conv7_2_mbox_conf": 1,
}


def write_seeded_weights(folder: Path, seed: int = 0, faceless: bool = False) -> Path:
    """Write ``s3fd-619a316812.pth`` and ``2DFAN4-11f355bf06.pth.tar`` (state dicts in the
    public layout) into ``folder`` (e.g. lipdub's model cache); returns ``folder``.

    Random S3FD scores most of a frame as faces, so face-alignment's post-processing walks
    hundreds of thousands of candidates (far slower than a trained S3FD); ``faceless`` gives
    S3FD's "face" channels a large negative score instead, so the networks cost what real
    ones do and the detector finds nothing (benchmarks supply a stand-in box)."""
    import torch
    from face_alignment.detection.sfd.net_s3fd import s3fd
    from face_alignment.models import FAN

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    detector = s3fd().state_dict()
    if faceless:
        for layer, channel in S3FD_FACE_CHANNELS.items():
            detector[f"{layer}.weight"][channel] = 0.0
            detector[f"{layer}.bias"][channel] = -50.0
    torch.save(detector, folder / S3FD.filename)
    torch.save(FAN(4).state_dict(), folder / FAN_FILES["2d"])
    return folder


@contextmanager
def stand_in_box(box: tuple[float, float, float, float], score: float = 0.99) -> Iterator[None]:
    """While open, the tracker's S3FD results (one frame or a batch) are ``[(box, score)]``
    for every frame that is not blank where S3FD found no face (e.g. with ``faceless``
    weights): S3FD still runs, and FAN, the regions and the Wav2Lip box get a face."""
    from lipdub_face_alignment.tracker import FaceAlignmentTracker

    single, batch = FaceAlignmentTracker.detector_boxes, FaceAlignmentTracker.detector_boxes_batch
    stand_in = [(tuple(map(float, box)), float(score))]

    def one(self: FaceAlignmentTracker, frame: Any) -> Any:
        return single(self, frame) or (stand_in if frame.any() else [])

    def several(self: FaceAlignmentTracker, frames: Any) -> Any:
        found = batch(self, frames)
        return [got or (stand_in if f.any() else []) for got, f in zip(found, frames, strict=True)]

    FaceAlignmentTracker.detector_boxes = one  # type: ignore[method-assign]
    FaceAlignmentTracker.detector_boxes_batch = several  # type: ignore[method-assign]
    try:
        yield
    finally:
        FaceAlignmentTracker.detector_boxes = single  # type: ignore[method-assign]
        FaceAlignmentTracker.detector_boxes_batch = batch  # type: ignore[method-assign]
