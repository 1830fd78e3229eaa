"""The public Wav2Lip-family checkpoints (facts as published), registered as a plugin."""

from __future__ import annotations

from collections.abc import Callable

from lipdub.hookspecs import hookimpl
from lipdub.weights.registry import WeightSpec

_RESEARCH = (
    "Wav2Lip weights: released for research / non-commercial use by the Wav2Lip authors "
    "(IIIT Hyderabad); check the licence before commercial use."
)

PUBLIC_WEIGHTS = (
    WeightSpec(
        name="wav2lip",
        filename="wav2lip.pth",
        sha256="b78b681b68ad9fe6c6fb1debc6ff43ad05834a8af8a62ffc4167b7b34ef63c37",
        size=435_807_851,
        repos=("Nekochu/Wav2Lip", "numz/wav2lip_studio"),
        description="Wav2Lip generator (most accurate lip sync)",
        licence=_RESEARCH,
        used_by=("wav2lip",),
    ),
    WeightSpec(
        name="wav2lip-gan",
        filename="wav2lip_gan.pth",
        sha256="ca9ab7b7b812c0e80a6e70a5977c545a1e8a365a6c49d5e533023c034d7ac3d8",
        size=435_801_865,
        repos=("Nekochu/Wav2Lip", "numz/wav2lip_studio-0.2", "Kedreamix/Linly-Talker"),
        description="Wav2Lip generator trained with the visual-quality GAN (sharper mouths)",
        licence=_RESEARCH,
        used_by=("wav2lip-gan", "auto"),
    ),
    WeightSpec(
        name="lipsync-expert",
        filename="lipsync_expert.pth",
        sha256="9b9936c721696446eeed353032cab242a8cf0eed8c46cde540366f6ae5493be5",
        size=197_357_631,
        repos=("Nekochu/Wav2Lip",),
        description="SyncNet lip-sync expert (syncnet_color), for training",
        licence=_RESEARCH,
        used_by=("train",),
    ),
    WeightSpec(
        name="visual-quality-disc",
        filename="visual_quality_disc.pth",
        sha256="b3f8f6f7e954af02f2ffe0f3ea11f3259af89bff6e70933001c7c6bc8c145d96",
        size=169_382_040,
        repos=("Nekochu/Wav2Lip",),
        description="Wav2Lip visual-quality discriminator, for GAN training",
        licence=_RESEARCH,
        used_by=("train",),
    ),
)


@hookimpl
def register_weights(register: Callable[[WeightSpec], None]) -> None:
    for spec in PUBLIC_WEIGHTS:
        register(spec)
