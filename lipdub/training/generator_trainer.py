"""``lipdub train generator``: Wav2Lip (or its attention-audio variant) against a frozen SyncNet.

Input: 5 frames with the lower half zeroed plus 5 reference frames of the same clip; L1
reconstruction; L_sync = -log P_sync of the generated window, weighted by s_w, which is 0 until
the average validation L_sync falls below ``sync_threshold`` (0.75) and ``sync_weight`` (0.03)
from then on; with ``--gan`` the quality discriminator adds s_g L_gan (0.07; discriminator lr
1e-5 against the generator's 1e-4). L_total = (1 - s_w - s_g) L_recon + s_w L_sync + s_g L_gan.
Model selection: validation L_total, computed with the final weights (s_w = ``sync_weight``)
so scores before and after the switch compare.

``--expert`` picks the frozen expert(s) of L_sync (:mod:`lipdub.training.experts`): the SyncNet,
a plugin's (``avhubert``: L_sync = -log CS of the audio and generated-lip features per frame),
or both, whose losses are then averaged (each is logged as ``sync_<name>`` as well).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from lipdub.training.checkpointing import (
    BEST,
    LAST,
    CheckpointFiles,
    MetricsLog,
    load_scaler,
    load_training_state,
    plain,
    prepare_out,
    restore,
)
from lipdub.training.config import GeneratorConfig
from lipdub.training.dataset import ClipStore, GeneratorDataset, lower_half_stack
from lipdub.training.distributed import Runtime, setup, teardown, unwrap
from lipdub.training.experts import SYNCNET, expert_names, load_experts
from lipdub.training.loop import (
    Clock,
    StepCallback,
    TrainReport,
    finite,
    is_due,
    loader,
    mean_metrics,
    no_step_callback,
    to_device,
    validation_batches,
)
from lipdub.training.losses import EPS, gan_loss, sync_loss, sync_probability, total_loss
from lipdub.training.networks import (
    build_network,
    load_discriminator,
    load_weights,
    weights_payload,
)


@dataclass
class Networks:
    """The generator, the frozen experts and (with ``--gan``) the discriminator."""

    generator: nn.Module
    syncnet: nn.Module | None
    discriminator: nn.Module | None
    #: Frozen plugin experts by name (``--expert avhubert``).
    experts: dict[str, nn.Module] = field(default_factory=dict)


def sync_parts(
    nets: Networks, batch: dict[str, torch.Tensor], generated: torch.Tensor
) -> dict[str, torch.Tensor]:
    """L_sync of every expert (``sync_<name>``) and their mean (``sync``)."""
    parts = {}
    if nets.syncnet is not None:
        audio_embedding, face_embedding = nets.syncnet(
            batch["sync_audio"], lower_half_stack(generated)
        )
        parts["sync_syncnet"] = sync_loss(sync_probability(audio_embedding, face_embedding))
    for name, expert in nets.experts.items():
        similarity = expert(generated, batch["target"], batch["sync_wav"])
        parts[f"sync_{name}"] = sync_loss(similarity.float().clamp(EPS, 1.0 - EPS))
    total = torch.stack(list(parts.values())).mean()
    return {"sync": total, **parts} if len(parts) > 1 else {"sync": total}


def losses(
    nets: Networks, batch: dict[str, torch.Tensor], runtime: Runtime
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The generated window and its L_recon, L_sync (and L_gan)."""
    with runtime.autocast():
        generated = nets.generator(batch["audio"], batch["faces"])
        parts = {"recon": F.l1_loss(generated.float(), batch["target"])}
        parts.update(sync_parts(nets, batch, generated))
        if nets.discriminator is not None:
            parts["gan"] = gan_loss(nets.discriminator(generated), real=True)
    return generated, parts


def discriminator_loss(
    discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor, runtime: Runtime
) -> torch.Tensor:
    """The discriminator's BCE on real frames (1) and generated ones (0), in one forward pass
    (as DDP wants: one forward per backward)."""
    batch = real.shape[0]
    with runtime.autocast():
        scores = discriminator(torch.cat((real, fake.detach().to(real.dtype)), dim=0))
    scores = scores.reshape(-1, 2 * batch)  # time-major: (T, 2B)
    return 0.5 * (gan_loss(scores[:, :batch], real=True) + gan_loss(scores[:, batch:], real=False))


@torch.no_grad()
def evaluate(
    nets: Networks, dataset: GeneratorDataset, config: GeneratorConfig, runtime: Runtime
) -> dict[str, float]:
    """Average validation L_recon, L_sync, (L_gan,) and L_total with the final weights."""
    nets.generator.eval()
    totals: dict[str, float] = {}
    count = 0
    for batch in validation_batches(dataset, config, runtime):
        _, parts = losses(nets, batch, runtime)
        parts["total"] = total_loss(
            parts["recon"], parts["sync"], parts.get("gan"), config.sync_weight, config.gan_weight
        )
        for name, value in parts.items():
            totals[f"val/{name}"] = totals.get(f"val/{name}", 0.0) + float(value)
        count += 1
    nets.generator.train()
    return mean_metrics(totals, count, runtime)


def _frozen_syncnet(
    config: GeneratorConfig, store: ClipStore, runtime: Runtime
) -> nn.Module | None:
    if config.syncnet is None or SYNCNET not in expert_names(config.expert):
        return None
    spec = store.feature_spec(config.extractor)
    syncnet = load_weights(build_network("syncnet", spec), config.syncnet, "syncnet", spec)
    for parameter in syncnet.parameters():
        parameter.requires_grad_(False)
    return syncnet.to(runtime.device).eval()


def _adam(model: nn.Module, lr: float, gan: bool) -> torch.optim.Adam:
    betas = (0.5, 0.999) if gan else (0.9, 0.999)  # the Wav2Lip GAN recipe's betas
    return torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr, betas=betas)


def train_generator(
    config: GeneratorConfig, on_step: StepCallback = no_step_callback
) -> TrainReport:
    """Train (or resume) a generator as ``config`` says; writes ``out/last.pt`` and ``best.pt``."""
    assert config.data is not None and config.out is not None
    store = ClipStore(config.data)
    spec = store.feature_spec(config.extractor)
    names = expert_names(config.expert)  # a one-line error before anything starts
    wav = any(name != SYNCNET for name in names)
    train_set = GeneratorDataset(store, "train", config.extractor, config.seed, wav=wav)
    val_set = GeneratorDataset(store, "val", config.extractor, config.seed + 1, wav=wav)
    runtime = setup(config.device, config.amp)
    syncnet = _frozen_syncnet(config, store, runtime)
    options = {"device": str(runtime.device), "avhubert": config.avhubert}
    experts = {n: e.to(runtime.device) for n, e in load_experts(names, options).items()}
    if runtime.is_main:
        prepare_out(config.out, config.resume)
    torch.manual_seed(config.seed)
    generator = build_network("generator", spec)
    if config.init is not None:
        load_weights(generator, config.init, "generator", spec)
    discriminator = None
    if config.gan:
        if config.disc_init is not None:
            discriminator = load_discriminator(config.disc_init)
        else:
            from lipdub.models.discriminator import QualityDiscriminator

            discriminator = QualityDiscriminator()
    opt_g = _adam(generator, config.lr, config.gan)
    opt_d = _adam(discriminator, config.disc_lr, True) if discriminator is not None else None
    scaler_g, scaler_d = runtime.scaler(), runtime.scaler()
    step, best, sync_on = 0, math.inf, False
    if config.resume:
        payload = load_training_state(config.out)
        state = payload["training"]
        restore(generator, payload["state_dict"], config.out)
        opt_g.load_state_dict(state["optimizer"])
        load_scaler(scaler_g, state.get("scaler"))
        if discriminator is not None and opt_d is not None and "discriminator" in state:
            discriminator.load_state_dict(state["discriminator"])
            opt_d.load_state_dict(state["disc_optimizer"])
            load_scaler(scaler_d, state.get("disc_scaler"))
        step, best, sync_on = int(state["step"]), float(state["best"]), bool(state["sync_on"])
    nets = Networks(
        runtime.wrap(generator),
        syncnet,
        runtime.wrap(discriminator.train()) if discriminator is not None else None,
        experts,
    )
    start = step
    log = MetricsLog(config.out, enabled=runtime.is_main)
    batches = loader(train_set, config, runtime, start_sample=step * config.batch_size)
    clock, last_val, files = Clock(), {}, CheckpointFiles(config.out)

    def checkpoint() -> dict[str, Any]:
        payload: dict[str, Any] = weights_payload("generator", spec, unwrap(nets.generator), step)
        training: dict[str, Any] = {
            "kind": "generator",
            "step": step,
            "best": best,
            "sync_on": sync_on,
            "optimizer": opt_g.state_dict(),
            "scaler": scaler_g.state_dict(),
            "config": plain(vars(config)),
        }
        if nets.discriminator is not None and opt_d is not None:
            training["discriminator"] = unwrap(nets.discriminator).state_dict()
            training["disc_optimizer"] = opt_d.state_dict()
            training["disc_scaler"] = scaler_d.state_dict()
        payload["training"] = training
        return payload

    def save(name: str) -> None:
        files.write(name, step, checkpoint)

    try:
        nets.generator.train()
        while step < config.max_steps:
            sync_weight = config.sync_weight if sync_on else 0.0
            with clock:
                batch = to_device(next(batches), runtime)
                generated, parts = losses(nets, batch, runtime)
                loss = total_loss(
                    parts["recon"], parts["sync"], parts.get("gan"), sync_weight, config.gan_weight
                )
                opt_g.zero_grad(set_to_none=True)
                scaler_g.scale(loss).backward()
                scaler_g.step(opt_g)
                scaler_g.update()
                if nets.discriminator is not None and opt_d is not None:
                    d_loss = discriminator_loss(
                        nets.discriminator, batch["target"], generated, runtime
                    )
                    opt_d.zero_grad(set_to_none=True)
                    scaler_d.scale(d_loss).backward()
                    scaler_d.step(opt_d)
                    scaler_d.update()
                    parts["disc"] = d_loss
                step += 1
            metrics = {f"train/{k}": float(v.detach()) for k, v in parts.items()}
            metrics["train/total"] = float(loss.detach())
            metrics["train/sync_weight"] = sync_weight
            if is_due(step, config.log_every, config.max_steps):
                log.log(step, metrics)
            if is_due(step, config.val_every, config.max_steps):
                last_val = evaluate(nets, val_set, config, runtime)
                if not sync_on and last_val["val/sync"] < config.sync_threshold:
                    sync_on = True  # the expert now finds the mouths close enough to judge
                last_val["val/sync_on"] = float(sync_on)
                metrics.update(last_val)
                log.log(step, last_val)
                if finite(last_val["val/total"]) < best and runtime.is_main:
                    best = last_val["val/total"]
                    save(BEST)
            if runtime.is_main and is_due(step, config.checkpoint_every, config.max_steps):
                save(LAST)
            on_step(step, config.max_steps, metrics)
        if runtime.is_main and not (config.out / BEST).exists():
            save(BEST)
        runtime.barrier()
    finally:
        log.close()
        teardown(runtime)
    report = TrainReport(
        start, step, config.batch_size, runtime.world_size, clock.seconds, best, last_val
    )
    report.extra["sync_on"] = sync_on
    return report
