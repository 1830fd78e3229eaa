"""Dub many videos in one run: pairing inputs, running the items, reporting the outcome."""

from lipdub.batch.executors import RaySettings
from lipdub.batch.pairing import BatchItem, pair_folder, read_manifest
from lipdub.batch.report import BatchReport, ItemResult
from lipdub.batch.runner import BatchObserver, run_batch

__all__ = [
    "BatchItem",
    "BatchObserver",
    "BatchReport",
    "ItemResult",
    "RaySettings",
    "pair_folder",
    "read_manifest",
    "run_batch",
]
