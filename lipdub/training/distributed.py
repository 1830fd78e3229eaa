"""One process or many: DDP set up from ``torchrun``'s environment, AMP on CUDA.

``torchrun --nproc_per_node N -m lipdub train ...`` starts N processes with ``RANK``,
``LOCAL_RANK`` and ``WORLD_SIZE`` set; each takes its GPU and a share of every batch's samples.
Without those variables training runs in a single process.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from lipdub.devices import resolve_device


@dataclass
class Runtime:
    """Where this process trains and how."""

    device: torch.device
    rank: int = 0
    world_size: int = 1
    amp: bool = False

    @property
    def is_main(self) -> bool:
        """Whether this process writes checkpoints and logs."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def wrap(self, model: nn.Module) -> nn.Module:
        """``model`` on the device, inside DDP when distributed."""
        model = model.to(self.device)
        if not self.distributed:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """Mixed precision (fp16) on CUDA when AMP is on, else nothing."""
        if self.amp:
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def scaler(self) -> torch.amp.GradScaler:
        """A gradient scaler, active only with AMP."""
        return torch.amp.GradScaler("cuda", enabled=self.amp)

    def mean(self, value: float) -> float:
        """``value`` averaged over all processes."""
        if not self.distributed:
            return float(value)
        tensor = torch.tensor([float(value)], device=self.device)
        torch.distributed.all_reduce(tensor)
        return float(tensor.item()) / self.world_size

    def barrier(self) -> None:
        if self.distributed:
            torch.distributed.barrier()


def setup(device: str = "auto", amp: bool = True) -> Runtime:
    """The runtime of this process; joins the process group when started by ``torchrun``."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        resolved = resolve_device(device)
        return Runtime(device=resolved, amp=amp and resolved.type == "cuda")
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available() and device in ("auto", "cuda"):
        torch.cuda.set_device(local_rank)
        resolved, backend = torch.device("cuda", local_rank), "nccl"
    else:
        resolved, backend = torch.device("cpu"), "gloo"
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend=backend)
    return Runtime(resolved, rank, world_size, amp=amp and resolved.type == "cuda")


def teardown(runtime: Runtime) -> None:
    """Leave the process group (if any)."""
    if runtime.distributed and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def unwrap(model: nn.Module) -> nn.Module:
    """The network inside a DDP wrapper."""
    return model.module if hasattr(model, "module") else model
