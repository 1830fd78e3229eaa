"""`--generator auto`: neural when weights are local, weight-free otherwise; never downloads."""

from __future__ import annotations

from pathlib import Path

from lipdub.pipeline.components import choose_generator
from lipdub.weights.registry import models_dir


def test_no_weights_means_warp_and_says_how_to_get_neural() -> None:
    choice = choose_generator("auto", None)
    assert choice.name == "warp"
    assert choice.note is not None and "lipdub models pull wav2lip-gan" in choice.note


def test_checkpoint_flag_picks_the_neural_generator(tmp_path: Path) -> None:
    assert choose_generator("auto", tmp_path / "mine.pth").name == "wav2lip-gan"


def test_cached_weights_are_used_best_first() -> None:
    cache = models_dir()
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "wav2lip.pth").write_bytes(b"x")
    assert choose_generator("auto", None).name == "wav2lip"
    (cache / "wav2lip_gan.pth").write_bytes(b"x")
    assert choose_generator("auto", None).name == "wav2lip-gan"


def test_named_generators_are_taken_as_given() -> None:
    assert choose_generator("warp", None).name == "warp"
    assert choose_generator("wav2lip", None).note is None
