"""Where each weight bit and threshold of a binary network lives in the kernels' flat arrays.

See :mod:`genome.nets.kernels` for the layout itself. This module converts between
dense ``±1`` matrices / integer biases and that layout, in plain numpy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from genome.bits import WORD_BITS, pack_bits, unpack_bits, words_for

#: Largest |bias| accepted: scores ``n_in + b`` must fit comfortably in int32.
MAX_ABS_BIAS = 2**30


class Layout:
    """Offsets of every layer's weights and thresholds in the flat kernel arrays.

    ``sizes = (n_in, h_1, ..., n_out)``; every layer but the last is hidden.
    """

    def __init__(self, sizes: Sequence[int]):
        sizes = tuple(int(s) for s in sizes)
        if len(sizes) < 2:
            raise ValueError(f"a network needs at least an input and an output size, got {sizes}")
        if min(sizes) < 1:
            raise ValueError(f"every layer size must be >= 1, got {sizes}")
        self.sizes = sizes
        self.n_layers = len(sizes) - 1
        w_offsets, t_offsets = [], []
        w = t = 0
        for layer in range(self.n_layers):
            w_offsets.append(w)
            t_offsets.append(t)
            w += self.layer_weight_words(layer)
            t += self.layer_threshold_count(layer)
        self.n_weight_words = w
        self.n_thresholds = t
        self.sizes_array = np.asarray(sizes, dtype=np.int64)
        self.w_offsets = np.asarray(w_offsets, dtype=np.int64)
        self.t_offsets = np.asarray(t_offsets, dtype=np.int64)

    def is_hidden(self, layer: int) -> bool:
        return layer < self.n_layers - 1

    def padded_units(self, layer: int) -> int:
        """Units stored for ``layer``: hidden layers are padded to blocks of 64."""
        n_out = self.sizes[layer + 1]
        return words_for(n_out) * WORD_BITS if self.is_hidden(layer) else n_out

    def layer_weight_words(self, layer: int) -> int:
        return self.padded_units(layer) * words_for(self.sizes[layer])

    def layer_threshold_count(self, layer: int) -> int:
        return self.padded_units(layer)

    @property
    def n_weight_bits(self) -> int:
        """Weight bits that carry information (no padding)."""
        return sum(self.sizes[i] * self.sizes[i + 1] for i in range(self.n_layers))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Layout) and other.sizes == self.sizes

    def __hash__(self) -> int:
        return hash(self.sizes)

    def __repr__(self) -> str:
        return f"Layout({self.sizes})"

    # ----------------------------------------------------------------- weights
    def pack_weights(self, weight_bits: Sequence[np.ndarray]) -> np.ndarray:
        """Dense 0/1 (or ±1) matrices ``(n_out, n_in)`` per layer -> flat uint64 kernel array."""
        parts = []
        for layer, matrix in enumerate(weight_bits):
            n_in, n_out = self.sizes[layer], self.sizes[layer + 1]
            rows = pack_bits(np.asarray(matrix) > 0)  # (n_out, nw)
            nw = words_for(n_in)
            if self.is_hidden(layer):
                padded = np.zeros((self.padded_units(layer), nw), dtype=np.uint64)
                padded[:n_out] = rows
                blocks = padded.reshape(-1, WORD_BITS, nw).transpose(0, 2, 1)
                parts.append(blocks.reshape(-1))
            else:
                parts.append(rows.reshape(-1))
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.uint64)

    def unpack_weights(self, flat: np.ndarray) -> list[np.ndarray]:
        """Flat uint64 kernel array -> dense 0/1 ``uint8`` matrices ``(n_out, n_in)`` per layer."""
        out = []
        for layer in range(self.n_layers):
            n_in, n_out = self.sizes[layer], self.sizes[layer + 1]
            nw = words_for(n_in)
            start = int(self.w_offsets[layer])
            chunk = flat[start : start + self.layer_weight_words(layer)]
            if self.is_hidden(layer):
                rows = chunk.reshape(-1, nw, WORD_BITS).transpose(0, 2, 1).reshape(-1, nw)[:n_out]
            else:
                rows = chunk.reshape(n_out, nw)
            out.append(unpack_bits(rows, n_in))
        return out

    # -------------------------------------------------------------- thresholds
    def thresholds(self, biases: Sequence[np.ndarray]) -> np.ndarray:
        """Integer biases per layer -> flat int32 kernel thresholds.

        Hidden: ``t = (n_in + b) // 2`` clipped to ``[-1, n_in]`` (same decisions),
        padding units -1. Output: ``c = n_in + b``.
        """
        parts = []
        for layer, bias in enumerate(biases):
            n_in = self.sizes[layer]
            b = np.asarray(bias, dtype=np.int64)
            if self.is_hidden(layer):
                t = np.full(self.padded_units(layer), -1, dtype=np.int64)
                t[: b.shape[0]] = np.clip(np.floor_divide(n_in + b, 2), -1, n_in)
                parts.append(t)
            else:
                parts.append(n_in + b)
        return np.concatenate(parts).astype(np.int32)
