"""Training settings: defaults from the seed paper, overridable by a TOML recipe and the CLI.

A recipe (``training/*.toml``) is a flat table of the same names as the options below, e.g.
``extractor = "hubert"``, ``batch_size = 64``; ``command = "syncnet"`` says which command it is
for. Values given on the command line win over the recipe.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

from lipdub.errors import InputError


@dataclass
class CommonConfig:
    """Settings every training command has."""

    data: Path | None = None
    out: Path | None = None
    extractor: str = "mel"
    max_steps: int = 100_000
    batch_size: int = 64
    lr: float = 1e-4
    val_every: int = 1000
    val_batches: int = 20
    log_every: int = 10
    checkpoint_every: int = 1000
    seed: int = 0
    workers: int = 2
    device: str = "auto"
    amp: bool = True
    resume: bool = False
    init: Path | None = None


@dataclass
class SyncNetConfig(CommonConfig):
    """``lipdub train syncnet``: the lip-sync expert (the paper: Adam 1e-4, batch 64)."""

    #: Negatives take audio at least this many frames away from the faces.
    min_shift: int = 5


@dataclass
class GeneratorConfig(CommonConfig):
    """``lipdub train generator`` (Wav2Lip recipe: batch 16 windows of 5 frames)."""

    batch_size: int = 16
    #: The frozen expert(s) of the sync loss: ``syncnet``, a plugin's (``avhubert``) or ``both``.
    expert: str = "syncnet"
    syncnet: Path | None = None
    #: AV-HuBERT checkpoint for ``expert = "avhubert"`` (None: the model cache).
    avhubert: Path | None = None
    gan: bool = False
    #: s_w once switched on, and the validation L_sync under which it is switched on.
    sync_weight: float = 0.03
    sync_threshold: float = 0.75
    #: s_g (GAN only); discriminator learning rate (the paper: 1e-5 vs 1e-4).
    gan_weight: float = 0.07
    disc_lr: float = 1e-5
    disc_init: Path | None = None


Config = TypeVar("Config", bound=CommonConfig)
_PATHS = ("data", "out", "init", "syncnet", "avhubert", "disc_init")


def _toml() -> Any:
    try:
        import tomllib  # Python >= 3.11
    except ImportError:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise InputError("--config needs Python 3.11+ or `pip install tomli`") from None
    return tomllib


def read_recipe(path: Path, command: str) -> dict[str, Any]:
    """The settings in a TOML recipe (its ``command`` must match, when given)."""
    tomllib = _toml()
    try:
        table = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"config {path} does not exist") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"config {path} is not valid TOML ({exc})") from None
    wanted = table.pop("command", command)
    if wanted != command:
        raise InputError(f"config {path} is a recipe for `train {wanted}`, not `train {command}`")
    table.pop("description", None)
    base = Path(path).parent
    for key in _PATHS:  # relative paths in a recipe are relative to the recipe's folder
        if isinstance(table.get(key), str) and not Path(table[key]).is_absolute():
            table[key] = str(base / table[key])
    return table


def make_config(cls: type[Config], recipe: Path | None, command: str, **given: Any) -> Config:
    """``cls`` from its defaults, then the recipe, then the options given (not None)."""
    known = {f.name: f for f in fields(cls)}
    values: dict[str, Any] = {}
    if recipe is not None:
        values.update(read_recipe(recipe, command))
    values.update({k: v for k, v in given.items() if v is not None})
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise InputError(f"unknown training setting(s): {', '.join(unknown)}")
    for key in _PATHS:
        if key in values and values[key] is not None:
            values[key] = Path(values[key]).expanduser()
    config = cls(**values)
    _check(config)
    return config


def _check(config: CommonConfig) -> None:
    if config.data is None:
        raise InputError("no dataset given: pass --data DATASET (or data = ... in --config)")
    if config.out is None:
        raise InputError("no output folder given: pass --out DIR (or out = ... in --config)")
    for name in ("max_steps", "batch_size", "val_every", "val_batches", "log_every"):
        if getattr(config, name) < 1:
            raise InputError(f"{name.replace('_', '-')} must be at least 1")
    if config.lr <= 0:
        raise InputError("--lr must be positive")
    if isinstance(config, GeneratorConfig):
        experts = {part.strip() for part in config.expert.split(",")}
        wants_syncnet = bool(experts & {"syncnet", "both"})
        if config.syncnet is None and wants_syncnet:
            raise InputError(
                "the generator needs a trained SyncNet: pass --syncnet CKPT "
                "(or train against another expert, e.g. --expert avhubert)"
            )
        gan_weight = config.gan_weight if config.gan else 0.0
        if min(config.sync_weight, gan_weight) < 0 or config.sync_weight + gan_weight >= 1:
            raise InputError("sync and GAN weights must be >= 0 and sum to less than 1")
