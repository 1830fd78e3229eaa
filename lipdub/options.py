"""Parsing component options, which may arrive as strings (``--option key=value``, manifests)."""

from __future__ import annotations

from typing import Any

from lipdub.errors import InputError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def option_float(owner: str, name: str, value: Any, low: float, high: float) -> float:
    """``value`` as a float in ``[low, high]``; :class:`InputError` naming ``owner`` otherwise."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not low <= number <= high:
        raise InputError(f"{owner}: option {name} must be a number in [{low}, {high}]")
    return number


def option_bool(owner: str, name: str, value: Any) -> bool:
    """``value`` as a bool (accepts true/false, yes/no, on/off, 1/0)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise InputError(f"{owner}: option {name} must be true or false, got {value!r}")
