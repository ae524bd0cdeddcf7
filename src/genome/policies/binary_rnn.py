"""The ``binary_rnn`` family: a binary network with memory (an Elman recurrence on bits).

The first hidden layer (``policy.hidden[0] = H`` units) reads the encoded observation and its
own previous bits; further hidden layers and the output layer follow as in ``binary_mlp``
(:mod:`genome.nets.binary_recurrent` has the step). The genome has ``binary_mlp``'s layout
for layer sizes ``(n + H, H, ..., n_out)`` -- every parameter a bit -- so Bernoulli NES and
the GA train it unchanged; the state is ``H`` bits, all -1 at every episode's start.
"""

from __future__ import annotations

import numpy as np

from genome.encoders.base import Encoder
from genome.errors import ConfigError
from genome.nets.binary import BinaryNetwork
from genome.nets.binary_recurrent import BinaryRecurrentNetwork, binary_recurrent_indexed
from genome.policies.binary_mlp import BinaryMLP


class BinaryRNN(BinaryMLP):
    """Encoder -> recurrent binary layer (+ hidden layers) -> output scores -> action head."""

    name = "binary_rnn"
    kernel = "binary_recurrent"

    def __init__(self, encoder: Encoder, hidden, head, bias_bits: int = 8, running_bits: int = 0, running_spread: float = 0.0):
        if not hidden:
            raise ConfigError("policy.family = binary_rnn needs a recurrent layer: policy.hidden = [H, ...] (H: its units)")
        super().__init__(encoder, hidden, head, bias_bits, running_bits, running_spread)

    @staticmethod
    def input_bits(encoder: Encoder, hidden: tuple[int, ...]) -> int:
        """The encoder's bits, then the recurrent layer's previous ``H`` bits."""
        return encoder.n_bits + hidden[0]

    @property
    def state_size(self) -> int:
        return self.hidden[0]

    def decode(self, bits: np.ndarray) -> BinaryRecurrentNetwork:
        bits = np.asarray(bits, dtype=np.uint8).reshape(1, -1)
        weights, _ = self.decode_arrays(bits)
        core = BinaryNetwork(self.layout, weights[0], self.biases(bits[0]), None, self.head)
        return BinaryRecurrentNetwork(core, self.encoder, self.head, self.hidden[0])

    def forward_indexed(self, arrays, members: np.ndarray, obs: np.ndarray, state=None) -> np.ndarray:
        """Scores of raw observations, row ``r`` through member ``members[r]`` with the state
        ``state[r]`` (``H`` floats of 0/1, moved one step in place)."""
        weights, thresholds = arrays
        lay = self.layout
        x = self.encoder.encode(obs).reshape(obs.shape[0], -1)
        scores = np.empty((obs.shape[0], lay.sizes[-1]), dtype=np.int32)
        binary_recurrent_indexed(weights, thresholds, lay.sizes_array, lay.w_offsets, lay.t_offsets, self.encoder.n_bits,
                                 members.astype(np.int64), np.ascontiguousarray(x), state, scores)
        return scores
