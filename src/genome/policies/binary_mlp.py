"""The binary-MLP policy family: a genome of bits -> a binary network.

Genome layout: for each layer, for each unit ``j``, its ``n_in`` weight bits followed by
``bias_bits`` bias bits. The bias bits are the weights of ``k = bias_bits`` constant +1
inputs, so ``b_j = 2 * popcount(bias bits) - k`` and every parameter of the network is a
bit (README, "How it works").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit, prange

from genome.encoders.base import Encoder
from genome.errors import ConfigError
from genome.nets.binary import BinaryNetwork
from genome.nets.layout import Layout
from genome.parallel import PRANGE_ONLY
from genome.policies.heads import ActionHead


@njit(cache=True, inline="always", boundscheck=False, nogil=True)
def _decode_member(bits, sizes, w_offsets, t_offsets, bias_bits, weights, thresholds):
    """Write one genome's packed weights and thresholds (``weights`` must be zeroed)."""
    n_layers = sizes.shape[0] - 1
    q = 0
    for layer in range(n_layers):
        n_in = sizes[layer]
        n_out = sizes[layer + 1]
        nw = (n_in + 63) >> 6
        hidden = layer < n_layers - 1
        w0 = w_offsets[layer]
        t0 = t_offsets[layer]
        for j in range(n_out):
            for i in range(n_in):
                if bits[q + i]:
                    if hidden:
                        idx = w0 + ((j >> 6) * nw + (i >> 6)) * 64 + (j & 63)
                    else:
                        idx = w0 + j * nw + (i >> 6)
                    weights[idx] |= np.uint64(1) << np.uint64(i & 63)
            q += n_in
            ones = 0
            for b in range(bias_bits):
                ones += bits[q + b]
            q += bias_bits
            total = n_in + 2 * ones - bias_bits  # n_in + b
            if hidden:
                t = total // 2
                thresholds[t0 + j] = min(max(t, -1), n_in)
            else:
                thresholds[t0 + j] = total
        if hidden:
            for j in range(n_out, ((n_out + 63) >> 6) * 64):
                thresholds[t0 + j] = -1


@njit(cache=True, boundscheck=False, nogil=True, parallel=PRANGE_ONLY)
def decode_population(bits, sizes, w_offsets, t_offsets, bias_bits, weights, thresholds):
    """Decode every row of ``bits`` (members, n_params) into ``weights``/``thresholds``."""
    for m in prange(bits.shape[0]):
        weights[m, :] = 0
        _decode_member(bits[m], sizes, w_offsets, t_offsets, bias_bits, weights[m], thresholds[m])


class BinaryMLP:
    """Encoder -> hidden binary layers -> output scores -> action head.

    ``n_params`` bits per genome; :meth:`decode` gives a :class:`BinaryNetwork` carrying the
    encoder and head, :meth:`decode_arrays` the packed arrays of a whole population (run by
    the ``"binary"`` fused kernel). With ``running_bits`` > 0 the encoder's edges follow the
    running observation statistics (:meth:`with_stats`): a thermometer of that many bits per
    dimension.
    """

    name = "binary_mlp"
    kernel = "binary"
    genome_kind = "bits"

    def __init__(self, encoder: Encoder, hidden: Sequence[int], head: ActionHead, bias_bits: int = 8, running_bits: int = 0,
                 running_spread: float = 0.0):
        hidden = tuple(int(h) for h in hidden)
        if any(h < 1 for h in hidden):
            raise ConfigError(f"policy.hidden sizes must be >= 1, got {list(hidden)}")
        if bias_bits < 0:
            raise ConfigError(f"policy.bias_bits must be >= 0, got {bias_bits}")
        self.encoder = encoder
        self.head = head
        self.hidden = hidden
        self.bias_bits = int(bias_bits)
        self.running_bits = int(running_bits)
        self.running_spread = float(running_spread)
        self.layout = Layout((self.input_bits(encoder, hidden), *hidden, head.n_outputs))
        sizes = self.layout.sizes
        self.n_params = sum(sizes[i + 1] * (sizes[i] + self.bias_bits) for i in range(len(sizes) - 1))

    state_size = 0  #: feed-forward: no memory between steps

    @staticmethod
    def input_bits(encoder: Encoder, hidden: tuple[int, ...]) -> int:
        """Bits into the first layer: the encoder's."""
        return encoder.n_bits

    @property
    def size_bits(self) -> int:
        return self.n_params

    @property
    def n_inputs(self) -> int:
        return self.encoder.n_inputs

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return self.layout.sizes

    @property
    def uses_obs_stats(self) -> bool:
        return self.running_bits > 0

    def initial_genome(self, seed: int) -> np.ndarray:
        """Uniformly random bits from ``(seed, INIT)`` (the GA's first generation; Bernoulli NES
        starts from p = 1/2 instead)."""
        from genome import rng

        u = rng.uniforms(np.uint64(rng.make_key(np.uint64(seed), rng.INIT, 0, 0)), self.n_params)
        return (u < 0.5).astype(np.uint8)

    def with_stats(self, stats) -> "BinaryMLP":
        """The same family with thermometer edges from running statistics ``stats``."""
        if not self.running_bits:
            return self
        from genome.encoders.auto import thermometer_from_stats
        from genome.encoders.interval import DitheredThermometerEncoder

        dither = isinstance(self.encoder, DitheredThermometerEncoder)
        encoder = thermometer_from_stats(stats, self.running_bits, self.running_spread, dither)
        if encoder == self.encoder:
            return self
        return type(self)(encoder, self.hidden, self.head, self.bias_bits, self.running_bits, self.running_spread)

    def forward_indexed(self, arrays, members: np.ndarray, obs: np.ndarray, state=None) -> np.ndarray:
        """Scores ``(rows, n_outputs)`` of raw observations ``obs``, row ``r`` through member ``members[r]``."""
        from genome.nets.kernels import forward_indexed

        weights, thresholds = arrays
        lay = self.layout
        x = self.encoder.encode(obs).reshape(obs.shape[0], -1)
        scores = np.empty((obs.shape[0], lay.sizes[-1]), dtype=np.int32)
        forward_indexed(weights, thresholds, lay.sizes_array, lay.w_offsets, lay.t_offsets, members.astype(np.int64), np.ascontiguousarray(x), scores)
        return scores

    def decode_arrays(self, bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Genomes ``(members, n_params)`` of 0/1 -> packed ``weights`` and ``thresholds``."""
        bits = np.ascontiguousarray(bits, dtype=np.uint8)
        if bits.ndim != 2 or bits.shape[1] != self.n_params:
            raise ConfigError(f"genomes must have shape (members, {self.n_params}), got {bits.shape}")
        lay = self.layout
        weights = np.empty((bits.shape[0], lay.n_weight_words), dtype=np.uint64)
        thresholds = np.empty((bits.shape[0], lay.n_thresholds), dtype=np.int32)
        if bits.shape[0]:  # (no members: nothing to decode, and no kernel to compile for it)
            decode_population(bits, lay.sizes_array, lay.w_offsets, lay.t_offsets, self.bias_bits, weights, thresholds)
        return weights, thresholds

    def biases(self, bits: np.ndarray) -> list[np.ndarray]:
        """Integer biases per layer of one genome (for building a :class:`BinaryNetwork`)."""
        sizes = self.layout.sizes
        out, q = [], 0
        for layer in range(len(sizes) - 1):
            n_in, n_out = sizes[layer], sizes[layer + 1]
            rows = bits[q : q + n_out * (n_in + self.bias_bits)].reshape(n_out, n_in + self.bias_bits)
            out.append(2 * rows[:, n_in:].sum(axis=1).astype(np.int64) - self.bias_bits)
            q += n_out * (n_in + self.bias_bits)
        return out

    def decode(self, bits: np.ndarray) -> BinaryNetwork:
        """One genome -> a :class:`BinaryNetwork` with this family's encoder and head."""
        bits = np.asarray(bits, dtype=np.uint8).reshape(1, -1)
        weights, _ = self.decode_arrays(bits)
        return BinaryNetwork(self.layout, weights[0], self.biases(bits[0]), self.encoder, self.head)
