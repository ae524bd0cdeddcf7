"""Policies with memory, real-valued: the ``lstm`` and ``gru`` families.

A genome is the flat float32 parameter vector of a :class:`~genome.nets.recurrent.RecurrentStructure`
(an optional dense ``tanh`` input layer of ``policy.input_layer`` units, an LSTM or GRU
cell of ``policy.hidden[0]`` units, a linear output layer), behind the same observation
normalizer as the dense families and any action head. The state (``h``, and ``c`` for the
LSTM) is zero at every episode's start and carried step to step inside the kernels -- the
fused native rollout keeps one per (member, episode), the Gymnasium path one per
environment slot -- so members never share state.

Initial genome (the counter-based generator, purpose INIT): input-layer and input-to-cell
weights ``N(0, 1/fan_in)``, *no* recurrent weights (``W_hh = 0``), the LSTM's forget gate and
the GRU's update gate nearly closed (their input bias -3: ``sigma(-3) = 0.05``), other
biases and the output layer 0. The network starts as a reactive (feed-forward) controller
and evolution opens the memory where it pays: started with random recurrent weights and
open gates, ES stalled on Pendulum at about -750 even with the full observation, while
this start reached -175 there and -260 with the angle only (README, memory experiments).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, replace

import numpy as np

from genome import rng
from genome.encoders.auto import RunningStats
from genome.errors import ShapeError
from genome.io import Reader, atomic_write_bytes
from genome.nets import fileformat
from genome.nets.recurrent import RecurrentStructure, recurrent_forward_indexed, recurrent_step
from genome.policies.heads import ActionHead
from genome.policies.normalize import ObsNormalizer


#: the initial input bias of the LSTM's forget gate and the GRU's update gate (sigma(-3) = 0.05)
CLOSED_GATE = -3.0


class RecurrentNetwork:
    """A trained ``lstm`` / ``gru`` policy: normalizer -> network with state -> head."""

    kernel = "recurrent"
    encoder = None

    def __init__(self, structure: RecurrentStructure, genome: np.ndarray, normalizer: ObsNormalizer, head: ActionHead):
        self.structure = structure
        self.genome = np.ascontiguousarray(genome, dtype=np.float32).reshape(-1)
        if self.genome.shape[0] != structure.n_params:
            raise ShapeError(f"a {structure.cell} genome needs {structure.n_params} parameters, got {self.genome.shape[0]}")
        if normalizer.dims != structure.n_in:
            raise ShapeError(f"normalizer has {normalizer.dims} dimensions, the network {structure.n_in} inputs")
        if head.n_outputs != structure.n_out:
            raise ShapeError(f"action head '{head.name}' needs {head.n_outputs} outputs but the network has {structure.n_out}")
        self.normalizer = normalizer
        self.head = head

    @property
    def family(self) -> str:
        return self.structure.cell

    @property
    def state_size(self) -> int:
        return self.structure.state_size

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return self.structure.layer_sizes

    @property
    def n_params(self) -> int:
        return self.structure.n_params

    @property
    def size_bits(self) -> int:
        return 32 * self.structure.n_params

    def kernel_arrays(self) -> np.ndarray:
        """This network as a population of one, for the fused rollouts."""
        return self.genome[None]

    def scores(self, obs, state: np.ndarray) -> np.ndarray:
        """Output scores (float64) for one raw observation; ``state`` (float64,
        ``state_size``) moves one step."""
        obs = np.asarray(obs, np.float32).reshape(-1)
        s = self.structure
        if obs.shape[0] != s.n_in:
            raise ShapeError(f"this policy expects observations of {s.n_in} values, got {obs.shape[0]}")
        if state is None or state.shape != (s.state_size,):
            raise ShapeError(f"a {s.cell} policy needs its state (float64, {s.state_size} values): use genome.Policy, which carries it")
        out = np.empty(s.n_out)
        recurrent_step(self.genome, s.dims(), self.normalizer(obs), state, np.empty(s.work_size()), out)
        return out

    def act_obs(self, obs, state=None):
        return self.head(self.scores(obs, state))

    def to_bytes(self) -> bytes:
        """The policy file (:mod:`genome.nets.fileformat`): structure, genome, normalizer, head."""
        record = [self.structure.payload(), struct.pack("<I", self.genome.shape[0]), self.genome.astype("<f4").tobytes(),
                  self.normalizer.payload(), bytes([1]) + self.head.payload()]
        return fileformat.frame(fileformat.FAMILY_TAGS[self.family], b"".join(record))

    @classmethod
    def read_record(cls, r: Reader, family: str) -> "RecurrentNetwork":
        structure = RecurrentStructure.from_payload(r)
        if structure.cell != family:
            raise r.fail(f"malformed policy: a {family} file holds a {structure.cell} structure")
        n = r.u32("parameter count")
        if n != structure.n_params:
            raise r.fail(f"malformed policy: {n} parameters stored, the {family} network needs {structure.n_params}")
        genome = np.frombuffer(r.take(4 * n, "parameters"), "<f4").astype(np.float32)
        normalizer = ObsNormalizer.from_payload(r)
        if r.u8("action head flag") != 1:
            raise r.fail("malformed policy: a recurrent policy needs an action head")
        head = ActionHead.from_payload(r)
        fileformat.check_end(r)
        try:
            return cls(structure, genome, normalizer, head)
        except (ShapeError, ValueError) as exc:
            raise r.fail(f"malformed policy: {exc}") from None

    def save(self, path: str | os.PathLike) -> None:
        atomic_write_bytes(path, self.to_bytes())

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, RecurrentNetwork) and other.structure == self.structure and np.array_equal(other.genome, self.genome)
                and other.normalizer == self.normalizer and other.head == self.head)

    __hash__ = None

    def __repr__(self) -> str:
        return f"RecurrentNetwork({self.structure.cell}, layer_sizes={self.layer_sizes}, params={self.n_params})"


@dataclass(frozen=True, eq=False)
class RecurrentFamily:
    """Genome (float32) -> :class:`RecurrentNetwork`; see the module docstring."""

    structure: RecurrentStructure
    head: ActionHead
    normalizer: ObsNormalizer
    obs_norm: bool = True
    std_floor: float = 0.1
    kernel = "recurrent"
    genome_kind = "reals"
    encoder = None

    @property
    def name(self) -> str:
        return self.structure.cell

    @property
    def n_params(self) -> int:
        return self.structure.n_params

    @property
    def size_bits(self) -> int:
        return 32 * self.structure.n_params

    @property
    def n_inputs(self) -> int:
        return self.structure.n_in

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return self.structure.layer_sizes

    @property
    def state_size(self) -> int:
        return self.structure.state_size

    @property
    def uses_obs_stats(self) -> bool:
        return self.obs_norm

    def initial_genome(self, seed: int) -> np.ndarray:
        """A reactive start (module docstring): input weights ``N(0, 1/fan_in)`` from
        ``(seed, INIT)``, ``W_hh = 0``, forget (LSTM) / update (GRU) gate bias -3, the rest 0."""
        s = self.structure
        g = np.zeros(s.n_params)
        key = np.uint64(rng.make_key(np.uint64(seed), rng.INIT, 0, 0))
        q = 0
        if s.input_width:
            n = s.input_width * s.n_in
            g[q : q + n] = rng.normals(key, n) / np.sqrt(s.n_in)
            q += n + s.input_width
        rows = s.gates * s.hidden
        n_ih = rows * s.cell_inputs
        g[q : q + n_ih] = rng.normals(np.uint64(rng.make_key(np.uint64(seed), rng.INIT, 1, 0)), n_ih) / np.sqrt(s.cell_inputs)
        b_ih = q + n_ih + rows * s.hidden
        g[b_ih + s.hidden : b_ih + 2 * s.hidden] = CLOSED_GATE  # LSTM: forget gate f; GRU: update gate z
        return g

    def decode(self, genome: np.ndarray) -> RecurrentNetwork:
        return RecurrentNetwork(self.structure, genome, self.normalizer, self.head)

    def decode_arrays(self, genomes: np.ndarray) -> np.ndarray:
        g = np.ascontiguousarray(genomes, dtype=np.float32)
        if g.ndim != 2 or g.shape[1] != self.n_params:
            raise ShapeError(f"genomes must have shape (members, {self.n_params}), got {g.shape}")
        return g

    def with_stats(self, stats: RunningStats) -> "RecurrentFamily":
        if not self.obs_norm:
            return self
        return replace(self, normalizer=ObsNormalizer.from_stats(stats, self.std_floor, self.normalizer.clip))

    def forward_indexed(self, arrays: np.ndarray, members: np.ndarray, obs: np.ndarray, state: np.ndarray) -> np.ndarray:
        """Scores of raw observations ``obs``, row ``r`` through member ``members[r]`` with
        the state ``state[r]`` (moved one step in place)."""
        out = np.empty((obs.shape[0], self.structure.n_out))
        mean, std, clip = self.normalizer.arrays()
        s = self.structure
        recurrent_forward_indexed(arrays, s.dims(), members.astype(np.int64), np.ascontiguousarray(obs, dtype=np.float32), mean, std, clip,
                                  state, s.work_size(), out)
        return out


fileformat.register_reader(["lstm", "gru"], RecurrentNetwork.read_record)
