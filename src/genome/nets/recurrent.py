r"""Real-valued recurrent networks: an LSTM or GRU cell between optional dense layers.

The cells are PyTorch's ``nn.LSTMCell`` / ``nn.GRUCell`` (the gates pytorch-es's
Convnet-LSTM uses), with both bias vectors, gates in PyTorch's order:

.. math::

    \text{LSTM:}\quad
    \begin{aligned}
    (i, f, g, o) &= (\sigma, \sigma, \tanh, \sigma)(W_{ih} x + b_{ih} + W_{hh} h + b_{hh}) \\
    c' &= f \odot c + i \odot g, \qquad h' = o \odot \tanh(c')
    \end{aligned}

.. math::

    \text{GRU:}\quad
    \begin{aligned}
    r &= \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}), \quad
    z = \sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz}) \\
    n &= \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn})), \qquad
    h' = (1 - z) \odot n + z \odot h
    \end{aligned}

A network: (normalized observation) -> optional dense ``tanh`` input layer -> the cell ->
output layer ``W_out h' (+ b_out)`` -> the scores the action head reads. The state is ``h``
(GRU) or ``(h, c)`` (LSTM), zero at every episode's start. The genome is the flat parameter
vector, in this order: input layer ``W`` (row-major) and ``b``; ``W_ih`` (``G H x n``,
``G`` = 4 or 3 gate blocks), ``W_hh`` (``G H x H``), ``b_ih``, ``b_hh``; ``W_out`` and, with
an output bias, ``b_out``. Sums run in float64 in index order, ``x`` before ``h``, biases
last (the exported C does the same).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
from numba import njit

from genome.errors import ConfigError

CELLS = ("lstm", "gru")
LSTM, GRU = 0, 1


@dataclass(frozen=True)
class RecurrentStructure:
    cell: str  #: "lstm" or "gru"
    n_in: int  #: observation components
    hidden: int  #: H, the cell's units
    n_out: int  #: output scores
    input_width: int = 0  #: a dense tanh layer before the cell (0: none)
    output_bias: bool = False

    def __post_init__(self):
        if self.cell not in CELLS:
            raise ConfigError(f"recurrent cell must be one of {', '.join(CELLS)}, got {self.cell!r}")
        if min(self.n_in, self.hidden, self.n_out) < 1 or self.input_width < 0:
            raise ConfigError(f"a {self.cell} network needs inputs, units and outputs >= 1, got {self.n_in}, {self.hidden}, {self.n_out}")

    @property
    def gates(self) -> int:
        return 4 if self.cell == "lstm" else 3

    @property
    def cell_inputs(self) -> int:
        return self.input_width or self.n_in

    @property
    def state_size(self) -> int:
        """``H`` (GRU) or ``2 H`` (LSTM: ``h`` then ``c``)."""
        return self.hidden * (2 if self.cell == "lstm" else 1)

    @property
    def n_params(self) -> int:
        h, g, x = self.hidden, self.gates, self.cell_inputs
        n = self.input_width * (self.n_in + 1) if self.input_width else 0
        n += g * h * (x + h) + 2 * g * h
        return n + self.n_out * h + (self.n_out if self.output_bias else 0)

    @property
    def n_weight_params(self) -> int:
        h, g, x = self.hidden, self.gates, self.cell_inputs
        return self.input_width * self.n_in + g * h * (x + h) + self.n_out * h

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return (self.n_in, *([self.input_width] if self.input_width else []), self.hidden, self.n_out)

    def dims(self) -> np.ndarray:
        """``[cell, n_in, input_width, hidden, n_out, output_bias]`` for the kernels."""
        return np.array([CELLS.index(self.cell), self.n_in, self.input_width, self.hidden, self.n_out, int(self.output_bias)], np.int64)

    def work_size(self) -> int:
        """Scratch floats :func:`recurrent_step` needs."""
        return self.cell_inputs + self.gates * self.hidden + self.hidden

    # ------------------------------------------------------------------ file
    def payload(self) -> bytes:
        return struct.pack("<BIIIIB", CELLS.index(self.cell), self.n_in, self.hidden, self.n_out, self.input_width, int(self.output_bias))

    @classmethod
    def from_payload(cls, reader) -> "RecurrentStructure":
        cell, n_in, hidden, n_out, width, bias = reader.unpack("BIIIIB", "recurrent structure")
        if cell >= len(CELLS) or bias > 1 or max(n_in, hidden, n_out, width) > 1 << 16 or min(n_in, hidden, n_out) < 1:
            raise reader.fail(f"malformed policy: recurrent structure {(cell, n_in, hidden, n_out, width, bias)}")
        return cls(CELLS[cell], n_in, hidden, n_out, width, bool(bias))


@njit(cache=True, inline="always", nogil=True, boundscheck=False)
def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


@njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")
def recurrent_step(params, dims, x, state, work, scores):
    """One step of one network: normalized input ``x`` (float64, ``n_in``), the state
    (float64, updated in place), scratch ``work`` (``work_size()`` floats); writes the
    ``n_out`` scores."""
    cell, n_in, width, hidden, n_out, out_bias = dims[0], dims[1], dims[2], dims[3], dims[4], dims[5]
    q = 0
    n_x = n_in
    xin = work  # the cell's input in work[:n_x]
    if width > 0:
        b0 = q + width * n_in
        for i in range(width):
            acc = 0.0
            for j in range(n_in):
                acc += np.float64(params[q + i * n_in + j]) * x[j]
            xin[i] = np.tanh(acc + np.float64(params[b0 + i]))
        q = b0 + width
        n_x = width
    else:
        for j in range(n_in):
            xin[j] = x[j]
    gates = 4 if cell == LSTM else 3
    rows = gates * hidden
    w_ih = q
    w_hh = w_ih + rows * n_x
    b_ih = w_hh + rows * hidden
    b_hh = b_ih + rows
    q = b_hh + rows
    pre = n_x  # work[pre : pre + rows]: gate pre-activations
    for r in range(rows):
        ai = 0.0
        for j in range(n_x):
            ai += np.float64(params[w_ih + r * n_x + j]) * xin[j]
        ah = 0.0
        for j in range(hidden):
            ah += np.float64(params[w_hh + r * hidden + j]) * state[j]
        if cell == GRU and r >= 2 * hidden:  # n: W_in x + b_in + r * (W_hn h + b_hn)
            work[pre + r] = ai + np.float64(params[b_ih + r])
            work[pre + rows + (r - 2 * hidden)] = ah + np.float64(params[b_hh + r])
        else:
            work[pre + r] = ai + ah + np.float64(params[b_ih + r]) + np.float64(params[b_hh + r])
    if cell == LSTM:
        for k in range(hidden):
            i = _sigmoid(work[pre + k])
            f = _sigmoid(work[pre + hidden + k])
            g = np.tanh(work[pre + 2 * hidden + k])
            o = _sigmoid(work[pre + 3 * hidden + k])
            c = f * state[hidden + k] + i * g
            state[hidden + k] = c
            state[k] = o * np.tanh(c)
    else:
        for k in range(hidden):
            r_ = _sigmoid(work[pre + k])
            z = _sigmoid(work[pre + hidden + k])
            n = np.tanh(work[pre + 2 * hidden + k] + r_ * work[pre + rows + k])
            state[k] = (1.0 - z) * n + z * state[k]
    for i in range(n_out):
        acc = 0.0
        for j in range(hidden):
            acc += np.float64(params[q + i * hidden + j]) * state[j]
        if out_bias:
            acc += np.float64(params[q + n_out * hidden + i])
        scores[i] = acc


@njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")
def recurrent_forward_indexed(params, dims, member, obs, mean, std, clip, state, work_size, out):
    """Row ``r`` of raw observations through member ``member[r]``'s network, normalized
    first; ``state[r]`` (the row's environment slot) is carried in place; scores into ``out[r]``."""
    n_in = dims[1]
    x = np.empty(n_in)
    work = np.empty(work_size)
    for r in range(obs.shape[0]):
        for d in range(n_in):
            v = (np.float64(obs[r, d]) - mean[d]) / std[d]
            x[d] = min(max(v, -clip), clip)
        recurrent_step(params[member[r]], dims, x, state[r], work, out[r])
