"""The ``lipdub`` entry point: the AV-HuBERT metrics, the weights and the training expert."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lipdub.hookspecs import hookimpl
from lipdub.training.expert_spec import TrainingExpert
from lipdub.weights.spec import WeightSpec

SOURCE = "https://dl.fbaipublicfiles.com/avhubert/model/"
LICENCE = (
    "AV-HuBERT License: non-commercial research use only, including data produced with it "
    "(facebookresearch/av_hubert LICENSE)"
)


def _spec(name: str, path: str, what: str) -> WeightSpec:
    # Not on Hugging Face, and neither digests nor sizes are published: `lipdub models pull`
    # fetches the plain address and checks that a file arrived (loading then checks that it is
    # an AV-HuBERT), and says so.
    return WeightSpec(
        name=name,
        filename=path.rsplit("/", 1)[-1],
        sha256="",
        size=0,
        repos=(),
        description=what,
        licence=LICENCE,
        used_by=("avsu", "avsm", "avsv", "expert avhubert"),
        urls=(SOURCE + path,),
        option="--avhubert",
    )


WEIGHT_SPECS = (
    _spec(
        "avhubert-large",
        "lrs3_vox/clean-pretrain/large_vox_iter5.pt",
        "AV-HuBERT Large pre-trained on LRS3 + VoxCeleb2 (the paper's metrics)",
    ),
    _spec(
        "avhubert-base",
        "lrs3_vox/clean-pretrain/base_vox_iter5.pt",
        "AV-HuBERT Base pre-trained on LRS3 + VoxCeleb2",
    ),
)


@hookimpl
def register_eval_metrics(register: Callable[[type], None]) -> None:
    from lipdub_avhubert.metrics import METRICS

    for metric in METRICS:
        register(metric)


@hookimpl
def register_weights(register: Callable[[WeightSpec], None]) -> None:
    for spec in WEIGHT_SPECS:
        register(spec)


class AVHubertExpert(TrainingExpert):
    """``--expert avhubert``: AV-HuBERT from ``--avhubert CKPT`` (or the model cache).
    Torch and the network load only in :meth:`load`, so registering it stays cheap."""

    name = "avhubert"
    description = "frozen AV-HuBERT: -log CS of audio and generated-lip features (Yaman et al.)"

    def load(self, options: dict[str, Any]) -> Any:
        from lipdub_avhubert.checkpoint import load_avhubert
        from lipdub_avhubert.expert import avhubert_weights
        from lipdub_avhubert.sync_loss import AVHubertSync

        path = avhubert_weights(options.get("avhubert"), needed_by="--expert avhubert")
        model, normalize = load_avhubert(path, str(options.get("device", "cpu")))
        return AVHubertSync(model, normalize).eval()


@hookimpl
def register_training_experts(register: Callable[[TrainingExpert], None]) -> None:
    register(AVHubertExpert())
