"""Small file helpers: atomic writes and a bounds-checked little-endian reader."""

from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path

from genome.errors import ModelFormatError


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    The bytes go to a temporary file in the same directory, are flushed and fsynced,
    then renamed over ``path`` (``os.replace`` is atomic on POSIX and Windows).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask()) if hasattr(os, "fchmod") else None
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


class Reader:
    """Reads little-endian fields from ``data``; running past the end raises
    :class:`ModelFormatError` naming ``source`` and the field."""

    def __init__(self, data: bytes, source: str):
        self.data = memoryview(data)
        self.pos = 0
        self.source = source

    def fail(self, what: str) -> ModelFormatError:
        return ModelFormatError(f"{self.source}: {what}")

    def take(self, n: int, field: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise self.fail(f"file is truncated (needed {n} more bytes for {field} at offset {self.pos})")
        out = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return out

    def unpack(self, fmt: str, field: str) -> tuple:
        size = struct.calcsize("<" + fmt)
        return struct.unpack("<" + fmt, self.take(size, field))

    def u8(self, field: str) -> int:
        return self.unpack("B", field)[0]

    def u16(self, field: str) -> int:
        return self.unpack("H", field)[0]

    def u32(self, field: str) -> int:
        return self.unpack("I", field)[0]

    def f32(self, field: str) -> float:
        return self.unpack("f", field)[0]

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos
