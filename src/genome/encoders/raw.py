"""Raw bits of byte observations (for example Atari RAM: 128 bytes -> 1024 input bits).

Example (one line)::

    RawBitsEncoder(2).encode_bits(np.array([5, 128], np.uint8))  # -> [1,0,1,0,0,0,0,0, 0,0,0,0,0,0,0,1]
"""

from __future__ import annotations

import struct

import numpy as np

from genome.encoders.base import Encoder
from genome.encoders.kernels import encode_bytes_batch
from genome.errors import ShapeError


class RawBitsEncoder(Encoder):
    """Bit ``i`` of the input is bit ``i % 8`` (least significant first) of byte ``i // 8``."""

    kind = 4
    name = "rawbits"

    def __init__(self, n_bytes: int):
        n_bytes = int(n_bytes)
        if n_bytes < 1:
            raise ShapeError(f"rawbits encoder needs at least one byte, got {n_bytes}")
        self.n_inputs = n_bytes
        self.n_bits = 8 * n_bytes

    @classmethod
    def from_space(cls, space, bits_per_dim: int = 8, samples=None) -> "RawBitsEncoder":
        """From a Gymnasium ``Box`` of ``uint8`` (any shape)."""
        if np.dtype(space.dtype) != np.uint8:
            raise ShapeError(f"rawbits encoder needs a uint8 observation space, got dtype {space.dtype}")
        return cls(int(np.prod(space.shape)))

    def _encode_batch(self, obs: np.ndarray, out: np.ndarray) -> None:
        if obs.dtype != np.uint8:
            if np.any((obs < 0) | (obs > 255) | (obs != np.floor(obs))):
                raise ShapeError("rawbits encoder expects byte observations (integers 0..255)")
            obs = obs.astype(np.uint8)
        encode_bytes_batch(np.ascontiguousarray(obs), out)

    def payload(self) -> bytes:
        return struct.pack("<I", self.n_inputs)

    @classmethod
    def from_payload(cls, reader) -> "RawBitsEncoder":
        n = reader.u32("rawbits byte count")
        if n == 0 or n > 1 << 24:
            raise reader.fail(f"rawbits encoder declares {n} bytes, which is not a valid observation size")
        return cls(n)

    def __repr__(self) -> str:
        return f"RawBitsEncoder(n_bytes={self.n_inputs})"
