r"""Numba kernels that turn observations into packed input bits.

Bucket encoders (thermometer, one-hot, sign) share one kernel. Dimension ``d`` owns the
bits starting at ``bit_offsets[d]`` and ``edge_counts[d]`` sorted edges, stored in 64-lane
chunks from ``chunk_starts[d]`` in ``edges`` (unused lanes hold NaN). With ``k`` the
number of edges ``e`` such that ``x_d >= e`` (compared in float32, the dtype of
Gymnasium's observations):

* thermometer: the first ``k`` bits of the dimension are set (bit ``i`` = ``x_d >= e_i``);
* one-hot: only bit ``k`` of the dimension is set.

A NaN sets no bit; ``+inf`` passes every edge. One 64-lane chunk is compared by
:func:`genome.intrinsics.ge_mask64`, an explicit LLVM vector compare (the same technique as the network's
``block64``). Byte observations are copied as raw bits: bit ``i`` is bit ``i % 8`` of
byte ``i // 8``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from genome.intrinsics import ge_mask16, ge_mask64, popcount

#: Lanes per edge chunk.
CHUNK = 64
#: A dimension with at most this many edges is compared in one 16-lane compare.
SHORT = 16


@njit(cache=True, inline="always", boundscheck=False, nogil=True)
def or_bits(out, start, mask):
    """``out |= mask << start`` over the packed words (``mask`` may straddle two words)."""
    word = start >> 6
    shift = start & 63
    out[word] |= mask << np.uint64(shift)
    if shift != 0 and word + 1 < out.shape[0]:
        out[word + 1] |= mask >> np.uint64(64 - shift)


@njit(cache=True, inline="always", boundscheck=False, nogil=True)
def _chunk_mask(v, d, c, chunk_starts, edge_counts, edges):
    """Thermometer bits of chunk ``c`` of dimension ``d`` for the value ``v``."""
    if edge_counts[d] <= SHORT:  # one 16-lane compare (the chunk's other lanes are NaN)
        return ge_mask16(edges, chunk_starts[d], v)
    return ge_mask64(edges, chunk_starts[d] + c * CHUNK, v)


@njit(cache=True, inline="always", boundscheck=False, nogil=True)
def _bucket(v, d, chunk_starts, edge_counts, edges):
    """One-hot bucket of ``v`` in dimension ``d``: how many of its edges ``v`` passes."""
    k = 0
    for c in range((edge_counts[d] + CHUNK - 1) // CHUNK):
        k += popcount(_chunk_mask(v, d, c, chunk_starts, edge_counts, edges))
    return k


@njit(cache=True, inline="always", boundscheck=False, nogil=True)
def encode_buckets_into(obs, bit_offsets, chunk_starts, edge_counts, edges, onehot, out):
    """Encode one observation ``obs`` (1-D) into the packed words ``out``."""
    for k in range(out.shape[0]):
        out[k] = 0
    for d in range(len(edge_counts)):
        v = np.float32(obs[d])
        if v != v:  # NaN sets no bit
            continue
        if onehot:
            b = bit_offsets[d] + _bucket(v, d, chunk_starts, edge_counts, edges)
            out[b >> 6] |= np.uint64(1) << np.uint64(b & 63)
        else:
            for c in range((edge_counts[d] + CHUNK - 1) // CHUNK):
                or_bits(out, bit_offsets[d] + c * CHUNK, _chunk_mask(v, d, c, chunk_starts, edge_counts, edges))


#: The kinds of one-word encoders (:func:`word_kind`), each with its own compiled code in the
#: fused rollouts: a thermometer of at most 16 edges per dimension (one 16-lane compare per
#: dimension), any thermometer, a one-hot code.
WORD_THERMOMETER16, WORD_THERMOMETER, WORD_ONEHOT = 0, 1, 2


def word_kind(edge_counts, onehot: bool) -> int:
    """Which of the one-word encoders (``WORD_*``) a bucket encoder of these edge counts is."""
    if onehot:
        return WORD_ONEHOT
    return WORD_THERMOMETER16 if max((int(c) for c in edge_counts), default=0) <= SHORT else WORD_THERMOMETER


@njit(cache=True, inline="always", boundscheck=False, nogil=True)
def encode_thermometer16_word(obs, bit_offsets, chunk_starts, edge_counts, edges):
    """The one word of a thermometer with at most 16 edges per dimension (a NaN compares
    false with every edge: no bit, no test needed)."""
    word = np.uint64(0)
    for d in range(len(edge_counts)):
        word |= ge_mask16(edges, chunk_starts[d], np.float32(obs[d])) << np.uint64(bit_offsets[d])
    return word


@njit(cache=True, inline="always", boundscheck=False, nogil=True)
def encode_thermometer_word(obs, bit_offsets, chunk_starts, edge_counts, edges):
    """The one word of any thermometer of at most 64 bits."""
    word = np.uint64(0)
    for d in range(len(edge_counts)):
        word |= _chunk_mask(np.float32(obs[d]), d, 0, chunk_starts, edge_counts, edges) << np.uint64(bit_offsets[d])
    return word


@njit(cache=True, inline="always", boundscheck=False, nogil=True)
def encode_onehot_word(obs, bit_offsets, chunk_starts, edge_counts, edges):
    """The one word of a one-hot code of at most 64 bits."""
    word = np.uint64(0)
    for d in range(len(edge_counts)):
        v = np.float32(obs[d])
        if v == v:  # NaN sets no bit
            word |= np.uint64(1) << np.uint64(bit_offsets[d] + _bucket(v, d, chunk_starts, edge_counts, edges))
    return word


@njit(cache=True, inline="always", boundscheck=False, nogil=True)
def encode_buckets_word(obs, bit_offsets, chunk_starts, edge_counts, edges, onehot):
    """:func:`encode_buckets_into` for encoders of at most 64 bits, returning the one word
    (kept in a register by the fused rollouts instead of a round trip through memory). The
    fused rollouts of one-word networks compile only their encoder's kind (:func:`word_kind`):
    the comparisons of the other kinds were a fifth of CartPole's cold compile."""
    if onehot:
        return encode_onehot_word(obs, bit_offsets, chunk_starts, edge_counts, edges)
    return encode_thermometer_word(obs, bit_offsets, chunk_starts, edge_counts, edges)


@njit(cache=True, inline="always", boundscheck=False, nogil=True)
def encode_bytes_into(obs, out):
    """Copy a 1-D uint8 observation into packed words (byte ``k`` -> bits ``8k..8k+7``)."""
    n = obs.shape[0]
    for k in range(out.shape[0]):
        word = np.uint64(0)
        for j in range(8):
            idx = k * 8 + j
            if idx < n:
                word |= np.uint64(obs[idx]) << np.uint64(8 * j)
        out[k] = word


@njit(cache=True, boundscheck=False, nogil=True)
def encode_buckets_batch(obs, bit_offsets, chunk_starts, edge_counts, edges, onehot, out):
    """Row-wise :func:`encode_buckets_into` over ``obs`` (rows, dims) -> ``out`` (rows, words)."""
    for r in range(obs.shape[0]):
        encode_buckets_into(obs[r], bit_offsets, chunk_starts, edge_counts, edges, onehot, out[r])


@njit(cache=True, boundscheck=False, nogil=True)
def passed_edges_batch(obs, chunk_starts, edge_counts, edges, out):
    """``out[r, d]``: how many of dimension ``d``'s edges ``obs[r, d]`` passes (0 for NaN) --
    a thermometer's set bits in that dimension, with no bits written."""
    for r in range(obs.shape[0]):
        for d in range(edge_counts.shape[0]):
            v = np.float32(obs[r, d])
            out[r, d] = 0 if v != v else _bucket(v, d, chunk_starts, edge_counts, edges)


#: Dithered thermometer (:class:`~genome.encoders.interval.DitheredThermometerEncoder`): the
#: shift of each dimension takes one of this many evenly spaced values
DITHER_LEVELS = 16
#: FNV-1a (32-bit) over the observation's float32 bit patterns, then MurmurHash3's finalizer
#: (multipliers ``FMIX32_C1``, ``FMIX32_C2``) of the hash XOR ``(d + 1) * GOLDEN32`` picks
#: dimension ``d``'s level: its top 4 bits (``>> DITHER_SHIFT``), 16 = ``DITHER_LEVELS``
FNV_OFFSET32, FNV_PRIME32, GOLDEN32, MASK32 = 2166136261, 16777619, 0x9E3779B9, 0xFFFFFFFF
FMIX32_C1, FMIX32_C2, DITHER_SHIFT = 0x85EBCA6B, 0xC2B2AE35, 28


def dither_levels(obs32: np.ndarray) -> np.ndarray:
    """The dither level (``0 .. DITHER_LEVELS - 1``) of every dimension of every row of
    ``obs32`` (rows, dims) float32: a hash of the row's bit patterns, so the same observation
    always gets the same shifts (no state, no random stream) and consecutive steps of an
    episode get unrelated ones. Plain numpy on uint64 (every product fits: no wrap-around);
    the C export computes the same in ``uint32_t``."""
    obs32 = np.ascontiguousarray(obs32, dtype=np.float32)
    u = obs32.view(np.uint32).astype(np.uint64)
    h = np.full(obs32.shape[0], FNV_OFFSET32, dtype=np.uint64)
    for j in range(obs32.shape[1]):
        h = ((h ^ u[:, j]) * np.uint64(FNV_PRIME32)) & np.uint64(MASK32)
    salt = ((np.arange(1, obs32.shape[1] + 1, dtype=np.uint64) * np.uint64(GOLDEN32)) & np.uint64(MASK32))
    v = h[:, None] ^ salt[None, :]
    v ^= v >> np.uint64(16)
    v = (v * np.uint64(FMIX32_C1)) & np.uint64(MASK32)
    v ^= v >> np.uint64(13)
    v = (v * np.uint64(FMIX32_C2)) & np.uint64(MASK32)
    v ^= v >> np.uint64(16)
    return (v >> np.uint64(DITHER_SHIFT)).astype(np.intp)


@njit(cache=True, boundscheck=False, nogil=True)
def encode_bytes_batch(obs, out):
    """Row-wise :func:`encode_bytes_into`."""
    for r in range(obs.shape[0]):
        encode_bytes_into(obs[r], out[r])
