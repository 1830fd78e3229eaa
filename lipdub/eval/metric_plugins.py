"""The plugin slot for extra ``lipdub eval`` metrics (such as the AV-HuBERT ones).

The value types live in :mod:`lipdub.eval.metric` (re-exported here); the metrics themselves
are entries of the one plugin registry (:mod:`lipdub.plugins`), kind ``eval_metrics``.
"""

from __future__ import annotations

from lipdub.eval.metric import AVHUBERT_METRICS, EvalMetric, EvalSample

__all__ = ["AVHUBERT_METRICS", "EvalMetric", "EvalSample", "plugin_metrics"]


def plugin_metrics() -> dict[str, type[EvalMetric]]:
    """Every metric plugins register, by name (a view of the plugin registry)."""
    from lipdub.plugins import entries

    return {name: entry.value for name, entry in entries("eval_metrics").items()}
