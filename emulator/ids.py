"""Ids that survive a restart: Telegram never gives an update id twice, nor does the emulator.

A bot remembers the update ids it has handled (for redelivery) and drops one it has seen; an
emulator that numbered from 1 again after a restart would have its first updates dropped. The
counter reserves ids in blocks and writes the end of the block to a small file before handing
any of them out, so a restart (or a kill) continues above every id ever given.
"""

from __future__ import annotations

import os
from pathlib import Path

BLOCK = 1000


class PersistentCounter:
    """`next(counter)` gives 1, 2, 3, … across restarts; the file holds the reserved maximum."""

    def __init__(self, path: Path, block: int = BLOCK) -> None:
        self.path = path
        self.block = block
        self._next = self._read() + 1
        self._reserved = self._next - 1

    def _read(self) -> int:
        try:
            return int(self.path.read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def _reserve(self, up_to: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(f"{up_to}\n")
        os.replace(temporary, self.path)
        self._reserved = up_to

    def __iter__(self) -> PersistentCounter:
        return self

    def __next__(self) -> int:
        if self._next > self._reserved:
            self._reserve(self._next + self.block - 1)
        value = self._next
        self._next += 1
        return value
