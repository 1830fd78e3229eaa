"""The ``lipdub`` entry point: registers the extractors, generators, model weights and training
networks of this distribution."""

from __future__ import annotations

from collections.abc import Callable

from lipdub.hookspecs import hookimpl
from lipdub.training.network_spec import TrainingNetworks
from lipdub.weights.spec import WeightSpec

#: The pretrained speech models the extractors default to (Hugging Face repositories).
MODEL_SPECS = (
    WeightSpec(
        name="hubert-base",
        filename="",
        sha256="",
        size=377_000_000,
        repos=("facebook/hubert-base-ls960",),
        description="HuBERT base (LibriSpeech 960 h): the `hubert` extractor's default model",
        licence="Apache-2.0 (facebook/hubert-base-ls960 model card)",
        used_by=("hubert", "wav2lip-hubert"),
        snapshot=True,
    ),
    WeightSpec(
        name="contentvec",
        filename="",
        sha256="",
        size=378_000_000,
        repos=("lengyue233/content-vec-best",),
        description="ContentVec (HuBERT architecture + final projection), transformers format",
        licence="MIT (ContentVec); check the model card",
        used_by=("contentvec", "wav2lip-contentvec"),
        snapshot=True,
    ),
)


@hookimpl
def register_audio_extractors(register: Callable[[type], None]) -> None:
    from lipdub_hubert.contentvec import ContentVecExtractor
    from lipdub_hubert.hubert import HubertExtractor

    register(HubertExtractor)
    register(ContentVecExtractor)


@hookimpl
def register_generators(register: Callable[[type], None]) -> None:
    from lipdub_hubert.generators import Wav2LipContentVecGenerator, Wav2LipHubertGenerator

    register(Wav2LipHubertGenerator)
    register(Wav2LipContentVecGenerator)


@hookimpl
def register_weights(register: Callable[[WeightSpec], None]) -> None:
    for spec in MODEL_SPECS:
        register(spec)


@hookimpl
def register_training_networks(register: Callable[[TrainingNetworks], None]) -> None:
    from lipdub_hubert.training import AttentionNetworks

    register(AttentionNetworks("hubert"))
    register(AttentionNetworks("contentvec"))
