"""Real-valued policy families: ``linear``, ``mlp``, ``toeplitz`` and ``circulant``.

A genome is a float32 vector; the family expands it into dense layers
(:class:`genome.nets.dense.DenseStructure`), normalizes observations
(:class:`genome.policies.normalize.ObsNormalizer`) and maps the output scores to an action
with an :class:`~genome.policies.heads.ActionHead` (argmax for discrete actions; ``tanh``
with scale 1, or ``bins``, for boxes).

============  ===========================  ==============================================
family        layers                       initial genome
============  ===========================  ==============================================
linear        one dense layer, no bias     zeros (as ARS: Mania et al. 2018)
mlp           dense, tanh hidden layers    hidden weights ``N(0, 1/n_in)``, the rest zero
toeplitz      Toeplitz layers              as mlp, per parameter of ``t``
circulant     circulant layers             as mlp
============  ===========================  ==============================================

Hidden layers have biases; the output layer has one only with ``policy.output_bias``. The
initial genome is a pure function of the run seed (counter-based generator, purpose INIT).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from genome import rng
from genome.encoders.auto import RunningStats
from genome.errors import ShapeError
from genome.io import Reader, atomic_write_bytes
from genome.nets import fileformat
from genome.nets.dense import DenseStructure, dense_forward, dense_forward_indexed, normalize_into, structure
from genome.policies.heads import ActionHead
from genome.policies.normalize import ObsNormalizer


class _DenseSizes:
    """Sizes derived from ``self.structure`` (a :class:`DenseStructure`)."""

    structure: DenseStructure

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return self.structure.sizes

    @property
    def n_params(self) -> int:
        return self.structure.n_params

    @property
    def size_bits(self) -> int:
        return 32 * self.structure.n_params


class DenseNetwork(_DenseSizes):
    """A trained real-valued policy: normalizer -> layers -> head. ``act_obs(obs)`` acts."""

    kernel = "dense"
    encoder = None
    state_size = 0  #: feed-forward: no memory between steps (``act_obs``'s ``state`` is unused)

    def __init__(self, family: str, structure: DenseStructure, genome: np.ndarray, normalizer: ObsNormalizer, head: ActionHead):
        self.family = family
        self.structure = structure
        self.genome = np.ascontiguousarray(genome, dtype=np.float32).reshape(-1)
        if self.genome.shape[0] != structure.n_params:
            raise ShapeError(f"a {family} genome needs {structure.n_params} parameters, got {self.genome.shape[0]}")
        if normalizer.dims != structure.sizes[0]:
            raise ShapeError(f"normalizer has {normalizer.dims} dimensions, the network {structure.sizes[0]} inputs")
        if head.n_outputs != structure.sizes[-1]:
            raise ShapeError(f"action head '{head.name}' needs {head.n_outputs} outputs but the network has {structure.sizes[-1]}")
        self.normalizer = normalizer
        self.head = head
        self.params = structure.expand(self.genome[None])[0]

    def kernel_arrays(self) -> "DenseArrays":
        """This network as a population of one, for the fused rollouts."""
        return DenseArrays(self.params[None])

    def scores(self, obs) -> np.ndarray:
        """Output scores (float64) for one raw observation."""
        obs = np.asarray(obs, np.float32).reshape(-1)
        n = self.structure.sizes[0]
        if obs.shape[0] != n:
            raise ShapeError(f"this policy expects observations of {n} values, got {obs.shape[0]}")
        width = max(self.structure.sizes)
        x, y = np.empty(width), np.empty(width)
        mean, std, clip = self.normalizer.arrays()
        normalize_into(obs, mean, std, clip, x)
        return dense_forward(self.params, self.structure.sizes_array, x, y)[: self.structure.sizes[-1]].copy()

    def act_obs(self, obs, state=None):
        return self.head(self.scores(obs))

    def to_bytes(self) -> bytes:
        """The policy file (:mod:`genome.nets.fileformat`): the layer structure, the genome
        (so a Toeplitz layer costs its ``n_out + n_in - 1`` parameters on disk), the
        normalizer and the head."""
        record = [self.structure.payload(), struct.pack("<I", self.genome.shape[0]), self.genome.astype("<f4").tobytes(),
                  self.normalizer.payload(), bytes([1]) + self.head.payload()]
        return fileformat.frame(fileformat.FAMILY_TAGS[self.family], b"".join(record))

    @classmethod
    def read_record(cls, r: Reader, family: str) -> "DenseNetwork":
        """Inverse of :meth:`to_bytes` from the record on (registered with the file format)."""
        structure = DenseStructure.from_payload(r)
        n = r.u32("parameter count")
        if n != structure.n_params:
            raise r.fail(f"malformed policy: {n} parameters stored, the layers need {structure.n_params}")
        genome = np.frombuffer(r.take(4 * n, "parameters"), "<f4").astype(np.float32)
        normalizer = ObsNormalizer.from_payload(r)
        if r.u8("action head flag") != 1:
            raise r.fail("malformed policy: a real-valued policy needs an action head")
        head = ActionHead.from_payload(r)
        fileformat.check_end(r)
        try:
            return cls(family, structure, genome, normalizer, head)
        except (ShapeError, ValueError) as exc:
            raise r.fail(f"malformed policy: {exc}") from None

    def save(self, path: str | os.PathLike) -> None:
        atomic_write_bytes(path, self.to_bytes())

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, DenseNetwork)
            and other.family == self.family
            and other.structure == self.structure
            and np.array_equal(other.genome, self.genome)
            and other.normalizer == self.normalizer
            and other.head == self.head
        )

    __hash__ = None

    def __repr__(self) -> str:
        return f"DenseNetwork(family={self.family!r}, layer_sizes={self.layer_sizes}, params={self.n_params})"


@dataclass(frozen=True, eq=False)
class DenseArrays:
    """A decoded population for the kernels: flat parameters ``(members, n_flat)``."""

    params: np.ndarray


@dataclass(frozen=True, eq=False)
class DenseFamily(_DenseSizes):
    """Genome (float32 reals) -> :class:`DenseNetwork`; see the module docstring."""

    name: str
    structure: DenseStructure
    head: ActionHead
    normalizer: ObsNormalizer
    obs_norm: bool = True  #: gather running observation statistics and normalize with them
    std_floor: float = 0.1
    kernel = "dense"
    genome_kind = "reals"
    state_size = 0  #: feed-forward: no memory between steps

    @classmethod
    def create(cls, name: str, obs_dim: int, hidden: Sequence[int], head: ActionHead, layer_kind: str, output_bias: bool,
               obs_norm: bool = True, std_floor: float = 0.1, clip: float = 5.0) -> "DenseFamily":
        s = structure(obs_dim, hidden, head.n_outputs, layer_kind, output_bias)
        return cls(name, s, head, ObsNormalizer.identity(obs_dim, clip), obs_norm, std_floor)

    @property
    def n_inputs(self) -> int:
        return self.structure.sizes[0]

    @property
    def uses_obs_stats(self) -> bool:
        return self.obs_norm

    def initial_genome(self, seed: int) -> np.ndarray:
        """Hidden layers' weights ``N(0, 1/n_in)`` from ``(seed, INIT)``; output layer and biases 0."""
        s = self.structure
        g = np.zeros(s.n_params)
        q = 0
        for layer in range(s.n_layers):
            n = s.layer_weight_params(layer)
            if layer < s.n_layers - 1:
                g[q : q + n] = rng.normals(np.uint64(rng.make_key(np.uint64(seed), rng.INIT, layer, 0)), n) / np.sqrt(s.sizes[layer])
            q += n
        return g

    def decode(self, genome: np.ndarray) -> DenseNetwork:
        return DenseNetwork(self.name, self.structure, genome, self.normalizer, self.head)

    def decode_arrays(self, genomes: np.ndarray) -> DenseArrays:
        return DenseArrays(self.structure.expand(genomes))

    def with_stats(self, stats: RunningStats) -> "DenseFamily":
        if not self.obs_norm:
            return self
        return replace(self, normalizer=ObsNormalizer.from_stats(stats, self.std_floor, self.normalizer.clip))

    def forward_indexed(self, arrays: DenseArrays, members: np.ndarray, obs: np.ndarray, state=None) -> np.ndarray:
        """Scores ``(rows, n_outputs)`` of raw observations ``obs``, row ``r`` through member ``members[r]``."""
        out = np.empty((obs.shape[0], self.head.n_outputs))
        mean, std, clip = self.normalizer.arrays()
        dense_forward_indexed(arrays.params, self.structure.sizes_array, members.astype(np.int64),
                              np.ascontiguousarray(obs, dtype=np.float32), mean, std, clip, out)
        return out


fileformat.register_reader(["linear", "mlp", "toeplitz", "circulant"], DenseNetwork.read_record)
