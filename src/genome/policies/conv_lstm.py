"""The ``conv_lstm`` family: the Nature-DQN convolutions into an LSTM (pytorch-es's
Convnet-LSTM, with Mnih et al.'s trunk).

Frames ``(C, H, W)`` (``env.preprocess = "atari"``) -> the three Nature-DQN ReLU
convolutions -> a linear layer of ``policy.input_layer`` features (256 when 0) -> an LSTM
cell of ``policy.hidden[0]`` units (:mod:`genome.nets.recurrent`, PyTorch's gates) -> a
linear output layer, one score per action. The genome is the trunk's flat parameters
(:mod:`genome.nets.conv`) followed by the recurrent network's; the state ``(h, c)`` is zero
at every episode's start and carried per environment slot. Like ``conv`` it runs on the
Gymnasium path, one row at a time with BLAS on one thread (docs/architecture.md), and is
meant for the GA's seed chains; OpenAI-ES works too.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

import numpy as np

from genome import rng
from genome.errors import ShapeError
from genome.io import Reader, atomic_write_bytes
from genome.nets import fileformat
from genome.nets.conv import ConvStructure, one_blas_thread
from genome.nets.recurrent import RecurrentStructure, recurrent_step
from genome.policies.heads import ActionHead
from genome.policies.recurrent import CLOSED_GATE

#: the trunk's features when ``policy.input_layer`` is 0 (pytorch-es's LSTM width)
DEFAULT_FEATURES = 256


def _forward(trunk: ConvStructure, cell: RecurrentStructure, params: np.ndarray, obs: np.ndarray, state: np.ndarray, work: np.ndarray, out: np.ndarray) -> None:
    """One observation through one member: trunk features, then the LSTM step."""
    features = trunk.forward(params[: trunk.n_params], obs[None])[0].astype(np.float64)
    recurrent_step(params[trunk.n_params :], cell.dims(), features, state, work, out)


class ConvLSTMNetwork:
    """A trained ``conv_lstm`` policy; ``act_obs(obs, state)`` acts and moves the state."""

    family = "conv_lstm"
    kernel = None  #: no fused native rollout: image observations come from Gymnasium
    encoder = None

    def __init__(self, trunk: ConvStructure, cell: RecurrentStructure, genome: np.ndarray, head: ActionHead):
        self.trunk, self.cell, self.head = trunk, cell, head
        self.genome = np.ascontiguousarray(genome, dtype=np.float32).reshape(-1)
        if self.genome.shape[0] != trunk.n_params + cell.n_params:
            raise ShapeError(f"a conv_lstm genome needs {trunk.n_params + cell.n_params} parameters, got {self.genome.shape[0]}")
        if cell.n_in != trunk.n_outputs or head.n_outputs != cell.n_out:
            raise ShapeError("the conv_lstm's trunk, cell and head do not fit together")

    @property
    def state_size(self) -> int:
        return self.cell.state_size

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return (*self.trunk.layer_sizes, self.cell.hidden, self.cell.n_out)

    @property
    def n_params(self) -> int:
        return self.genome.shape[0]

    @property
    def size_bits(self) -> int:
        return 32 * self.n_params

    def act_obs(self, obs, state=None):
        if state is None or state.shape != (self.state_size,):
            raise ShapeError(f"a conv_lstm policy needs its state ({self.state_size} values): use genome.Policy, which carries it")
        obs = np.asarray(obs).reshape(-1)
        if obs.shape[0] != self.trunk.n_inputs:
            raise ShapeError(f"this policy expects observations of shape {self.trunk.in_shape}, got {obs.shape[0]} values")
        out = np.empty(self.cell.n_out)
        with one_blas_thread():
            _forward(self.trunk, self.cell, self.genome, obs, state, np.empty(self.cell.work_size()), out)
        return self.head(out)

    def to_bytes(self) -> bytes:
        """The policy file: trunk structure, cell structure, parameters, head."""
        record = [self.trunk.payload(), self.cell.payload(), struct.pack("<I", self.genome.shape[0]), self.genome.astype("<f4").tobytes(),
                  bytes([1]) + self.head.payload()]
        return fileformat.frame(fileformat.FAMILY_TAGS["conv_lstm"], b"".join(record))

    @classmethod
    def read_record(cls, r: Reader, family: str = "conv_lstm") -> "ConvLSTMNetwork":
        trunk = ConvStructure.from_payload(r)
        cell = RecurrentStructure.from_payload(r)
        n = r.u32("parameter count")
        if n != trunk.n_params + cell.n_params:
            raise r.fail(f"malformed policy: {n} parameters stored, the conv_lstm needs {trunk.n_params + cell.n_params}")
        genome = np.frombuffer(r.take(4 * n, "parameters"), "<f4").astype(np.float32)
        if r.u8("action head flag") != 1:
            raise r.fail("malformed policy: a conv_lstm policy needs an action head")
        head = ActionHead.from_payload(r)
        fileformat.check_end(r)
        try:
            return cls(trunk, cell, genome, head)
        except (ShapeError, ValueError) as exc:
            raise r.fail(f"malformed policy: {exc}") from None

    def save(self, path: str | os.PathLike) -> None:
        atomic_write_bytes(path, self.to_bytes())

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ConvLSTMNetwork) and other.trunk == self.trunk and other.cell == self.cell
                and np.array_equal(other.genome, self.genome) and other.head == self.head)

    __hash__ = None


@dataclass(frozen=True, eq=False)
class ConvLSTMFamily:
    """Genome (float32) -> :class:`ConvLSTMNetwork`; see the module docstring."""

    trunk: ConvStructure
    cell: RecurrentStructure
    head: ActionHead
    name = "conv_lstm"
    kernel = None
    encoder = None
    genome_kind = "reals"
    uses_obs_stats = False
    raw_obs = True  #: observations reach forward_indexed as uint8 frames

    @property
    def n_params(self) -> int:
        return self.trunk.n_params + self.cell.n_params

    @property
    def size_bits(self) -> int:
        return 32 * self.n_params

    @property
    def n_inputs(self) -> int:
        return self.trunk.n_inputs

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return (*self.trunk.layer_sizes, self.cell.hidden, self.cell.n_out)

    @property
    def state_size(self) -> int:
        return self.cell.state_size

    def initial_genome(self, seed: int) -> np.ndarray:
        """The trunk's weights ``N(0, 1/fan_in)`` (as ``conv``), the cell's input weights
        ``N(0, 1/fan_in)`` with no recurrent weights and the forget gate nearly closed (as
        ``lstm``: a reactive start), the output layer 0."""
        t, c = self.trunk, self.cell
        g = np.zeros(self.n_params)
        for layer, ((fan_in, n_out), q) in enumerate(zip(t.layers, t.offsets)):
            g[q : q + fan_in * n_out] = rng.normals(np.uint64(rng.make_key(np.uint64(seed), rng.INIT, layer, 0)), fan_in * n_out) / np.sqrt(fan_in)
        q = t.n_params
        rows = c.gates * c.hidden
        n_ih = rows * c.n_in
        g[q : q + n_ih] = rng.normals(np.uint64(rng.make_key(np.uint64(seed), rng.INIT, len(t.layers), 0)), n_ih) / np.sqrt(c.n_in)
        b_ih = q + n_ih + rows * c.hidden
        g[b_ih + c.hidden : b_ih + 2 * c.hidden] = CLOSED_GATE
        return g

    def decode(self, genome: np.ndarray) -> ConvLSTMNetwork:
        return ConvLSTMNetwork(self.trunk, self.cell, genome, self.head)

    def decode_arrays(self, genomes: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(genomes, dtype=np.float32).reshape(-1, self.n_params)

    def with_stats(self, stats) -> "ConvLSTMFamily":
        return self

    def forward_indexed(self, arrays: np.ndarray, members: np.ndarray, obs: np.ndarray, state: np.ndarray) -> np.ndarray:
        """Scores of frames ``obs``, row ``r`` through member ``members[r]`` with its slot's
        state ``state[r]``, one row at a time with BLAS on one thread (as ``conv``)."""
        out = np.empty((obs.shape[0], self.cell.n_out))
        work = np.empty(self.cell.work_size())
        with one_blas_thread():
            for r, m in enumerate(np.asarray(members).tolist()):
                _forward(self.trunk, self.cell, arrays[m], obs[r].reshape(-1), state[r], work, out[r])
        return out


fileformat.register_reader(["conv_lstm"], ConvLSTMNetwork.read_record)
