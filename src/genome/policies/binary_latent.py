"""The ``binary_latent`` family: a binary network searched through real latent weights.

The trained policy is a binary network (:class:`~genome.nets.binary.BinaryNetwork`: ±1
weights, XOR + popcount, integer thresholds), saved, run and exported like ``binary_mlp``.
What differs is the genome the strategy searches: real numbers, one per *group* of bits,
and a bit is the sign of its group's latent weight shifted by a fixed offset,

    bit_i = [ c_{g(i)} + d_i > 0 ]

so the real-valued strategies (OpenAI-ES, ARS V2-t with top directions, normalized steps
and orthogonal directions, the GA) search binary networks, with observation statistics
placing the thermometer edges as ARS's filter normalizes inputs.

``policy.latent`` chooses the groups:

* ``"input"`` (the default): in the first layer, the bits of one unit that read one
  observation dimension (its ``bits_per_dim`` thermometer bits) form one group, and so do
  the unit's bias bits; deeper layers have one group per bit. The offsets inside a group
  of ``K`` bits are a fixed low-discrepancy sequence, ``d_k = 2 frac(1/2 + k / phi) - 1``
  (``phi`` the golden ratio), so a latent ``c`` in ``[-1, 1]`` switches on about
  ``K (1 + c) / 2`` of the group's bits, spread evenly over the thermometer's edges: the
  unit's response to that dimension is a staircase of slope ``c`` (``sum_k w_k x_k``
  with ``x`` the thermometer bits). ``policy.latent_order = "bitreversal"`` uses the van
  der Corput order instead (:func:`bitreversal_offsets`): at ``c = 0`` every other edge's
  bit is on, so the zero genome responds ``±1`` per dimension, where the golden order's
  half of the bits leaves a staircase with an offset (-5 to +1, mean -1.2, for 27 bits on
  normal-quantile edges) -- a network that pushes every joint one way before it has learned
  anything. A linear binary policy on Hopper (11 dimensions x 16
  bits x 3 outputs = 528 weight bits) is searched in 33 + 3 numbers -- the size of ARS's
  real linear policy -- instead of 576.
* ``"bit"``: every bit its own latent (offset 0), ``bit = [c > 0]``: a latent Gaussian
  whose sign is the bit; the initial latents are ``N(0, 1)`` (random bits).

**Relaxation** (``policy.relax``, linear networks on the Gymnasium path): a bit's weight
jumps from -1 to +1 as its latent crosses ``-d_i``, so small steps of the strategy mostly
change nothing and the returns of a step function guide it. With ``relax = w0 > 0`` the
training members instead run the relaxed network

    s_j = sum_i clip((c_{g(i)} + d_i) / w, -1, 1) xbar_i + sum_b clip((c_{g(b)} + d_b) / w, -1, 1)

on the expected input code ``xbar`` (:meth:`~genome.encoders.base.Encoder.expected_signs`:
the ``±1`` thermometer bits, averaged over the dither's shifts), with the width
``w_g = max(w0 relax_decay^g, relax_min)`` at generation ``g``. ``clip((c + d) / w, -1, 1)``
is the expected sign of ``c + d + u`` for ``u`` uniform on ``[-w, w]``, and as ``w -> 0`` the
relaxed network is the binary one -- which is what center checks, the stopping test, the
evaluations and the saved policy always run (the graduated relaxation of binary networks,
e.g. BinaryConnect's hard-sigmoid with annealing; Courbariaux et al. 2015).

The latent genome starts at zero for ``"input"`` (every group half on: responses near 0, as
ARS's zero-initialized linear policy). With an ``affine`` head (the integer readout,
:mod:`genome.policies.heads`) the output scores become continuous actions by one affine map.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from genome import rng
from genome.errors import ConfigError
from genome.nets.binary import BinaryNetwork
from genome.policies.binary_mlp import BinaryMLP

#: 1 / golden ratio: the additive recurrence frac(1/2 + k / phi) spreads any prefix evenly
INV_PHI = (np.sqrt(5.0) - 1.0) / 2.0

LATENT_GROUPS = ("input", "bit")
LATENT_ORDERS = ("golden", "bitreversal")


def dither_offsets(k: int) -> np.ndarray:
    """The offsets ``d_0 .. d_{k-1}`` in ``(-1, 1)`` of a group of ``k`` bits (``d_0 = 0``)."""
    return 2.0 * np.mod(0.5 + np.arange(k) * INV_PHI, 1.0) - 1.0


def radical_inverse(k: int) -> float:
    """The base-2 radical inverse of ``k`` (van der Corput): its binary digits mirrored
    behind the point, ``6 = 110b -> 0.011b = 0.375``."""
    v, f = 0.0, 0.5
    while k:
        v += f * (k & 1)
        k >>= 1
        f *= 0.5
    return v


def bitreversal_offsets(k: int) -> np.ndarray:
    """Offsets ``d_i = 1 - 2 r_i / k`` with ``r_i`` bit ``i``'s rank in the van der Corput
    order: as the latent grows the bits switch on in that order, and at ``c = 0`` exactly the
    even-indexed ``ceil(k / 2)`` are on, every other thermometer edge, so a unit's response
    to a dimension is ``±1`` around zero (odd ``k``) instead of the golden order's bias."""
    order = np.argsort([radical_inverse(i) for i in range(k)], kind="stable")
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k)
    return 1.0 - 2.0 * rank / k


def group_offsets(k: int, order: str) -> np.ndarray:
    """A group of ``k`` bits' offsets in ``policy.latent_order``."""
    return bitreversal_offsets(k) if order == "bitreversal" else dither_offsets(k)


def latent_map(base: BinaryMLP, groups: str, order: str = "golden") -> tuple[np.ndarray, np.ndarray, int]:
    """``(group of each genome bit, offset of each bit, number of groups)`` for the base
    family's genome layout (per layer, per unit: ``n_in`` weight bits, then ``bias_bits``)."""
    if groups not in LATENT_GROUPS:
        raise ConfigError(f"policy.latent must be one of {', '.join(LATENT_GROUPS)}, got {groups!r}")
    if order not in LATENT_ORDERS:
        raise ConfigError(f"policy.latent_order must be one of {', '.join(LATENT_ORDERS)}, got {order!r}")
    sizes = base.layout.sizes
    group = np.empty(base.n_params, dtype=np.int64)
    offset = np.zeros(base.n_params)
    enc_offsets = np.asarray(base.encoder.bit_offsets, dtype=np.int64) if hasattr(base.encoder, "bit_offsets") else None
    q = g = 0
    for layer in range(len(sizes) - 1):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        for _ in range(n_out):
            if groups == "input" and layer == 0 and enc_offsets is not None:
                for a, b in zip(enc_offsets[:-1], enc_offsets[1:]):
                    group[q + a : q + b] = g
                    offset[q + a : q + b] = group_offsets(int(b - a), order)
                    g += 1
            else:
                group[q : q + n_in] = np.arange(g, g + n_in)
                g += n_in
            q += n_in
            if base.bias_bits:
                if groups == "input":
                    group[q : q + base.bias_bits] = g
                    offset[q : q + base.bias_bits] = group_offsets(base.bias_bits, order)
                    g += 1
                else:
                    group[q : q + base.bias_bits] = np.arange(g, g + base.bias_bits)
                    g += base.bias_bits
                q += base.bias_bits
    return group, offset, g


class RelaxedArrays(NamedTuple):
    """Relaxed networks of a population: ``weights (members, outputs, input bits)`` in
    ``[-1, 1]`` and ``bias (members, outputs)``; float64 scores instead of popcounts."""

    weights: np.ndarray
    bias: np.ndarray


class BinaryLatent:
    """Genome (float32 latents, one per group) -> bits -> the base :class:`BinaryMLP`'s network.

    Everything below the family -- the fused rollouts, the Gymnasium path, the policy file,
    C export -- sees the base family (``base``), as for the weight-sharing families."""

    name = "binary_latent"
    genome_kind = "reals"
    kernel = "binary"
    state_size = 0  #: feed-forward: no memory between steps

    def __init__(self, base: BinaryMLP, groups: str = "input", relax: float = 0.0, relax_decay: float = 1.0, relax_min: float = 0.0,
                 order: str = "golden"):
        self.base = base
        self.groups = groups
        self.order = order
        self.group, self.offset, self.n_params = latent_map(base, groups, order)
        if relax > 0 and len(base.layout.sizes) != 2:
            raise ConfigError("policy.relax relaxes a linear binary_latent network: set policy.hidden = [] (or policy.relax = 0)")
        self.relax, self.relax_decay, self.relax_min = float(relax), float(relax_decay), float(relax_min)

    # ------------------------------------------------------------- sizes
    @property
    def size_bits(self) -> int:
        """The trained policy's weight and threshold bits (the base network's genome)."""
        return self.base.size_bits

    @property
    def n_inputs(self) -> int:
        return self.base.n_inputs

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return self.base.layer_sizes

    @property
    def head(self):
        return self.base.head

    @property
    def encoder(self):
        return self.base.encoder

    @property
    def uses_obs_stats(self) -> bool:
        return self.base.uses_obs_stats

    def with_stats(self, stats) -> "BinaryLatent":
        base = self.base.with_stats(stats)
        if base is self.base:
            return self
        out = object.__new__(BinaryLatent)
        out.__dict__.update(self.__dict__)
        out.base = base
        return out

    # ----------------------------------------------------------- genomes
    def initial_genome(self, seed: int) -> np.ndarray:
        """``"input"``: zeros (every group half on); ``"bit"``: ``N(0, 1)`` from ``(seed, INIT)``."""
        if self.groups == "input":
            return np.zeros(self.n_params)
        return rng.normals(np.uint64(rng.make_key(np.uint64(seed), rng.INIT, 0, 0)), self.n_params)

    def bits(self, genomes: np.ndarray) -> np.ndarray:
        """Latent genomes ``(members, n_params)`` -> the base genomes' bits ``(members, n_bits)``."""
        return (self._shifted_latents(genomes) > 0).astype(np.uint8)

    def _shifted_latents(self, genomes: np.ndarray) -> np.ndarray:
        """``c_{g(i)} + d_i`` for every bit of every genome ``(members, n_bits)``."""
        genomes = np.asarray(genomes)
        if genomes.ndim != 2 or genomes.shape[1] != self.n_params:
            raise ConfigError(f"genomes must have shape (members, {self.n_params}), got {genomes.shape}")
        return np.asarray(genomes, np.float64)[:, self.group] + self.offset

    def decode_arrays(self, genomes: np.ndarray):
        return self.base.decode_arrays(self.bits(genomes))

    def relax_width(self, generation: int) -> float:
        """``max(relax relax_decay^generation, relax_min)``; 0 when the relaxation is off."""
        if self.relax <= 0:
            return 0.0
        return max(self.relax * self.relax_decay ** int(generation), self.relax_min)

    def relaxed_arrays(self, genomes: np.ndarray, width: float) -> "RelaxedArrays":
        """The relaxed networks of ``genomes`` at ``width`` (module docstring, "Relaxation")."""
        n_in, n_out = self.base.layout.sizes
        w = np.clip(self._shifted_latents(genomes) / width, -1.0, 1.0)
        w = w.reshape(w.shape[0], n_out, n_in + self.base.bias_bits)
        return RelaxedArrays(np.ascontiguousarray(w[:, :, :n_in]), w[:, :, n_in:].sum(axis=2))

    def train_arrays(self, genomes: np.ndarray, generation: int):
        """What the training members of ``generation`` run: the relaxed networks while the
        relaxation is on, else the binary ones (:meth:`decode_arrays`)."""
        width = self.relax_width(generation)
        return self.relaxed_arrays(genomes, width) if width > 0 else self.decode_arrays(genomes)

    def forward_indexed(self, arrays, members: np.ndarray, obs: np.ndarray, state=None) -> np.ndarray:
        if isinstance(arrays, RelaxedArrays):
            x = self.base.encoder.expected_signs(obs)
            m = np.asarray(members, dtype=np.int64)
            return np.einsum("rjk,rk->rj", arrays.weights[m], x) + arrays.bias[m]
        return self.base.forward_indexed(arrays, members, obs, state)

    def decode(self, genome: np.ndarray) -> BinaryNetwork:
        return self.base.decode(self.bits(np.asarray(genome).reshape(1, -1))[0])
