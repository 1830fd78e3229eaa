"""Command-line rewrites done before parsing: ``--pads TOP BOTTOM LEFT RIGHT``.

Typer list options take one value per flag; Wav2Lip users (and the README) write four
numbers after one ``--pads``. :func:`expand_pads` turns every form into four ``--pads=N``.
"""

from __future__ import annotations

import re

from lipdub.errors import InputError

PADS_FLAG = "--pads"
PADS_HELP = "--pads takes four whole numbers: TOP BOTTOM LEFT RIGHT (pixels), e.g. --pads 0 10 0 0"
_INTEGER = re.compile(r"[+-]?\d+")


def _numbers(text: str) -> list[str]:
    """The comma- or space-separated integers in ``text`` (InputError if any is not one)."""
    parts = [part for part in re.split(r"[,\s]+", text.strip()) if part]
    if not parts or not all(_INTEGER.fullmatch(part) for part in parts):
        raise InputError(f"{PADS_HELP}; got {text!r}")
    return parts


def expand_pads(args: list[str]) -> list[str]:
    """``args`` with each ``--pads`` group (``--pads 0 10 0 0``, ``--pads=0,10,0,0``,
    ``--pads=-5 0 0 0``, ``"--pads" "0 10 0 0"``) as four ``--pads=N``; InputError for a
    group of another size. Repeated single ``--pads N`` flags are left as they are."""
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return out + args[i:]
        if arg != PADS_FLAG and not arg.startswith(PADS_FLAG + "="):
            out.append(arg)
            i += 1
            continue
        i += 1
        if arg == PADS_FLAG:
            if i >= len(args):
                raise InputError(PADS_HELP)
            values = _numbers(args[i])
            i += 1
        else:
            values = _numbers(arg[len(PADS_FLAG) + 1 :])
        while len(values) < 4 and i < len(args) and _INTEGER.fullmatch(args[i]):
            values.append(args[i])
            i += 1
        if len(values) not in (1, 4):
            raise InputError(f"{PADS_HELP}; got {len(values)}: {' '.join(values)}")
        out.extend(f"{PADS_FLAG}={value}" for value in values)
    return out
