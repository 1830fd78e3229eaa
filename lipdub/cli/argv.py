"""Command-line rewrites done before parsing, and one-line usage errors.

Typer list options take one value per flag; Wav2Lip users (and the README) write four
numbers after one ``--pads`` (or ``--box``). :func:`expand_pads` turns every form into four
``--pads=N``. :func:`usage_error_line` words click's usage errors as one line.
"""

from __future__ import annotations

import re
from typing import Any

from lipdub.errors import InputError

PADS_FLAG = "--pads"
PADS_HELP = "--pads takes four whole numbers: TOP BOTTOM LEFT RIGHT (pixels), e.g. --pads 0 10 0 0"
BOX_FLAG = "--box"
BOX_HELP = (
    "--box takes four whole numbers: TOP BOTTOM LEFT RIGHT (pixels, -1: the frame's edge), "
    "e.g. --box 40 300 80 340"
)
#: Flags followed by four numbers (Wav2Lip's habit), and their one-line help.
FOUR_NUMBER_FLAGS = {PADS_FLAG: PADS_HELP, BOX_FLAG: BOX_HELP}
_INTEGER = re.compile(r"[+-]?\d+")


def _numbers(text: str, help_line: str = PADS_HELP) -> list[str]:
    """The comma- or space-separated integers in ``text`` (InputError if any is not one)."""
    parts = [part for part in re.split(r"[,\s]+", text.strip()) if part]
    if not parts or not all(_INTEGER.fullmatch(part) for part in parts):
        raise InputError(f"{help_line}; got {text!r}")
    return parts


def _four_number_flag(arg: str) -> str | None:
    """The four-number flag ``arg`` is (``--pads`` or ``--pads=...``), if any."""
    for flag in FOUR_NUMBER_FLAGS:
        if arg == flag or arg.startswith(flag + "="):
            return flag
    return None


def expand_pads(args: list[str]) -> list[str]:
    """``args`` with each ``--pads`` (or ``--box``) group (``--pads 0 10 0 0``,
    ``--pads=0,10,0,0``, ``--pads=-5 0 0 0``, ``"--pads" "0 10 0 0"``) as four ``--pads=N``;
    InputError for a group of another size. Repeated single ``--pads N`` flags are left as
    they are."""
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return out + args[i:]
        flag = _four_number_flag(arg)
        if flag is None:
            out.append(arg)
            i += 1
            continue
        help_line = FOUR_NUMBER_FLAGS[flag]
        i += 1
        if arg == flag:
            if i >= len(args):
                raise InputError(help_line)
            values = _numbers(args[i], help_line)
            i += 1
        else:
            values = _numbers(arg[len(flag) + 1 :], help_line)
        while len(values) < 4 and i < len(args) and _INTEGER.fullmatch(args[i]):
            values.append(args[i])
            i += 1
        if len(values) not in (1, 4):
            raise InputError(f"{help_line}; got {len(values)}: {' '.join(values)}")
        out.extend(f"{flag}={value}" for value in values)
    return out


#: What Wav2Lip's options are called here (``inference.py`` habits), for usage errors.
WAV2LIP_HINTS = {
    "--outfile": "Wav2Lip's --outfile is -o/--output here",
    "--checkpoint_path": "Wav2Lip's --checkpoint_path is -c/--checkpoint here",
    "--wav2lip_batch_size": "Wav2Lip's --wav2lip_batch_size is --batch-size here",
    "--face_det_batch_size": "face detection needs no batch size here",
    "--static": "a still image given as VIDEO is dubbed as a static face",
    "--rotate": "rotation metadata is applied automatically",
    "--crop": "lipdub tracks the face in the whole frame; --box TOP BOTTOM LEFT RIGHT fixes it",
    "--img_size": "the generator's input size comes from its weights",
}
#: Video file endings: ``--face video.mp4`` (Wav2Lip's input flag) is the VIDEO argument here.
_VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".flv")


def usage_error_line(exc: Any, args: list[str]) -> str:
    """One line for a command-line usage error (click's ``UsageError``), with a hint for
    Wav2Lip's option names, instead of click's usage block and guesses."""
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "lipdub"
    help_hint = f"`{command} -h` lists the options"
    name = getattr(exc, "option_name", None)
    if name:  # NoSuchOption
        hint = _option_hint(name, _long_options(ctx))
        return f"no such option {name}: {hint or help_hint}"
    message = " ".join(exc.format_message().split())
    param = getattr(exc, "param", None)
    if param is not None and getattr(param, "name", "") == "video" and "Missing" in message:
        face = _value_after(args, "--face")
        if face and face.lower().endswith(_VIDEO_SUFFIXES):
            return (
                f"the video is the first argument here: lipdub {face} --audio AUDIO "
                "(--face chooses which face to redraw)"
            )
    return f"{message.rstrip('.')} ({help_hint})"


def _long_options(ctx: Any) -> list[str]:
    if ctx is None:
        return []
    names: list[str] = []
    for param in ctx.command.params:
        names += [opt for opt in getattr(param, "opts", []) if opt.startswith("--")]
    return names


def _option_hint(name: str, known: list[str]) -> str | None:
    """What the user probably meant by ``name`` (None: no good guess)."""
    import difflib

    flag = name.split("=", 1)[0]
    if flag in WAV2LIP_HINTS:
        return WAV2LIP_HINTS[flag]
    dashed = "--" + flag[2:].replace("_", "-") if flag.startswith("--") else flag
    if dashed != flag and dashed in known:
        return f"did you mean {dashed}?"
    close = difflib.get_close_matches(dashed, known, n=1, cutoff=0.8)
    return f"did you mean {close[0]}?" if close else None


def _value_after(args: list[str], flag: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(flag + "="):
            return arg[len(flag) + 1 :]
    return None
