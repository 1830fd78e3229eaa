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

FAN_SOURCE = "https://www.adrianbulat.com/downloads/python-fan/"


def _fan(name: str, filename: str, what: str) -> WeightSpec:
    # The source publishes the first 10 hex digits of the SHA-256 in the file name (torch
    # hub's convention, which face-alignment checks too) and no size: a pull checks those.
    return WeightSpec(
        name=name,
        filename=filename,
        sha256=filename.rsplit("-", 1)[1].split(".", 1)[0],
        size=0,
        repos=(),
        description=what,
        licence="BSD-3-Clause (face-alignment); check the source before commercial use",
        used_by=("face-alignment",),
        urls=(FAN_SOURCE + filename,),
    )


#: FAN landmark models by the tracker's ``landmark_model`` option.
FAN = {
    "2d": _fan("fan-2d", "2DFAN4-11f355bf06.pth.tar", "FAN 2D 68-point landmarks (2DFAN4)"),
    "2.5d": _fan("fan-2.5d", "3DFAN4-7835d9f11d.pth.tar", "FAN 2.5D 68-point landmarks"),
}
FAN_FILES = {model: spec.filename for model, spec in FAN.items()}


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
    spec = FAN[model]
    path = _first_file(spec.filename)
    if path is None:
        raise WeightsMissingError(
            f"the face-alignment tracker needs {spec.filename}: run `lipdub models pull "
            f"{spec.name}` while online, or copy it to {_models_dir() / spec.filename}"
        )
    return path
