"""The ``contentvec`` audio extractor: ContentVec in transformers format.

The checkpoint (``lengyue233/content-vec-best``) is a HuBERT model plus ``final_proj``, a
linear layer from the hidden size to ``classifier_proj_size`` (256), both in one state dict.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from lipdub_hubert.hubert import HubertExtractor


def hubert_with_final_proj() -> type:
    """``HubertModel`` with the ContentVec ``final_proj`` layer (built lazily: imports torch)."""
    global _HUBERT_WITH_FINAL_PROJ
    if _HUBERT_WITH_FINAL_PROJ is None:
        from torch import nn
        from transformers import HubertModel

        class HubertWithFinalProj(HubertModel):
            """HuBERT plus the projection ContentVec was trained with."""

            def __init__(self, config: Any) -> None:
                super().__init__(config)
                self.final_proj = nn.Linear(config.hidden_size, config.classifier_proj_size)

        _HUBERT_WITH_FINAL_PROJ = HubertWithFinalProj
    return _HUBERT_WITH_FINAL_PROJ


_HUBERT_WITH_FINAL_PROJ: type | None = None


class ContentVecExtractor(HubertExtractor):
    """ContentVec features: the projected output (256-d, default) or the hidden states."""

    name: ClassVar[str] = "contentvec"
    description: ClassVar[str] = "ContentVec (HuBERT + final projection), 50 frames/s, chunked"
    model_title: ClassVar[str] = "ContentVec"
    default_model: ClassVar[str] = "lengyue233/content-vec-best"
    pull_name: ClassVar[str] = "contentvec"

    class Options(HubertExtractor.Options):
        projected: bool = Field(
            True, description="Apply final_proj (256-d) to the hidden state; false: hidden."
        )

    options: Options

    def __init__(self, options: Any = None, **values: Any) -> None:
        super().__init__(options, **values)
        self.projected = self.options.projected

    @property
    def feature_dim(self) -> int:
        if self.projected:
            return int(self.config.classifier_proj_size)
        return int(self.config.hidden_size)

    def _identity_options(self) -> dict[str, Any]:
        return {**super()._identity_options(), "projected": self.projected}

    def _model_class(self) -> type:
        return hubert_with_final_proj()

    def _required_missing(self, missing: list[str]) -> list[str]:
        required = super()._required_missing(missing)
        if not self.projected:
            required = [key for key in required if not key.startswith("final_proj.")]
        return required

    def _missing_hint(self, missing: list[str]) -> str:
        if any(key.startswith("final_proj.") for key in missing):
            return " (pass --hidden to use its hidden states without the projection)"
        return ""

    def _hidden(self, model: Any, audio: Any) -> Any:
        hidden = super()._hidden(model, audio)
        return model.final_proj(hidden) if self.projected else hidden
