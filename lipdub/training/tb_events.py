"""TensorBoard scalar event files, written without TensorBoard installed.

An event file is a sequence of TFRecords (length, masked CRC-32C of the length, an ``Event``
protocol buffer, its masked CRC-32C); each scalar is an ``Event`` with ``wall_time``, ``step``
and a ``Summary`` holding one ``(tag, simple_value)``. TensorBoard reads files named
``events.out.tfevents.*`` in the log folder.
"""

from __future__ import annotations

import socket
import struct
import time
from functools import cache
from pathlib import Path


@cache
def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of ``data``."""
    table = _crc_table()
    crc = 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    """The TFRecord checksum: CRC-32C rotated and offset."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, wire: int, payload: bytes) -> bytes:
    return _varint(number << 3 | wire) + payload


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _field(number, 2, _varint(len(payload)) + payload)


def scalar_event(tag: str, value: float, step: int, wall_time: float) -> bytes:
    """An ``Event`` message holding one scalar summary value."""
    summary_value = _length_delimited(1, tag.encode()) + _field(2, 5, struct.pack("<f", value))
    summary = _length_delimited(1, summary_value)
    return (
        _field(1, 1, struct.pack("<d", wall_time))
        + _field(2, 0, _varint(step & 0xFFFFFFFFFFFFFFFF))
        + _length_delimited(5, summary)
    )


def record(data: bytes) -> bytes:
    """``data`` framed as one TFRecord."""
    length = struct.pack("<Q", len(data))
    return (
        length + struct.pack("<I", masked_crc(length)) + data + struct.pack("<I", masked_crc(data))
    )


class EventWriter:
    """Appends scalars to a new ``events.out.tfevents.*`` file in ``folder``."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        now = time.time()
        name = f"events.out.tfevents.{int(now)}.{socket.gethostname()}.lipdub"
        self.path = folder / name
        self._handle = open(self.path, "ab")  # noqa: SIM115 - closed in close()
        version = _field(1, 1, struct.pack("<d", now)) + _length_delimited(3, b"brain.Event:2")
        self._handle.write(record(version))
        self._handle.flush()

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        self._handle.write(record(scalar_event(tag, float(value), int(step), time.time())))

    def flush(self) -> None:
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()
