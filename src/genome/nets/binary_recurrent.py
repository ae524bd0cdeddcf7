r"""Binary recurrent networks: an Elman recurrence on bits.

The first hidden layer's previous activation bits are fed back beside the encoded
observation, through the same XOR + popcount layers as every binary network:

.. math::

    h_t = \mathrm{sign}\big(W_0 [x_t ; h_{t-1}] + b_0\big), \qquad
    s_t = \text{(further hidden layers, then the output layer)}(h_t)

with ``x_t`` the encoder's ``n`` bits and ``h`` the ``H`` bits of the first hidden layer
(``h_0`` all -1: bit 0, the state at every episode's start). The network is a
:class:`~genome.nets.binary.BinaryNetwork` of layer sizes ``(n + H, H, ..., n_out)``:
input bit ``n + k`` is ``h_{t-1}[k]``. Everything is integer; the kernels carry ``h`` as
packed words, Python callers as ``H`` floats of 0/1.
"""

from __future__ import annotations

import os
import struct

import numpy as np
from numba import njit

from genome.encoders.base import Encoder
from genome.errors import ShapeError
from genome.intrinsics import block64
from genome.io import Reader, atomic_write_bytes
from genome.nets import fileformat
from genome.nets.binary import BinaryNetwork
from genome.nets.kernels import forward_one, max_words, n_words, popcount
from genome.policies.heads import ActionHead


@njit(cache=True, inline="always", boundscheck=False, nogil=True)
def binary_recurrent_step(weights, thresholds, sizes, w_offsets, t_offsets, n_obs_bits, enc, h, x, scratch, scores):
    """One step: the encoded observation ``enc`` (words of ``n_obs_bits`` bits) and the state
    ``h`` (words of the first hidden layer's ``sizes[1]`` bits, updated in place) -> integer
    ``scores``. ``x`` (``n_words(sizes[0])`` words) and ``scratch`` (``2 max_words(sizes)``)
    are the caller's."""
    nw_in = n_words(sizes[0])
    n_enc = n_words(n_obs_bits)
    for k in range(nw_in):
        x[k] = enc[k] if k < n_enc else np.uint64(0)
    hidden = sizes[1]
    for k in range(n_words(hidden)):  # h's padding bits are 0: padding units never fire
        pos = n_obs_bits + 64 * k
        wd = pos >> 6
        sh = pos & 63
        x[wd] |= h[k] << np.uint64(sh)
        if sh != 0 and wd + 1 < nw_in:
            x[wd + 1] |= h[k] >> np.uint64(64 - sh)
    rem = sizes[0] & 63
    if rem != 0:
        x[nw_in - 1] &= (np.uint64(1) << np.uint64(rem)) - np.uint64(1)
    for k in range(n_words(hidden)):
        h[k] = block64(weights, w_offsets[0] + k * nw_in * 64, x, 0, nw_in, thresholds, t_offsets[0] + k * 64)
    if sizes.shape[0] == 3:  # the recurrent layer feeds the output layer
        nw = n_words(hidden)
        w0 = w_offsets[1]
        t0 = t_offsets[1]
        for j in range(sizes[2]):
            pc = 0
            for w in range(nw):
                pc += popcount(h[w] ^ weights[w0 + j * nw + w])
            scores[j] = thresholds[t0 + j] - 2 * pc
    else:
        forward_one(weights, thresholds, sizes[1:], w_offsets[1:], t_offsets[1:], h, scratch, scores)


@njit(cache=True, nogil=True, boundscheck=False)
def binary_recurrent_indexed(weights, thresholds, sizes, w_offsets, t_offsets, n_obs_bits, members, enc, state, out):
    """Row ``r`` of encoded observations ``enc`` through member ``members[r]`` with the state
    ``state[r]`` (``H`` floats of 0/1, updated in place); integer scores into ``out[r]``."""
    hidden = sizes[1]
    x = np.empty(n_words(sizes[0]), dtype=np.uint64)
    h = np.empty(n_words(hidden), dtype=np.uint64)
    scratch = np.empty(2 * max_words(sizes), dtype=np.uint64)
    for r in range(enc.shape[0]):
        for k in range(h.shape[0]):
            h[k] = 0
        for i in range(hidden):
            if state[r, i] != 0.0:
                h[i >> 6] |= np.uint64(1) << np.uint64(i & 63)
        m = members[r]
        binary_recurrent_step(weights[m], thresholds[m], sizes, w_offsets, t_offsets, n_obs_bits, enc[r], h, x, scratch, out[r])
        for i in range(hidden):
            state[r, i] = np.float64((h[i >> 6] >> np.uint64(i & 63)) & np.uint64(1))


class BinaryRecurrentNetwork:
    """A trained ``binary_rnn`` policy: encoder -> recurrent binary layers -> head.
    ``act_obs(obs, state)`` acts and moves ``state`` (``H`` floats of 0/1) one step."""

    kernel = "binary_recurrent"
    family = "binary_rnn"

    def __init__(self, core: BinaryNetwork, encoder: Encoder, head: ActionHead | None, hidden: int):
        sizes = core.layer_sizes
        if len(sizes) < 3 or sizes[1] != hidden or sizes[0] != encoder.n_bits + hidden:
            raise ShapeError(f"a binary recurrent network of {hidden} units on {encoder.n_bits} input bits needs layer sizes "
                             f"({encoder.n_bits + hidden}, {hidden}, ...), got {sizes}")
        if head is not None and head.n_outputs != sizes[-1]:
            raise ShapeError(f"action head '{head.name}' needs {head.n_outputs} outputs but the network has {sizes[-1]}")
        self.core, self.encoder, self.head, self.hidden = core, encoder, head, int(hidden)

    @property
    def state_size(self) -> int:
        return self.hidden

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return self.core.layer_sizes

    @property
    def layout(self):
        return self.core.layout

    @property
    def weights(self) -> np.ndarray:
        return self.core.weights

    @property
    def thresholds(self) -> np.ndarray:
        return self.core.thresholds

    @property
    def biases(self):
        return self.core.biases

    def to_dense(self):
        return self.core.to_dense()

    def kernel_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return self.core.kernel_arrays()

    def scores(self, obs, state: np.ndarray) -> np.ndarray:
        if state is None or state.shape != (self.hidden,):
            raise ShapeError(f"a binary_rnn policy needs its state ({self.hidden} values): use genome.Policy, which carries it")
        enc = self.encoder.encode(obs).reshape(1, -1)
        out = np.empty((1, self.layer_sizes[-1]), dtype=np.int32)
        lay = self.core.layout
        binary_recurrent_indexed(self.core.weights[None], self.core.thresholds[None], lay.sizes_array, lay.w_offsets, lay.t_offsets,
                                 self.encoder.n_bits, np.zeros(1, np.int64), enc, state.reshape(1, -1), out)
        return out[0]

    def act_obs(self, obs, state=None):
        s = self.scores(obs, state)
        return int(np.argmax(s)) if self.head is None else self.head(s)

    # ------------------------------------------------------------------ files
    def to_bytes(self) -> bytes:
        """The policy file: ``4 H`` then the binary record (its first layer reads ``n + H`` bits)."""
        weights, _ = self.core.to_dense()
        body = fileformat.binary_record(self.layer_sizes, weights, self.core.biases, self.encoder, self.head)
        return fileformat.frame(fileformat.FAMILY_TAGS["binary_rnn"], struct.pack("<I", self.hidden) + body)

    @classmethod
    def read_record(cls, r: Reader, family: str = "binary_rnn") -> "BinaryRecurrentNetwork":
        hidden = r.u32("recurrent width")
        sizes, weights, biases, encoder, head = fileformat.read_binary_record(r)
        core = BinaryNetwork._from_record(sizes, weights, biases, None, head, r.source)
        if encoder is None:
            raise r.fail("malformed policy: a binary_rnn policy needs an encoder")
        try:
            return cls(core, encoder, head, hidden)
        except ShapeError as exc:
            raise r.fail(f"malformed policy: {exc}") from None

    def save(self, path: str | os.PathLike) -> None:
        atomic_write_bytes(path, self.to_bytes())

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, BinaryRecurrentNetwork) and other.core == self.core and other.encoder == self.encoder
                and other.head == self.head and other.hidden == self.hidden)

    __hash__ = None

    def __repr__(self) -> str:
        return f"BinaryRecurrentNetwork(layer_sizes={self.layer_sizes}, hidden={self.hidden})"


fileformat.register_reader(["binary_rnn"], BinaryRecurrentNetwork.read_record)
