"""``lipdub train preprocess | syncnet | generator``: the seed paper's training, from the CLI."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from lipdub import defaults
from lipdub.errors import InputError

train_app = typer.Typer(
    help="Train SyncNet experts and generators on your own talking-face videos.",
    no_args_is_help=True,
)

Data = Annotated[Path | None, typer.Option("--data", help="Dataset made by `train preprocess`.")]
Out = Annotated[Path | None, typer.Option("--out", help="Folder for last.pt, best.pt and logs.")]
Recipe = Annotated[Path | None, typer.Option("--config", help="TOML recipe (see training/).")]
Extractor = Annotated[
    str | None, typer.Option("--extractor", "-e", help="Audio features: mel, hubert, contentvec.")
]
MaxSteps = Annotated[int | None, typer.Option("--max-steps", help="Stop after N steps in all.")]
Batch = Annotated[int | None, typer.Option("--batch-size", help="Samples per step (per GPU).")]
Lr = Annotated[float | None, typer.Option("--lr", help="Learning rate (1e-4).")]
ValEvery = Annotated[int | None, typer.Option("--val-every", help="Validate every N steps.")]
ValBatches = Annotated[int | None, typer.Option("--val-batches", help="Batches per validation.")]
LogEvery = Annotated[int | None, typer.Option("--log-every", help="Log train loss every N steps.")]
CkptEvery = Annotated[
    int | None, typer.Option("--checkpoint-every", help="Write last.pt every N steps.")
]
Seed = Annotated[int | None, typer.Option("--seed", help="Random seed (sampling, init).")]
Workers = Annotated[int | None, typer.Option("--workers", help="Data-loader worker processes.")]
Device = Annotated[str | None, typer.Option("--device", help="auto, cpu, cuda, cuda:N, mps.")]
Amp = Annotated[
    bool | None, typer.Option("--amp/--fp32", help="Mixed precision on CUDA (default on).")
]
Resume = Annotated[bool, typer.Option("--resume", help="Continue from OUT/last.pt.")]
Init = Annotated[
    Path | None, typer.Option("--init", help="Start from these weights (e.g. wav2lip_gan.pth).")
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]


@contextmanager
def _progress(title: str, quiet: bool) -> Iterator[Callable[[int, int, dict[str, float]], None]]:
    """A rich progress bar showing the latest losses (nothing with ``quiet``)."""
    if quiet or not _main_process():
        yield lambda step, total, metrics: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from lipdub.cli.render import err_console

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    extra = (TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[losses]}"))
    with Progress(*columns, *extra, console=err_console) as progress:
        task = progress.add_task(title, total=None, losses="")
        shown: dict[str, float] = {}

        def update(step: int, total: int, metrics: dict[str, float]) -> None:
            shown.update(
                {
                    k: v
                    for k, v in metrics.items()
                    if "loss" in k or k.endswith(("/recon", "/sync", "/gan", "/total", "/accuracy"))
                }
            )
            losses = "  ".join(f"{k} {v:.4f}" for k, v in shown.items())
            progress.update(task, completed=step, total=total, losses=losses)

        yield update


def _main_process() -> bool:
    """Whether this is the only process, or rank 0 of a ``torchrun`` group (the one that talks)."""
    return int(os.environ.get("RANK", "0")) == 0


def _report(report: Any, out: Path, what: str) -> None:
    if not _main_process():
        return
    done = report.step - report.start_step
    typer.echo(
        f"{what}: step {report.step} ({done} now), {report.steps_per_second:.2f} steps/s, "
        f"{report.samples_per_second:.1f} samples/s; best validation {report.best_val:.4f}; "
        f"wrote {out / 'last.pt'} and {out / 'best.pt'}"
    )


def _common(**given: Any) -> dict[str, Any]:
    return {k: v for k, v in given.items() if v is not None}


@train_app.command("preprocess")
def preprocess_command(
    source: Annotated[
        Path, typer.Argument(help="Folder of talking-face videos (searched deeply).")
    ],
    dataset: Annotated[Path, typer.Option("-o", "--output", help="Dataset folder to write.")],
    extractor: Annotated[
        list[str] | None, typer.Option("--extractor", "-e", help="Features to cache (repeat).")
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option", "-O", help="Option of the model extractors, extractor.KEY=VALUE (repeat)."
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", help="Model of the model extractors (extractor.model)."),
    ] = None,
    layer: Annotated[
        int | None, typer.Option("--layer", hidden=True, help="Short for extractor.layer.")
    ] = None,
    projected: Annotated[
        bool | None,
        typer.Option("--projected/--hidden", hidden=True, help="Short for extractor.projected."),
    ] = None,
    clip_seconds: Annotated[float, typer.Option("--clip-seconds", help="Clip length.")] = 5.0,
    split: Annotated[str, typer.Option("--split", help="train,val,test ratios.")] = "0.8,0.1,0.1",
    split_by: Annotated[str, typer.Option("--split-by", help="clip (paper) or video.")] = "clip",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random split.")] = 0,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Videos processed in parallel.")] = 1,
    tracker: Annotated[
        str, typer.Option("--tracker", help="Face tracker (any installed one).")
    ] = defaults.TRACKER,
    quiet: Quiet = False,
) -> None:
    """Cut videos into 5 s clips of face crops + 16 kHz audio + cached features, and split them."""
    from lipdub.cli.features_cmd import extractor_options
    from lipdub.cli.render import RichProgress
    from lipdub.pipeline.progress import no_progress
    from lipdub.training.clips import ExtractorSpec
    from lipdub.training.preprocess import PreprocessOptions, preprocess

    try:
        ratios = tuple(float(part) for part in split.split(","))
    except ValueError:
        ratios = ()
    if len(ratios) != 3:
        raise InputError(f"--split must be three ratios such as 0.8,0.1,0.1, not {split!r}")
    options = extractor_options(option, model=model, layer=layer, projected=projected)
    names = list(dict.fromkeys(extractor or ["mel"]))
    specs = [ExtractorSpec(n, options if n != "mel" else {}) for n in names]
    request = PreprocessOptions(
        source=source, dataset=dataset, extractors=specs, clip_seconds=clip_seconds,
        ratios=(ratios[0], ratios[1], ratios[2]), seed=seed, jobs=jobs, split_by=split_by,
        tracker=tracker,
    )  # fmt: skip
    if quiet:
        manifest = preprocess(request, no_progress)
    else:
        with RichProgress() as progress:
            manifest = preprocess(request, progress)
    counts = manifest["counts"]
    typer.echo(
        f"{dataset}: {len(manifest['clips'])} clips (train {counts['train']}, val "
        f"{counts['val']}, test {counts['test']}); {len(manifest['dropped'])} videos dropped, "
        f"{len(manifest['errors'])} failed"
    )
    for entry in manifest["dropped"]:
        typer.echo(f"dropped {entry['video']}: {entry['reason']}", err=True)
    for entry in manifest["errors"]:
        typer.echo(f"failed {entry['video']}: {entry['error']}", err=True)


@train_app.command("syncnet")
def syncnet_command(
    data: Data = None, out: Out = None, config: Recipe = None, extractor: Extractor = None,
    max_steps: MaxSteps = None, batch_size: Batch = None, lr: Lr = None,
    val_every: ValEvery = None, val_batches: ValBatches = None, log_every: LogEvery = None,
    checkpoint_every: CkptEvery = None, seed: Seed = None, workers: Workers = None,
    device: Device = None, amp: Amp = None, resume: Resume = False, init: Init = None,
    min_shift: Annotated[
        int | None, typer.Option("--min-shift", help="Off-sync audio at least N frames away.")
    ] = None,
    quiet: Quiet = False,
) -> None:  # fmt: skip
    """Train the lip-sync expert (SyncNet) on a preprocessed dataset."""
    from lipdub.training.config import SyncNetConfig, make_config
    from lipdub.training.syncnet_trainer import train_syncnet

    settings = make_config(SyncNetConfig, config, "syncnet", **_common(
        data=data, out=out, extractor=extractor, max_steps=max_steps, batch_size=batch_size,
        lr=lr, val_every=val_every, val_batches=val_batches, log_every=log_every,
        checkpoint_every=checkpoint_every, seed=seed, workers=workers, device=device, amp=amp,
        resume=resume or None, init=init, min_shift=min_shift,
    ))  # fmt: skip
    with _progress(f"SyncNet ({settings.extractor})", quiet) as on_step:
        report = train_syncnet(settings, on_step)
    assert settings.out is not None
    _report(report, settings.out, "syncnet")


@train_app.command("generator")
def generator_command(
    data: Data = None, out: Out = None, config: Recipe = None, extractor: Extractor = None,
    syncnet: Annotated[
        Path | None, typer.Option("--syncnet", help="Trained SyncNet (frozen), e.g. best.pt.")
    ] = None,
    expert: Annotated[
        str | None,
        typer.Option(
            "--expert", help="Sync-loss expert: syncnet (default), avhubert (plugin) or both."
        ),
    ] = None,
    avhubert: Annotated[
        Path | None, typer.Option("--avhubert", help="AV-HuBERT checkpoint for --expert avhubert.")
    ] = None,
    gan: Annotated[
        bool | None, typer.Option("--gan/--no-gan", help="Add the visual-quality discriminator.")
    ] = None,
    sync_weight: Annotated[float | None, typer.Option("--sync-weight", help="s_w (0.03).")] = None,
    sync_threshold: Annotated[
        float | None, typer.Option("--sync-threshold", help="Val L_sync that turns s_w on.")
    ] = None,
    gan_weight: Annotated[float | None, typer.Option("--gan-weight", help="s_g (0.07).")] = None,
    disc_lr: Annotated[float | None, typer.Option("--disc-lr", help="Disc. lr (1e-5).")] = None,
    disc_init: Annotated[
        Path | None, typer.Option("--disc-init", help="Discriminator weights to start from.")
    ] = None,
    max_steps: MaxSteps = None, batch_size: Batch = None, lr: Lr = None,
    val_every: ValEvery = None, val_batches: ValBatches = None, log_every: LogEvery = None,
    checkpoint_every: CkptEvery = None, seed: Seed = None, workers: Workers = None,
    device: Device = None, amp: Amp = None, resume: Resume = False, init: Init = None,
    quiet: Quiet = False,
) -> None:  # fmt: skip
    """Train a generator against a frozen lip-sync expert (optionally with the quality GAN)."""
    from lipdub.training.config import GeneratorConfig, make_config
    from lipdub.training.generator_trainer import train_generator

    settings = make_config(GeneratorConfig, config, "generator", **_common(
        data=data, out=out, extractor=extractor, syncnet=syncnet, expert=expert,
        avhubert=avhubert, gan=gan,
        sync_weight=sync_weight, sync_threshold=sync_threshold, gan_weight=gan_weight,
        disc_lr=disc_lr, disc_init=disc_init, max_steps=max_steps, batch_size=batch_size, lr=lr,
        val_every=val_every, val_batches=val_batches, log_every=log_every,
        checkpoint_every=checkpoint_every, seed=seed, workers=workers, device=device, amp=amp,
        resume=resume or None, init=init,
    ))  # fmt: skip
    with _progress(f"generator ({settings.extractor}, {settings.expert})", quiet) as on_step:
        report = train_generator(settings, on_step)
    assert settings.out is not None
    _report(report, settings.out, "generator")
    state = (
        "on"
        if report.extra.get("sync_on")
        else "off (validation L_sync not yet below the threshold)"
    )
    typer.echo(f"sync loss: {state}")


def register(app: typer.Typer) -> None:
    """Add the ``train`` command group to ``app``."""
    app.add_typer(train_app, name="train")
