"""``lipdub train syncnet``: the lip-sync expert.

Pairs of 5 lower-half face crops (15 channels, 48x96) and an audio window, in sync or not
(50/50); P_sync = cosine similarity of the two ReLU'd embeddings; binary cross-entropy; Adam.
The best validation loss is kept as ``best.pt`` (the paper: 0.32 mel, 0.28 HuBERT/ContentVec).
"""

from __future__ import annotations

import math
from typing import Any

import torch

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
from lipdub.training.config import SyncNetConfig
from lipdub.training.dataset import ClipStore, FeatureSpec, SyncDataset
from lipdub.training.distributed import Runtime, setup, teardown, unwrap
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
from lipdub.training.losses import sync_bce, sync_probability
from lipdub.training.networks import build_network, load_weights, weights_payload


def sync_scores(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """P_sync of every pair in ``batch``."""
    audio_embedding, face_embedding = model(batch["audio"], batch["faces"])
    return sync_probability(audio_embedding, face_embedding)


@torch.no_grad()
def evaluate(
    model: torch.nn.Module, dataset: SyncDataset, config: SyncNetConfig, runtime: Runtime
) -> dict[str, float]:
    """Validation loss, accuracy (P_sync > 0.5 on in-sync pairs, < 0.5 on others), mean P."""
    model.eval()
    totals = {"val/loss": 0.0, "val/accuracy": 0.0, "val/p_sync_pos": 0.0, "val/p_sync_neg": 0.0}
    count = 0
    for batch in validation_batches(dataset, config, runtime):
        with runtime.autocast():
            probability = sync_scores(model, batch)
        label = batch["label"]
        totals["val/loss"] += float(sync_bce(probability, label))
        totals["val/accuracy"] += float(((probability > 0.5).float() == label).float().mean())
        positive, negative = probability[label > 0.5], probability[label < 0.5]
        totals["val/p_sync_pos"] += float(positive.mean()) if len(positive) else 0.5
        totals["val/p_sync_neg"] += float(negative.mean()) if len(negative) else 0.5
        count += 1
    model.train()
    return mean_metrics(totals, count, runtime)


def train_syncnet(config: SyncNetConfig, on_step: StepCallback = no_step_callback) -> TrainReport:
    """Train (or resume) a SyncNet as ``config`` says; writes ``out/last.pt`` and ``best.pt``."""
    assert config.data is not None and config.out is not None
    store = ClipStore(config.data)
    spec = store.feature_spec(config.extractor)
    train_set = SyncDataset(
        store, "train", config.extractor, config.seed, min_shift=config.min_shift
    )
    val_set = SyncDataset(
        store, "val", config.extractor, config.seed + 1, min_shift=config.min_shift
    )
    runtime = setup(config.device, config.amp)
    if runtime.is_main:
        prepare_out(config.out, config.resume)
    torch.manual_seed(config.seed)
    model = build_network("syncnet", spec)
    if config.init is not None:
        load_weights(model, config.init, "syncnet", spec)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    scaler = runtime.scaler()
    step, best = 0, math.inf
    if config.resume:
        payload = load_training_state(config.out)
        restore(model, payload["state_dict"], config.out)
        state = payload["training"]
        optimizer.load_state_dict(state["optimizer"])
        load_scaler(scaler, state.get("scaler"))
        step, best = int(state["step"]), float(state["best"])
    net = runtime.wrap(model)
    start = step
    log = MetricsLog(config.out, enabled=runtime.is_main)
    batches = loader(train_set, config, runtime, start_sample=step * config.batch_size)
    clock, last_val, files = Clock(), {}, CheckpointFiles(config.out)

    def checkpoint() -> dict[str, Any]:
        payload = weights_payload("syncnet", spec, unwrap(net), step)
        payload["training"] = {
            "kind": "syncnet",
            "step": step,
            "best": best,
            "optimizer": optimizer.state_dict(),
            "scaler": scaler.state_dict(),
            "config": plain(vars(config)),
        }
        return payload

    def save(name: str) -> None:
        files.write(name, step, checkpoint)

    try:
        net.train()
        while step < config.max_steps:
            with clock:
                batch = to_device(next(batches), runtime)
                with runtime.autocast():
                    probability = sync_scores(net, batch)
                loss = sync_bce(probability, batch["label"])
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                step += 1
            metrics = {"train/loss": float(loss.detach())}
            if is_due(step, config.log_every, config.max_steps):
                log.log(step, metrics)
            if is_due(step, config.val_every, config.max_steps):
                last_val = evaluate(net, val_set, config, runtime)
                metrics.update(last_val)
                log.log(step, last_val)
                if finite(last_val["val/loss"]) < best and runtime.is_main:
                    best = last_val["val/loss"]
                    save(BEST)
            if runtime.is_main and is_due(step, config.checkpoint_every, config.max_steps):
                save(LAST)
            on_step(step, config.max_steps, metrics)
        if runtime.is_main and not (config.out / BEST).exists():
            save(BEST)  # resumed at max_steps with no validation since: keep the contract
        runtime.barrier()
    finally:
        log.close()
        teardown(runtime)
    return TrainReport(
        start, step, config.batch_size, runtime.world_size, clock.seconds, best, last_val
    )


def describe(spec: FeatureSpec) -> str:
    """What the network is, for the CLI."""
    kind = "SyncNetColor (syncnet_color layout)" if spec.name == "mel" else "attention SyncNet"
    return f"{kind} on {spec.name} features ({spec.window} frames per 0.2 s)"
