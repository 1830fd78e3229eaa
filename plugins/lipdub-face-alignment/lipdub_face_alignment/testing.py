"""Seeded stand-in weights for tests: face-alignment's own S3FD and FAN networks with random
weights, saved under the public file names (nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path

from lipdub_face_alignment.weights import FAN_FILES, S3FD


def write_seeded_weights(folder: Path, seed: int = 0) -> Path:
    """Write ``s3fd-619a316812.pth`` and ``2DFAN4-11f355bf06.pth.tar`` (state dicts in the
    public layout) into ``folder`` (e.g. lipdub's model cache); returns ``folder``."""
    import torch
    from face_alignment.detection.sfd.net_s3fd import s3fd
    from face_alignment.models import FAN

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    torch.save(s3fd().state_dict(), folder / S3FD.filename)
    torch.save(FAN(4).state_dict(), folder / FAN_FILES["2d"])
    return folder
