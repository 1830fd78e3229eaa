"""Rows of one shape kept in blocks, the full ones moved to an unlinked temporary file once
there are many (:class:`RowBlocks`): what a long video or an hour of audio stores per frame
or per sample without holding it all in memory."""

from __future__ import annotations

import logging
import operator
import os
import tempfile
from collections.abc import Iterator
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: Rows per block, unless a store is given its own.
BLOCK_ROWS = 4096
#: A spilling store keeps up to this many rows in memory (unless given its own number)
#: and writes its full blocks to a temporary file beyond.
SPILL_ROWS = 8192
#: What was kept in memory for want of a temporary file (warned about once).
_WARNED: set[str] = set()


class RowBlocks:
    """Rows of one ``shape`` and ``dtype``, appended in blocks of ``block_rows``
    (:data:`BLOCK_ROWS`); with ``spill`` the full blocks go to an unlinked temporary file once
    there are more than ``keep_rows`` (:data:`SPILL_ROWS`) rows, read back with ``pread``:
    the page cache, not this process, holds them. ``what`` names the rows in the warning
    given when no temporary file can be made (they stay in memory then)."""

    def __init__(
        self,
        shape: tuple[int, ...] = (),
        dtype: Any = np.float64,
        spill: bool = False,
        *,
        block_rows: int | None = None,
        keep_rows: int | None = None,
        what: str = "faces",
    ):
        self.shape, self.dtype, self.spill = tuple(shape), np.dtype(dtype), spill
        self.block_rows = int(block_rows or BLOCK_ROWS)
        self.keep_rows = SPILL_ROWS if keep_rows is None else int(keep_rows)
        self.what = what
        self._row_bytes = int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize
        self._blocks: list[np.ndarray | None] = []  # None: the block is in the file
        self._tail = np.empty((self.block_rows, *self.shape), self.dtype)
        self._fill = 0
        self._file: Any = None
        self._on_disk = 0  # blocks before this one are in the file

    def __len__(self) -> int:
        return len(self._blocks) * self.block_rows + self._fill

    def append(self, row: Any) -> None:
        self._tail[self._fill] = row
        self._fill += 1
        if self._fill == self.block_rows:
            self._close_block()

    def extend(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, self.dtype).reshape(-1, *self.shape)
        done = 0
        while done < len(rows):
            part = rows[done : done + self.block_rows - self._fill]
            self._tail[self._fill : self._fill + len(part)] = part
            self._fill += len(part)
            done += len(part)
            if self._fill == self.block_rows:
                self._close_block()

    def put(self, rows: np.ndarray, values: np.ndarray) -> None:
        """Overwrite ``rows`` (a spilled block is read, changed and written back)."""
        values = np.asarray(values, self.dtype).reshape(-1, *self.shape)
        for block, local, where in self._by_block(np.asarray(rows, np.int64)):
            target = self._tail if block == len(self._blocks) else self._blocks[block]
            if target is not None:
                target[local] = values[where]
                continue
            first = block * self.block_rows
            data = self[first : first + self.block_rows]
            data[local] = values[where]
            os.pwrite(self._file.fileno(), data.tobytes(), first * self._row_bytes)

    def take(self, rows: np.ndarray) -> np.ndarray:
        """The rows at the indices ``rows``, as one new array."""
        rows = np.asarray(rows, np.int64)
        out = np.empty((len(rows), *self.shape), self.dtype)
        for block, local, where in self._by_block(rows):
            if block == len(self._blocks):
                out[where] = self._tail[local]
            elif self._blocks[block] is not None:
                out[where] = self._blocks[block][local]  # type: ignore[index]
            else:
                out[where] = self._read(block, local)
        return out

    def __getitem__(self, index: slice | int) -> np.ndarray:
        """Rows ``start:stop`` as one new array (steps other than 1 are refused), or one row
        like :meth:`row`."""
        if not isinstance(index, slice):
            return self.row(operator.index(index))
        start, stop, step = index.indices(len(self))
        if step != 1:
            raise ValueError("RowBlocks slices take no step")
        stop = max(start, stop)
        out = np.empty((stop - start, *self.shape), self.dtype)
        at = start
        while at < stop:
            block, local = divmod(at, self.block_rows)
            end = min(stop, (block + 1) * self.block_rows)
            data = self._tail if block == len(self._blocks) else self._blocks[block]
            if data is None:
                size, offset = (end - at) * self._row_bytes, at * self._row_bytes
                raw = os.pread(self._file.fileno(), size, offset)
                data = np.frombuffer(raw, self.dtype).reshape(-1, *self.shape)
                local = 0
            out[at - start : end - start] = data[local : local + end - at]
            at = end
        return out

    def row(self, index: int) -> np.ndarray:
        """Row ``index`` (a view of it when in memory)."""
        if not 0 <= index < len(self):
            raise IndexError("row out of range")
        block, local = divmod(index, self.block_rows)
        if block == len(self._blocks):
            return self._tail[local]
        data = self._blocks[block]
        if data is not None:
            return data[local]
        offset = (block * self.block_rows + local) * self._row_bytes
        raw = os.pread(self._file.fileno(), self._row_bytes, offset)
        return np.frombuffer(raw, self.dtype).reshape(self.shape)

    def array(self) -> np.ndarray:
        """Every row, as one new array."""
        return self[:]

    @property
    def spilled(self) -> bool:
        """Whether some rows live in the temporary file."""
        return any(block is None for block in self._blocks)

    def close(self) -> None:
        """Drop the temporary file (it is unlinked already: this only frees it sooner)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def _by_block(self, rows: np.ndarray) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        if rows.size and (rows.min() < 0 or rows.max() >= len(self)):
            raise IndexError("row out of range")
        blocks = rows // self.block_rows
        for block in np.unique(blocks):
            where = np.flatnonzero(blocks == block)
            yield int(block), rows[where] - block * self.block_rows, where

    def _read(self, block: int, local: np.ndarray) -> np.ndarray:
        fd = self._file.fileno()
        base = block * self.block_rows * self._row_bytes
        lo, hi = int(local.min()), int(local.max()) + 1
        if hi - lo <= 4 * len(local):  # dense: one read of the span
            data = os.pread(fd, (hi - lo) * self._row_bytes, base + lo * self._row_bytes)
            return np.frombuffer(data, self.dtype).reshape(-1, *self.shape)[local - lo]
        out = np.empty((len(local), *self.shape), self.dtype)
        for k, row in enumerate(local.tolist()):
            data = os.pread(fd, self._row_bytes, base + row * self._row_bytes)
            out[k] = np.frombuffer(data, self.dtype).reshape(self.shape)
        return out

    def _close_block(self) -> None:
        self._blocks.append(self._tail)
        self._tail = np.empty((self.block_rows, *self.shape), self.dtype)
        self._fill = 0
        if self.spill and len(self) > self.keep_rows:
            self._spill_blocks()

    def _spill_blocks(self) -> None:
        if self._file is None:
            try:
                # Lives as long as the store; unlinked already, so nothing is left behind.
                self._file = tempfile.TemporaryFile(prefix="lipdub-rows-")  # noqa: SIM115
            except OSError as error:
                if self.what not in _WARNED:
                    _WARNED.add(self.what)
                    log.warning("%s kept in memory (no temporary file: %s)", self.what, error)
                self.spill = False
                return
        block_bytes = self.block_rows * self._row_bytes
        for block in range(self._on_disk, len(self._blocks)):  # the blocks not written yet
            data = self._blocks[block]
            if data is not None:
                os.pwrite(self._file.fileno(), data.tobytes(), block * block_bytes)
                self._blocks[block] = None
        self._on_disk = len(self._blocks)
