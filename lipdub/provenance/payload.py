"""The watermark's payload: lipdub's id and version, with a check, as code bits.

Code bits, in order: a pilot bit (always 1), a 16-bit tool id (``LD``), the version as
major (4 bits), minor (6) and patch (6), and a CRC-8 of those 32 bits: 41 bits. The pilot
and the id are known to the detector (its sync part); the CRC checks the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lipdub import __version__

#: The tool id carried by every lipdub mark: ASCII "LD".
TOOL_ID = 0x4C44
ID_BITS = 16
VERSION_FIELDS = (4, 6, 6)
CRC_BITS = 8
PAYLOAD_BITS = ID_BITS + sum(VERSION_FIELDS)
#: Pilot + payload + CRC.
CODE_BITS = 1 + PAYLOAD_BITS + CRC_BITS
#: Bits the detector knows in advance: the pilot and the tool id.
KNOWN_BITS = 1 + ID_BITS
_CRC_POLY = 0x07


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


def _to_bits(value: int, count: int) -> list[int]:
    return [(value >> (count - 1 - i)) & 1 for i in range(count)]


def _from_bits(bits: np.ndarray) -> int:
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return value


def crc8(bits: list[int] | np.ndarray) -> list[int]:
    """CRC-8 (polynomial 0x07, initial 0) of a bit string, as 8 bits."""
    register = 0
    for bit in bits:
        top = ((register >> 7) & 1) ^ int(bit)
        register = ((register << 1) & 0xFF) ^ (_CRC_POLY if top else 0)
    return _to_bits(register, CRC_BITS)


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


def encode(version: str = __version__) -> np.ndarray:
    """The code bits (uint8) of lipdub's mark for ``version``."""
    bits = _to_bits(TOOL_ID, ID_BITS)
    for part, width in zip(parse_version(version), VERSION_FIELDS, strict=True):
        bits += _to_bits(part, width)
    return np.array([1, *bits, *crc8(bits)], np.uint8)


def decode(code: np.ndarray) -> Payload | None:
    """The payload of decoded code bits, or None when the pilot or the CRC is wrong."""
    code = np.asarray(code, np.uint8)
    if len(code) != CODE_BITS or code[0] != 1:
        return None
    bits = code[1 : 1 + PAYLOAD_BITS]
    if crc8(bits) != [int(bit) for bit in code[1 + PAYLOAD_BITS :]]:
        return None
    tool_id = _from_bits(bits[:ID_BITS])
    parts, start = [], ID_BITS
    for width in VERSION_FIELDS:
        parts.append(_from_bits(bits[start : start + width]))
        start += width
    return Payload(tool_id, (parts[0], parts[1], parts[2]))


def known_signs() -> np.ndarray:
    """+-1 of the bits the detector knows in advance (pilot and tool id)."""
    return np.where(encode()[:KNOWN_BITS] > 0, 1.0, -1.0)


def all_codewords() -> np.ndarray:
    """The code bits of lipdub's mark for every version the fields hold, ``(2**16, 41)``."""
    version_bits = sum(VERSION_FIELDS)
    values = np.arange(2**version_bits, dtype=np.int64)
    version = (values[:, None] >> np.arange(version_bits - 1, -1, -1)) & 1
    tool = np.broadcast_to(np.array(_to_bits(TOOL_ID, ID_BITS)), (len(values), ID_BITS))
    bits = np.concatenate([tool, version], axis=1).astype(np.uint8)
    register = np.zeros(len(values), np.int64)
    for column in bits.T:
        top = ((register >> 7) & 1) ^ column
        register = ((register << 1) & 0xFF) ^ np.where(top > 0, _CRC_POLY, 0)
    crc = (register[:, None] >> np.arange(CRC_BITS - 1, -1, -1)) & 1
    pilot = np.ones((len(values), 1), np.uint8)
    return np.concatenate([pilot, bits, crc.astype(np.uint8)], axis=1)
