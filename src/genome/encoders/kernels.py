r"""Numba kernels that turn observations into packed input bits.

Interval encoders (thermometer, one-hot, sign) share one kernel: output bit ``i`` is

.. math::  \mathrm{bit}_i = [\,lo_i \le x_{d_i} < hi_i\,]

compared in float32, the dtype of Gymnasium's observations; ``hi = +inf`` means no
upper bound (so ``x = +inf`` sets every thermometer bit) and a NaN sets no bit.
Byte observations are copied as raw bits: bit ``i`` is bit ``i % 8`` of byte ``i // 8``.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always", boundscheck=False, nogil=True)
def encode_intervals_into(obs, dims, lo, hi, out):
    """Encode one observation ``obs`` (1-D) into the packed words ``out``."""
    for k in range(out.shape[0]):
        out[k] = 0
    for i in range(dims.shape[0]):
        v = np.float32(obs[dims[i]])
        if v >= lo[i] and (v < hi[i] or hi[i] == np.inf):
            out[i >> 6] |= np.uint64(1) << np.uint64(i & 63)


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
def encode_intervals_batch(obs, dims, lo, hi, out):
    """Row-wise :func:`encode_intervals_into` over ``obs`` (rows, dims) -> ``out`` (rows, words)."""
    for r in range(obs.shape[0]):
        encode_intervals_into(obs[r], dims, lo, hi, out[r])


@njit(cache=True, boundscheck=False, nogil=True)
def encode_bytes_batch(obs, out):
    """Row-wise :func:`encode_bytes_into`."""
    for r in range(obs.shape[0]):
        encode_bytes_into(obs[r], out[r])
