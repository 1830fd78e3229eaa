"""The watermark's payload: lipdub's version as a long code word of +-1 chips.

The version (major 4 bits, minor 6, patch 6: 16 bits) picks one word of a binary linear
code of length :data:`CODE_BITS`, one bit per slot of the watermark's time-code period, plus
a fixed offset. Both the code and the offset are drawn from a generator seeded with the
tool id (ASCII ``LD``), so they are what makes a mark lipdub's: the detector looks for every
word of this code at once, and the one it finds is both the proof and the version. Every
bit of the period helps find the mark *and* read the version (a few sync bits plus a
short version field would spend most of the mark on sync and leave the version weak), and
any two words differ in at least :data:`MIN_DISTANCE` bits, so the version is read as
reliably as the mark is found.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from lipdub import __version__

#: The tool id carried by every lipdub mark (ASCII "LD"); it seeds the code.
TOOL_ID = 0x4C44
VERSION_FIELDS = (4, 6, 6)
VERSION_BITS = sum(VERSION_FIELDS)
#: Length of a code word: one bit per slot of the time-code period (4 slots x 31 chips).
CODE_BITS = 124
#: Fewest bits in which two code words differ (checked by the tests).
MIN_DISTANCE = 37


@dataclass(frozen=True)
class Payload:
    """What a mark says."""

    tool_id: int
    version: tuple[int, int, int]

    @property
    def is_lipdub(self) -> bool:
        return self.tool_id == TOOL_ID

    @property
    def version_text(self) -> str:
        return ".".join(str(part) for part in self.version)


@functools.cache
def _code() -> tuple[np.ndarray, np.ndarray]:
    """The code's generator matrix ``(CODE_BITS, VERSION_BITS)`` and offset (uint8)."""
    rng = np.random.default_rng(TOOL_ID)
    generator = rng.integers(0, 2, (CODE_BITS, VERSION_BITS), dtype=np.uint8)
    offset = rng.integers(0, 2, CODE_BITS, dtype=np.uint8)
    return generator, offset


def parse_version(text: str = __version__) -> tuple[int, int, int]:
    """``major.minor.patch`` clipped to what the fields hold (extra parts are dropped)."""
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    parts += [0] * (3 - len(parts))
    major, minor, patch = (
        min(part, 2**width - 1) for part, width in zip(parts, VERSION_FIELDS, strict=True)
    )
    return major, minor, patch


def version_number(version: tuple[int, int, int]) -> int:
    """The 16-bit number of a version (major, minor and patch side by side)."""
    number = 0
    for part, width in zip(version, VERSION_FIELDS, strict=True):
        number = (number << width) | part
    return number


def version_of(number: int) -> tuple[int, int, int]:
    """The version of a 16-bit number (inverse of :func:`version_number`)."""
    parts = []
    for width in reversed(VERSION_FIELDS):
        parts.append(number & (2**width - 1))
        number >>= width
    major, minor, patch = reversed(parts)
    return major, minor, patch


def _words(numbers: np.ndarray) -> np.ndarray:
    """The code words (uint8 bits, one row each) of version numbers."""
    generator, offset = _code()
    shifts = np.arange(VERSION_BITS - 1, -1, -1)
    bits = ((np.asarray(numbers, np.int64)[:, None] >> shifts) & 1).astype(np.int64)
    return ((bits @ generator.T.astype(np.int64) + offset) % 2).astype(np.uint8)


def encode(version: str = __version__) -> np.ndarray:
    """The code word (uint8 bits) of lipdub's mark for ``version``."""
    return _words(np.array([version_number(parse_version(version))]))[0]


@functools.cache
def all_codewords() -> np.ndarray:
    """The code words of every version the fields hold, ``(2**16, CODE_BITS)`` uint8, row
    ``n`` for version number ``n``."""
    words = _words(np.arange(2**VERSION_BITS))
    words.setflags(write=False)
    return words


def decode(code: np.ndarray) -> Payload | None:
    """The payload of a code word, or None when the bits are no word of lipdub's code."""
    code = np.asarray(code, np.uint8)
    if code.shape != (CODE_BITS,):
        return None
    matches = np.flatnonzero((all_codewords() == code).all(axis=1))
    return Payload(TOOL_ID, version_of(int(matches[0]))) if len(matches) else None
