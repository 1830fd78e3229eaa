"""The S3FD and FAN files face-alignment needs, and where the tracker finds them locally.

face-alignment downloads its models when it is constructed; lipdub never downloads during a
dub. The tracker looks in lipdub's model cache (``lipdub models pull s3fd``) and then in the
torch hub cache (``$TORCH_HOME/hub/checkpoints``, where face-alignment itself keeps them), and
hands the paths to face-alignment; a missing file is a one-line error saying how to get it.
"""

from __future__ import annotations

from pathlib import Path

from lipdub.errors import WeightsMissingError
from lipdub.weights.spec import WeightSpec

S3FD = WeightSpec(
    name="s3fd",
    filename="s3fd-619a316812.pth",
    sha256="619a31681264d3f7f7fc7a16a42cbbe8b23f31a256f75a366e5a1bcd59b33543",
    size=89_843_225,
    repos=("camenduru/facexlib", "wsj1995/sadTalker"),
    description="S3FD face detector (face-alignment's; the boxes Wav2Lip was trained on)",
    licence="BSD-3-Clause (face-alignment); check the source before commercial use",
    used_by=("face-alignment",),
)

#: FAN landmark models by the tracker's ``landmark_model`` option. Their source publishes
#: only the first 10 hex digits of the SHA-256 (in the file name) and no Hugging Face copy,
#: so they are not pull-able: face-alignment's own cache or a copy in lipdub's is used.
FAN_FILES = {
    "2d": "2DFAN4-11f355bf06.pth.tar",
    "2.5d": "3DFAN4-7835d9f11d.pth.tar",
}
FAN_SOURCE = "https://www.adrianbulat.com/downloads/python-fan/"


def torch_hub_checkpoints() -> Path:
    """The torch hub cache folder face-alignment reads and writes its models in."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def _models_dir() -> Path:
    from lipdub.weights.registry import models_dir

    return models_dir()


def _first_file(filename: str) -> Path | None:
    for folder in (_models_dir(), torch_hub_checkpoints()):
        path = folder / filename
        if path.is_file():
            return path
    return None


def detector_path() -> Path:
    """The local S3FD file; :class:`WeightsMissingError` naming the pull command otherwise."""
    path = _first_file(S3FD.filename)
    if path is None:
        raise WeightsMissingError(
            f"the face-alignment tracker needs {S3FD.filename}: run `lipdub models pull "
            f"{S3FD.name}` while online ({S3FD.size / 1e6:.0f} MB)"
        )
    return path


def landmark_path(model: str) -> Path:
    """The local FAN file for ``model`` (a key of :data:`FAN_FILES`)."""
    filename = FAN_FILES[model]
    path = _first_file(filename)
    if path is None:
        raise WeightsMissingError(
            f"the face-alignment tracker needs {filename} (not pull-able): download "
            f"{FAN_SOURCE}{filename} and copy it to {_models_dir() / filename}"
        )
    return path
