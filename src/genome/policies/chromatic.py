"""Weight-sharing families searched by a controller: ``chromatic``, ``masked`` and
``binary_chromatic`` (Song, Choromanski et al. 2020, "Reinforcement Learning with Chromatic
Networks for Compact Architecture Search", arXiv:1907.06511).

Each wraps a *base* family -- the dense ``mlp``/``linear`` structure, or the binary MLP --
whose genome starts with one entry per *edge* (every weight of every layer, row-major,
layer by layer; for binary networks every genome bit, bias bits included):

================== ============================ ============================= ==========
family             member genome                base genome                   choices K
================== ============================ ============================= ==========
chromatic          ``[w (M) | b | c (edges)]``  edge ``e`` = ``w[c_e]``, ``b``  M colors
masked             ``[v (edges) | b | c]``      edge ``e`` = ``v_e * c_e``     2 (off/on)
binary_chromatic   ``[w (M bits) | c]``         bit ``e`` = ``w[c_e]``         M colors
================== ============================ ============================= ==========

``w`` are the ``M = policy.partitions`` shared weights, ``b`` the per-node biases; ``c`` are
the controller's choices (:mod:`genome.strategies.controller`), sampled per member. The
strategy searches only the first part (``n_params`` entries); the family expands a whole
member genome to the base genome, so the base family's fused rollouts, Gymnasium path,
files and C export run unchanged. The saved policy is the expanded base network (it acts
the same); the run's ``summary.json`` records the partitions, weight parameters and bits,
and ``architecture.npz`` the chosen coloring or mask (``genome report``).

Storage, counted as the paper does: ``chromatic`` ``32 M`` bits of weights plus
``ceil(log2 M)`` bits per edge for the coloring (plus 32 per bias); ``masked`` 32 per
edge that is on, plus 1 bit per edge of mask; ``binary_chromatic`` ``M`` bits plus the
coloring.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from genome import rng
from genome.errors import ConfigError

KINDS = ("chromatic", "masked", "binary_chromatic")


@dataclass(frozen=True, eq=False)
class ControlledFamily:
    """A base family whose edges are colored (or masked) by per-member choices."""

    name: str  #: chromatic | masked | binary_chromatic
    base: object  #: DenseFamily (all layers dense) or BinaryMLP
    n_edges: int
    n_choices: int  #: M colors, or 2 for a mask
    n_bias: int = 0  #: per-node biases after the edges in the base genome (real families)

    def __post_init__(self):
        if self.name not in KINDS:
            raise ConfigError(f"unknown controlled family {self.name!r}")
        if self.name != "masked" and not 2 <= self.n_choices <= 255:
            raise ConfigError(f"policy.partitions must be between 2 and 255, got {self.n_choices}")

    # ------------------------------------------------------------ delegated
    @property
    def genome_kind(self) -> str:
        return self.base.genome_kind if hasattr(self.base, "genome_kind") else "bits"

    @property
    def kernel(self):
        return self.base.kernel

    @property
    def state_size(self) -> int:
        return self.base.state_size

    @property
    def head(self):
        return self.base.head

    @property
    def encoder(self):
        return getattr(self.base, "encoder", None)

    @property
    def normalizer(self):
        return getattr(self.base, "normalizer", None)

    @property
    def n_inputs(self) -> int:
        return self.base.n_inputs

    @property
    def layer_sizes(self):
        return self.base.layer_sizes

    @property
    def uses_obs_stats(self) -> bool:
        return self.base.uses_obs_stats

    def with_stats(self, stats) -> "ControlledFamily":
        return replace(self, base=self.base.with_stats(stats))

    # ---------------------------------------------------------------- sizes
    @property
    def n_shared(self) -> int:
        """Searched weights: M shared values, or one per edge for a mask."""
        return self.n_edges if self.name == "masked" else self.n_choices

    @property
    def n_params(self) -> int:
        """What the strategy searches: shared weights (+ biases)."""
        return self.n_shared + self.n_bias

    @property
    def n_genome(self) -> int:
        """A member's genome: the searched part, then one choice per edge."""
        return self.n_params + self.n_edges

    def weight_params(self, choices: np.ndarray) -> int:
        """Weight parameters of a network with these choices (the paper's count)."""
        if self.name == "masked":
            return int(np.count_nonzero(choices))
        return int(np.unique(choices).size)

    def storage_bits(self, choices: np.ndarray) -> int:
        """Bits to store the policy's parameters and its architecture (the paper's count)."""
        if self.name == "masked":
            return 32 * (self.weight_params(choices) + self.n_bias) + self.n_edges
        per_weight = 1 if self.name == "binary_chromatic" else 32
        return per_weight * self.n_choices + 32 * self.n_bias + self.n_edges * max(1, math.ceil(math.log2(self.n_choices)))

    @property
    def size_bits(self) -> int:
        return self.storage_bits(np.arange(self.n_edges) % self.n_choices)

    # ------------------------------------------------------------- genomes
    def initial_genome(self, seed: int) -> np.ndarray:
        """Shared real weights ``N(0, 1/n_0)`` (``n_0``: the observation width) from
        ``(seed, INIT)``, biases 0; shared bits uniform; a mask's weights as the base's."""
        if self.name == "binary_chromatic":
            return (rng.uniforms(np.uint64(rng.make_key(np.uint64(seed), rng.INIT, 0, 0)), self.n_choices) < 0.5).astype(np.uint8)
        if self.name == "masked":
            g = np.asarray(self.base.initial_genome(seed), np.float64)
            return g[: self.n_params].copy()
        g = np.zeros(self.n_params)
        g[: self.n_choices] = rng.normals(np.uint64(rng.make_key(np.uint64(seed), rng.INIT, 0, 0)), self.n_choices) / np.sqrt(self.base.n_inputs)
        return g

    def expand(self, genomes: np.ndarray) -> np.ndarray:
        """Member genomes ``(n, n_genome)`` -> base genomes ``(n, base.n_params)``."""
        g = np.atleast_2d(genomes)
        if g.shape[1] != self.n_genome:
            raise ConfigError(f"{self.name} genomes must have {self.n_genome} entries, got {g.shape[1]}")
        choices = g[:, self.n_params :].astype(np.int64)
        if self.name == "binary_chromatic":
            return np.ascontiguousarray(np.take_along_axis(g[:, : self.n_choices], choices, axis=1), dtype=np.uint8)
        out = np.empty((g.shape[0], self.n_edges + self.n_bias), dtype=np.float32)
        if self.name == "chromatic":
            out[:, : self.n_edges] = np.take_along_axis(g[:, : self.n_choices], choices, axis=1)
        else:
            out[:, : self.n_edges] = g[:, : self.n_edges] * choices
        out[:, self.n_edges :] = g[:, self.n_shared : self.n_params]
        return out

    def decode_arrays(self, genomes: np.ndarray):
        return self.base.decode_arrays(self.expand(genomes))

    def decode(self, genome: np.ndarray):
        """The base network the member genome expands to (it acts, saves and exports as one)."""
        return self.base.decode(self.expand(genome)[0])

    def forward_indexed(self, arrays, members: np.ndarray, obs: np.ndarray, state=None) -> np.ndarray:
        return self.base.forward_indexed(arrays, members, obs, state)

    def architecture(self, genome: np.ndarray) -> dict:
        """What ``genome report`` shows: choices per layer, weight parameters, bits."""
        g = np.asarray(genome).reshape(-1)
        choices = g[self.n_params :].astype(np.int64)
        sizes = self.base.layer_sizes
        layers, q = [], 0
        bias = getattr(self.base, "bias_bits", 0) if self.name == "binary_chromatic" else 0
        for i in range(len(sizes) - 1):
            n_in, n_out = sizes[i] + bias, sizes[i + 1]
            layers.append(choices[q : q + n_in * n_out].reshape(n_out, n_in))
            q += n_in * n_out
        return {"family": self.name, "partitions": self.n_choices if self.name != "masked" else 0, "edges": self.n_edges,
                "weight_params": self.weight_params(choices), "bits": self.storage_bits(choices), "layers": layers,
                "shared": g[: self.n_shared]}


ARCHITECTURE_FILE = "architecture.npz"


def save_architecture(path, arch: dict) -> None:
    """The chosen coloring/mask of a run (``genome report``), written atomically (npz, no pickle)."""
    import io

    from genome.io import atomic_write_bytes

    arrays = {f"layer_{i}": np.asarray(layer, np.int64) for i, layer in enumerate(arch["layers"])}
    arrays.update(shared=np.asarray(arch["shared"], np.float64), family=np.array(arch["family"]),
                  partitions=np.array(arch["partitions"]), weight_params=np.array(arch["weight_params"]), bits=np.array(arch["bits"]))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def load_architecture(path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        n = sum(1 for k in z.files if k.startswith("layer_"))
        return {"family": str(z["family"]), "partitions": int(z["partitions"]), "weight_params": int(z["weight_params"]),
                "bits": int(z["bits"]), "shared": z["shared"], "layers": [z[f"layer_{i}"] for i in range(n)]}
