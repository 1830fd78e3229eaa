"""The ``wav2lip-hubert`` and ``wav2lip-contentvec`` generators.

Wav2Lip's face encoder/decoder with the attention audio encoder, run like ``wav2lip`` (batched,
96x96 BGR faces) on windows of 10 extractor frames (0.2 s) per video frame. There are no public
weights: ``--checkpoint`` must be a lipdub checkpoint of the same architecture, and its metadata
(extractor, model, layer, feature width) must match the features it is given.

Options: ``batch_size``. The extractor of the run is checked against the checkpoint
(:meth:`Wav2LipHubertGenerator.check_extractor`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from lipdub.components import AudioExtractor
from lipdub.errors import CheckpointError, WeightsMissingError
from lipdub.generators.wav2lip import Wav2LipGenerator

if TYPE_CHECKING:  # torch and the networks load only when the generator runs
    import torch
    from torch import nn

    from lipdub_hubert.checkpoint import NetworkMeta


class Wav2LipHubertGenerator(Wav2LipGenerator):
    """Wav2Lip driven by HuBERT features (the seed paper's generator)."""

    name: ClassVar[str] = "wav2lip-hubert"
    description: ClassVar[str] = "Wav2Lip with a self-attention HuBERT audio encoder"
    audio_extractor: ClassVar[str] = "hubert"
    audio_window_seconds: ClassVar[float] = 0.2
    needs_weights: ClassVar[bool] = True
    default_weights: ClassVar[str | None] = None

    def __init__(
        self,
        checkpoint: Path | None = None,
        device: str = "auto",
        precision: str = "auto",
        options: Any = None,
        **values: Any,
    ) -> None:
        super().__init__(checkpoint, device, precision, options, **values)
        self._meta: NetworkMeta | None = None

    def checkpoint_path(self) -> Path:
        if self.checkpoint is None:
            raise WeightsMissingError(
                f"{self.name} has no public weights; pass --checkpoint CKPT (a checkpoint "
                "trained with lipdub on the same features)"
            )
        return Path(self.checkpoint)

    @property
    def meta(self) -> NetworkMeta:
        """What the checkpoint was trained on (loads the network on first use)."""
        self.model  # noqa: B018 - loading sets the metadata
        assert self._meta is not None
        return self._meta

    def build_model(self) -> nn.Module:
        from lipdub_hubert.checkpoint import check_features, load_network

        path = self.checkpoint_path()
        network, meta = load_network(path, arch=self.name)
        check_features(meta, self.audio_extractor, where=f"checkpoint {path.name}")
        self._meta = meta
        return network

    def check_extractor(self, extractor: AudioExtractor) -> None:
        """Raise :class:`CheckpointError` unless ``extractor`` makes the checkpoint's features."""
        from lipdub_hubert.checkpoint import check_features

        check_features(
            self.meta,
            extractor.name,
            model=getattr(extractor, "model_label", None),
            layer=getattr(extractor, "layer", None),
            feature_dim=getattr(extractor, "feature_dim", None),
            projected=getattr(extractor, "projected", None),
            where=f"checkpoint {self.checkpoint_path().name}",
        )

    def extractor_defaults(self) -> dict[str, Any]:
        """Extractor options the checkpoint was trained with (to use when none are given)."""
        defaults: dict[str, Any] = {"layer": self.meta.layer}
        if self.meta.projected is not None:
            defaults["projected"] = self.meta.projected
        return defaults

    def audio_tensor(self, windows: np.ndarray) -> torch.Tensor:
        """Feature windows ``(B, 10, D)`` -> the attention encoder's input (same shape)."""
        import torch

        windows = np.asarray(windows, dtype=np.float32)
        expected = (self.meta.window_frames, self.meta.feature_dim)
        if windows.ndim != 3 or windows.shape[1:] != expected:
            raise CheckpointError(
                f"{self.name} checkpoint expects {expected[1]}-d {self.meta.extractor} features "
                f"in windows of {expected[0]} frames, got windows of shape {windows.shape[1:]}"
            )
        return torch.from_numpy(np.ascontiguousarray(windows))


class Wav2LipContentVecGenerator(Wav2LipHubertGenerator):
    """Wav2Lip driven by ContentVec features."""

    name: ClassVar[str] = "wav2lip-contentvec"
    description: ClassVar[str] = "Wav2Lip with a self-attention ContentVec audio encoder"
    audio_extractor: ClassVar[str] = "contentvec"
