"""A frozen AV-HuBERT ready to embed videos: weights resolution, one shared model per file,
and the per-frame features of a video's mouth crops and audio."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from lipdub.errors import WeightsMissingError

FPS = 25.0
#: Cached files looked for (first found wins) when no ``--avhubert`` is given.
CACHED_FILES = ("large_vox_iter5.pt", "base_vox_iter5.pt", "base_lrs3_iter5.pt")
PULL_HINT = "pass --avhubert CKPT, or run `lipdub models pull avhubert-large` while online"


def avhubert_weights(path: Path | str | None, needed_by: str = "the AV-HuBERT metrics") -> Path:
    """The checkpoint to load: ``path``, else a released file in the model cache."""
    from lipdub.weights.registry import models_dir

    if path is not None and str(path):
        path = Path(path).expanduser()
        if not path.is_file():
            raise WeightsMissingError(
                f"AV-HuBERT checkpoint {path} does not exist or is not a file"
            )
        return path
    for name in CACHED_FILES:
        if (models_dir() / name).is_file():
            return models_dir() / name
    raise WeightsMissingError(f"{needed_by} need AV-HuBERT weights: {PULL_HINT}")


@dataclass
class Expert:
    """A loaded AV-HuBERT and the features it has computed (keyed by the caller)."""

    model: Any
    normalize: bool
    device: str
    cache: dict[tuple[Any, ...], np.ndarray] = field(default_factory=dict)

    def features(self, rois: np.ndarray | None, audio: np.ndarray | None) -> np.ndarray:
        """(T, dim) float32 features of (T, 88, 88) crops and/or (T, 104) audio features."""
        import torch

        with torch.inference_mode():
            video = None if rois is None else torch.from_numpy(rois)[None, None].to(self.device)
            sound = None if audio is None else torch.from_numpy(audio).T[None].to(self.device)
            return self.model.extract(video, sound)[0].float().cpu().numpy()


_experts: dict[tuple[str, str], Expert] = {}


def shared_expert(path: Path, device: str = "cpu") -> Expert:
    """One loaded model per (file, device) for all metrics of a run."""
    from lipdub_avhubert.checkpoint import load_avhubert

    key = (str(Path(path).resolve()), device)
    if key not in _experts:
        model, normalize = load_avhubert(path, device)
        _experts[key] = Expert(model, normalize, device)
    return _experts[key]


def release(path: Path, device: str = "cpu") -> None:
    """Forget the shared model of ``path`` (metrics call it in ``close``)."""
    _experts.pop((str(Path(path).resolve()), device), None)


def cosine_per_frame(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of matching rows (over the shorter of the two lengths)."""
    frames = min(len(a), len(b))
    a, b = a[:frames].astype(np.float64), b[:frames].astype(np.float64)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return (a * b).sum(axis=1) / np.maximum(norms, 1e-12)
