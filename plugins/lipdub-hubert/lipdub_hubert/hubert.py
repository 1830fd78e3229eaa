"""The ``hubert`` audio extractor: hidden states of a transformers ``HubertModel``."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
from lipdub.components import AudioExtractor
from lipdub.errors import CheckpointError, InputError
from pydantic import Field

from lipdub_hubert import chunking
from lipdub_hubert.resolve import ResolvedModel, resolve_model

log = logging.getLogger(__name__)

#: Bump when the way features are computed changes, so cached features are recomputed.
FEATURE_VERSION = 1
#: Missing checkpoint keys that do not take part in inference.
_UNUSED_KEYS = ("masked_spec_embed",)


def _receptive_field_and_hop(kernels: Any, strides: Any) -> tuple[int, int]:
    field, hop = 1, 1
    for kernel, stride in zip(kernels, strides, strict=True):
        field += (kernel - 1) * hop
        hop *= stride
    return field, hop


class HubertExtractor(AudioExtractor):
    """HuBERT hidden states, 50 frames per second, computed in overlapping chunks."""

    name: ClassVar[str] = "hubert"
    description: ClassVar[str] = "HuBERT hidden states (transformers), 50 frames/s, chunked"
    frames_per_second: ClassVar[float] = 50.0
    #: What the user-facing messages call the model.
    model_title: ClassVar[str] = "HuBERT"
    default_model: ClassVar[str] = "facebook/hubert-base-ls960"
    #: Name to give ``lipdub models pull`` in error messages.
    pull_name: ClassVar[str] = "hubert-base"

    class Options(AudioExtractor.Options):
        model: str | None = Field(
            None, description="A save_pretrained folder or a hub id (default: the class's)."
        )
        layer: int | None = Field(
            None,
            description="Hidden state: 0 = input of the first transformer layer, default the "
            "last; negative counts from the end.",
        )
        chunk_seconds: float | None = Field(
            5.0, ge=0.0, description="Chunk length in seconds; 0 or none runs the whole audio."
        )
        overlap_seconds: float = Field(0.5, ge=0.0, description="Overlap between chunks.")
        normalize: bool = Field(
            False, description="Zero-mean unit-variance input (off, as in HuBERT pre-training)."
        )
        device: str = Field("cpu", description="Torch device the model runs on.")

    options: Options

    def __init__(self, options: Any = None, **values: Any) -> None:
        super().__init__(options, **values)
        from transformers import HubertConfig

        model, layer = self.options.model, self.options.layer
        chunk_seconds, overlap_seconds = self.options.chunk_seconds, self.options.overlap_seconds

        self.resolved: ResolvedModel = resolve_model(
            model or self.default_model, self.model_title, self.pull_name
        )
        self.config = HubertConfig.from_pretrained(self.resolved.path, local_files_only=True)
        field, hop = _receptive_field_and_hop(self.config.conv_kernel, self.config.conv_stride)
        if (field, hop) != (chunking.RECEPTIVE_FIELD, chunking.HOP):
            raise InputError(
                f"{self.model_title} model {self.resolved.label!r} has a {hop}-sample hop and "
                f"{field}-sample receptive field; only the standard 320/400 (50 frames/s) works"
            )
        layers = self.config.num_hidden_layers
        if layer is None:
            layer = layers
        if not -(layers + 1) <= layer <= layers:
            raise InputError(
                f"extractor {self.name!r}: option layer={layer} is out of range: "
                f"{self.model_title} model "
                f"{self.resolved.label!r} has hidden states 0..{layers}"
            )
        self.layer = layer % (layers + 1)
        if chunk_seconds is not None and chunk_seconds <= 0:
            chunk_seconds = None
        if chunk_seconds is not None and not 0 <= overlap_seconds < chunk_seconds:
            raise InputError(
                f"extractor {self.name!r}: option overlap_seconds must be less than chunk_seconds"
            )
        self.chunk_seconds = chunk_seconds
        self.overlap_seconds = float(overlap_seconds) if chunk_seconds is not None else 0.0
        self.normalize = self.options.normalize
        self.device = self.options.device
        self._model: Any = None

    # -- what the features are -------------------------------------------------------------

    @property
    def model_label(self) -> str:
        """The model as the user named it (hub id, or the folder's name)."""
        return self.resolved.label

    @property
    def feature_dim(self) -> int:
        """Width of each feature frame."""
        return int(self.config.hidden_size)

    def _identity_options(self) -> dict[str, Any]:
        return {
            "model": f"{self.resolved.label}@{self.resolved.fingerprint}",
            "layer": self.layer,
            "chunk": self.chunk_seconds,
            "overlap": self.overlap_seconds,
            "normalize": self.normalize,
        }

    def identity(self) -> str:
        opts = ",".join(f"{k}={v}" for k, v in self._identity_options().items())
        return f"{self.name}/v{FEATURE_VERSION}({opts})"

    # -- loading ------------------------------------------------------------------------------

    def _model_class(self) -> type:
        from transformers import HubertModel

        return HubertModel

    def _required_missing(self, missing: list[str]) -> list[str]:
        return [key for key in missing if not key.endswith(_UNUSED_KEYS)]

    def _missing_hint(self, missing: list[str]) -> str:
        return ""

    def load(self) -> Any:
        """Load the model (once) and return it, in eval mode."""
        if self._model is not None:
            return self._model
        import transformers

        verbosity = transformers.logging.get_verbosity()
        transformers.logging.set_verbosity_error()
        try:
            model, info = self._model_class().from_pretrained(
                self.resolved.path, local_files_only=True, output_loading_info=True
            )
        except (OSError, ValueError, RuntimeError) as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise CheckpointError(
                f"cannot load {self.model_title} model from {str(self.resolved.path)!r}: "
                f"{type(exc).__name__}: {first_line}"
            ) from None
        finally:
            transformers.logging.set_verbosity(verbosity)
        missing = self._required_missing(list(info.get("missing_keys", [])))
        if missing:
            raise CheckpointError(
                f"{self.model_title} model {self.resolved.label!r} lacks weights for "
                f"{len(missing)} parameters (e.g. {missing[0]}); refusing to use random weights"
                + self._missing_hint(missing)
            )
        if self.layer < self.config.num_hidden_layers and not self.config.do_stable_layer_norm:
            # Hidden state N is then exactly the output of the first N layers: skip the rest.
            model.encoder.layers = model.encoder.layers[: self.layer]
        self._model = model.to(self.device).eval()
        return self._model

    def close(self) -> None:
        self._model = None

    # -- extraction ----------------------------------------------------------------------------

    def _hidden(self, model: Any, audio: Any) -> Any:
        truncated = len(model.encoder.layers) == self.layer
        if truncated:
            return model(audio).last_hidden_state
        return model(audio, output_hidden_states=True).hidden_states[self.layer]

    def _run_chunk(self, piece: np.ndarray) -> np.ndarray:
        import torch

        model = self.load()
        with torch.inference_mode():
            audio = torch.from_numpy(np.ascontiguousarray(piece))[None].to(self.device)
            hidden = self._hidden(model, audio)
            return hidden[0].float().cpu().numpy()

    def extract(self, wav: np.ndarray) -> np.ndarray:
        """``(round(duration * 50), feature_dim)`` float32 features of 16 kHz mono ``wav``."""
        wav = np.asarray(wav, dtype=np.float32)
        if wav.ndim != 1:
            raise InputError(f"{self.name} extractor expects mono audio, got shape {wav.shape}")
        if self.normalize and wav.size:
            wav = (wav - wav.mean()) / np.sqrt(wav.var() + 1e-7)
        return chunking.extract_chunked(
            wav,
            self._run_chunk,
            self.feature_dim,
            chunk_seconds=self.chunk_seconds,
            overlap_seconds=self.overlap_seconds,
            frames_per_second=self.frames_per_second,
        )
