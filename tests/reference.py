"""Plain-numpy reference implementations the kernels are tested against (no bit tricks)."""

from __future__ import annotations

import numpy as np


def reference_forward(weights, biases, bits):
    """The binary layer of the README ("How it works") literally: s = W h + b on ±1 values; hidden h = +1 iff s >= 0."""
    h = 2 * np.asarray(bits, dtype=np.int64) - 1  # 0/1 -> ±1
    for layer, (w, b) in enumerate(zip(weights, biases)):
        s = h @ np.asarray(w, dtype=np.int64).T + np.asarray(b, dtype=np.int64)
        if layer < len(weights) - 1:
            h = np.where(s >= 0, 1, -1)
        else:
            return s


def reference_argmax(scores):
    """Lowest index among the maxima, written out without np.argmax."""
    scores = np.atleast_2d(scores)
    out = []
    for row in scores:
        best = 0
        for j in range(1, row.shape[0]):
            if row[j] > row[best]:
                best = j
        out.append(best)
    return np.array(out)


def reference_pack(bits):
    """Bit i -> bit i % 64 of word i // 64, by explicit shifts."""
    bits = np.atleast_2d(np.asarray(bits, dtype=np.uint64))
    n = bits.shape[1]
    nw = (n + 63) // 64
    out = np.zeros((bits.shape[0], nw), dtype=np.uint64)
    for i in range(n):
        out[:, i // 64] |= bits[:, i] << np.uint64(i % 64)
    return out
