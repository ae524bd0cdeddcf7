"""The ``conv`` family: the Nature-DQN network on stacked image frames (Atari pixels).

A genome is the network's flat float32 parameters (:mod:`genome.nets.conv`; 1.7 M for
Atari), so the family is meant for the GA, whose seed-chain genomes send and checkpoint a
few bytes per member whatever the network's size (docs/architecture.md); OpenAI-ES works
too. Observations are ``uint8`` frames (Gymnasium's Atari preprocessing: 84x84 grayscale,
4 frames stacked; ``env.preprocess = "atari"``) scaled by 1/255; no running statistics.
Scores go through the action head (argmax for Atari's discrete actions).

Initial genome: every weight ``N(0, 1/fan_in)`` (the counter-based generator keyed by
``(seed, INIT, layer)``), biases 0 -- a random network acts, so the GA's first generation
already differs in behaviour.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

import numpy as np

from genome import rng
from genome.encoders.auto import RunningStats
from genome.errors import ShapeError
from genome.io import Reader, atomic_write_bytes
from genome.nets import fileformat
from genome.nets.conv import ConvStructure, one_blas_thread
from genome.policies.heads import ActionHead


class ConvNetwork:
    """A trained conv policy: frames -> Nature-DQN -> head. ``act_obs(obs)`` acts."""

    family = "conv"
    kernel = None  #: no fused native rollout: image observations come from Gymnasium
    state_size = 0  #: feed-forward: no memory between steps (``act_obs``'s ``state`` is unused)
    encoder = None

    def __init__(self, structure: ConvStructure, genome: np.ndarray, head: ActionHead):
        self.structure = structure
        self.genome = np.ascontiguousarray(genome, dtype=np.float32).reshape(-1)
        if self.genome.shape[0] != structure.n_params:
            raise ShapeError(f"a conv genome needs {structure.n_params} parameters, got {self.genome.shape[0]}")
        if head.n_outputs != structure.n_outputs:
            raise ShapeError(f"action head '{head.name}' needs {head.n_outputs} outputs but the network has {structure.n_outputs}")
        self.head = head

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return self.structure.layer_sizes

    @property
    def n_params(self) -> int:
        return self.structure.n_params

    @property
    def size_bits(self) -> int:
        return 32 * self.structure.n_params

    def scores(self, obs) -> np.ndarray:
        """Output scores (float64) for one raw observation (``C x H x W`` frames)."""
        obs = np.asarray(obs).reshape(1, -1)
        if obs.shape[1] != self.structure.n_inputs:
            raise ShapeError(f"this policy expects observations of shape {self.structure.in_shape}, got {obs.shape[1]} values")
        with one_blas_thread():
            return self.structure.forward(self.genome, obs)[0].astype(np.float64)

    def act_obs(self, obs, state=None):
        return self.head(self.scores(obs))

    def to_bytes(self) -> bytes:
        """The policy file (:mod:`genome.nets.fileformat`): the structure, the parameters, the head."""
        record = [self.structure.payload(), struct.pack("<I", self.genome.shape[0]), self.genome.astype("<f4").tobytes(),
                  bytes([1]) + self.head.payload()]
        return fileformat.frame(fileformat.FAMILY_TAGS["conv"], b"".join(record))

    @classmethod
    def read_record(cls, r: Reader, family: str = "conv") -> "ConvNetwork":
        """Inverse of :meth:`to_bytes` from the record on (registered with the file format)."""
        structure = ConvStructure.from_payload(r)
        n = r.u32("parameter count")
        if n != structure.n_params:
            raise r.fail(f"malformed policy: {n} parameters stored, the layers need {structure.n_params}")
        genome = np.frombuffer(r.take(4 * n, "parameters"), "<f4").astype(np.float32)
        if r.u8("action head flag") != 1:
            raise r.fail("malformed policy: a conv policy needs an action head")
        head = ActionHead.from_payload(r)
        fileformat.check_end(r)
        try:
            return cls(structure, genome, head)
        except (ShapeError, ValueError) as exc:
            raise r.fail(f"malformed policy: {exc}") from None

    def save(self, path: str | os.PathLike) -> None:
        atomic_write_bytes(path, self.to_bytes())

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ConvNetwork) and other.structure == self.structure
                and np.array_equal(other.genome, self.genome) and other.head == self.head)

    __hash__ = None

    def __repr__(self) -> str:
        return f"ConvNetwork(in_shape={self.structure.in_shape}, params={self.n_params})"


@dataclass(frozen=True, eq=False)
class ConvArrays:
    """A decoded population: flat parameters ``(members, n_params)`` float32."""

    params: np.ndarray


@dataclass(frozen=True, eq=False)
class ConvFamily:
    """Genome (float32 reals) -> :class:`ConvNetwork`; see the module docstring."""

    structure: ConvStructure
    head: ActionHead
    name = "conv"
    kernel = None
    encoder = None
    genome_kind = "reals"
    state_size = 0  #: feed-forward: no memory between steps
    uses_obs_stats = False
    raw_obs = True  #: observations reach forward_indexed in their own dtype (uint8 frames)

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return self.structure.layer_sizes

    @property
    def n_params(self) -> int:
        return self.structure.n_params

    @property
    def size_bits(self) -> int:
        return 32 * self.structure.n_params

    @property
    def n_inputs(self) -> int:
        return self.structure.n_inputs

    def initial_genome(self, seed: int) -> np.ndarray:
        """Weights ``N(0, 1/fan_in)`` from ``(seed, INIT, layer)``; biases 0."""
        g = np.zeros(self.structure.n_params)
        for layer, ((fan_in, n_out), q) in enumerate(zip(self.structure.layers, self.structure.offsets)):
            g[q : q + fan_in * n_out] = rng.normals(np.uint64(rng.make_key(np.uint64(seed), rng.INIT, layer, 0)), fan_in * n_out) / np.sqrt(fan_in)
        return g

    def decode(self, genome: np.ndarray) -> ConvNetwork:
        return ConvNetwork(self.structure, genome, self.head)

    def decode_arrays(self, genomes: np.ndarray) -> ConvArrays:
        return ConvArrays(np.ascontiguousarray(genomes, dtype=np.float32).reshape(-1, self.structure.n_params))

    def with_stats(self, stats: RunningStats) -> "ConvFamily":
        return self

    def forward_indexed(self, arrays: ConvArrays, members: np.ndarray, obs: np.ndarray, state=None) -> np.ndarray:
        """Scores ``(rows, n_outputs)``: row ``r`` of ``obs`` through member ``members[r]``.

        Each row goes through its member's weights alone, with BLAS on one thread: BLAS
        sums in an order that depends on the matrices' shapes (a batch of 2 rows gives
        other low bits than 1) and on its threads, and a member's numbers must not depend
        on which of its episodes share a step or on the process (docs/architecture.md)."""
        out = np.empty((obs.shape[0], self.structure.n_outputs))
        forward, params = self.structure.forward, arrays.params
        with one_blas_thread():
            for r, m in enumerate(np.asarray(members).tolist()):
                out[r] = forward(params[m], obs[r : r + 1])[0]
        return out


fileformat.register_reader(["conv"], ConvNetwork.read_record)
