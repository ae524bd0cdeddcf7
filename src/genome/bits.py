"""Packing 0/1 bits into uint64 words: bit ``i`` is bit ``i % 64`` (LSB first) of word ``i // 64``."""

from __future__ import annotations

import numpy as np

WORD_BITS = 64

def words_for(n_bits: int) -> int:
    """Number of uint64 words that hold ``n_bits`` bits."""
    return (int(n_bits) + WORD_BITS - 1) // WORD_BITS


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack a 0/1 array ``(..., n)`` into uint64 words ``(..., ceil(n/64))``.

    Bit ``i`` goes to bit ``i % 64`` (least significant first) of word ``i // 64``;
    padding bits are 0.
    """
    bits = np.asarray(bits)
    n = bits.shape[-1]
    nw = words_for(n)
    padded = np.zeros(bits.shape[:-1] + (nw * WORD_BITS,), dtype=np.uint8)
    padded[..., :n] = bits != 0
    packed = np.packbits(padded, axis=-1, bitorder="little")
    return np.ascontiguousarray(packed).view("<u8").astype(np.uint64, copy=False)


def unpack_bits(words: np.ndarray, n_bits: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: uint64 words ``(..., nw)`` -> uint8 0/1 ``(..., n_bits)``."""
    words = np.ascontiguousarray(words, dtype="<u8")
    as_bytes = words.view(np.uint8)
    return np.unpackbits(as_bytes, axis=-1, bitorder="little")[..., :n_bits]
