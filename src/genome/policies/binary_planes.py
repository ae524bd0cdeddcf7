"""The ``binary_planes`` family: a linear binary policy with bit-plane weights, searched
through one real latent per weight.

The trained policy is a :class:`~genome.nets.planes.PlaneNetwork`: each output reads each
observation dimension's thermometer bits (``T_d``, their sum) through a weight of
``B = policy.planes`` ±1 planes worth ``2^b`` each (and, with ``policy.output_bias``, a
bias of ``B`` planes on ``K`` constant +1 bits),

    s_j = sum_d q_{j,d} T_d [+ q_{j,bias} K],   q = sum_b 2^b beta_b,  beta_b = ±1

and an affine head maps the integer scores to actions (docs/guides/binary-networks.md).

Why planes. With one ±1 weight per thermometer bit (``binary_mlp`` / ``binary_latent``)
a unit's response to a dimension is a staircase whose slope is ±1 per edge: a slope
between the two extremes needs a mixture of ±1 bits, so the resolution of an effective
weight is ``2 / K`` of its range and every intermediate weight carries a zigzag. ARS's
Hopper policies have weights of 0.1 - 0.36 per standard deviation, a few such steps.
Planes give the weight ``2^B`` exact levels and a response that is linear in ``T_d``,
for ``B`` stored bits per weight instead of ``K``.

The genome: real latents ``c``, one per weight (``outputs x dims``, then a bias column),
starting at zero as ARS's linear policy; a weight is ``q = clip(2 floor(c 2^(B-1)) + 1,
±(2^B - 1))`` (:func:`~genome.nets.planes.quantize`): ``q / 2^B`` is ``c`` to within
``2^-B``. The automatic readout scale ``2^B K / edge_spread`` makes ``c`` the action per
standard deviation of the observation (the edges are ``mean + std z`` with ``z`` evenly
on ``[-edge_spread, edge_spread]``), so the latents are ARS's weights and take ARS's
``sigma`` and ``lr``.
"""

from __future__ import annotations

import numpy as np

from genome.encoders.base import Encoder
from genome.errors import ConfigError
from genome.nets.planes import PlaneNetwork, check_encoder, check_planes, obs_levels, plane_scores, quantize
from genome.policies.heads import ActionHead


class BinaryPlanes:
    """Genome (float latents, one per weight) -> plane weights -> a :class:`PlaneNetwork`."""

    name = "binary_planes"
    genome_kind = "reals"
    kernel = "binary_planes"
    state_size = 0  #: feed-forward: no memory between steps

    def __init__(self, encoder: Encoder, head: ActionHead, planes: int, running_bits: int = 0, running_spread: float = 0.0,
                 dither: bool = False, bias: bool = False):
        check_encoder(encoder)
        self.planes = check_planes(planes)
        self.encoder, self.head = encoder, head
        self.running_bits, self.running_spread, self.dither = int(running_bits), float(running_spread), bool(dither)
        self.n_outputs, self.dims = head.n_outputs, encoder.n_inputs
        self.bias = bool(bias)
        self.n_params = self.n_outputs * (self.dims + self.bias)
        self.bias_input = int(encoder.edge_counts.max())

    @property
    def size_bits(self) -> int:
        """The trained policy's weight bits: ``outputs x (dims [+ 1]) x planes``."""
        return self.n_params * self.planes

    @property
    def n_inputs(self) -> int:
        return self.encoder.n_inputs

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return (self.encoder.n_bits, self.n_outputs)

    @property
    def uses_obs_stats(self) -> bool:
        return self.running_bits > 0

    def with_stats(self, stats) -> "BinaryPlanes":
        """The same family with thermometer edges from running statistics ``stats``."""
        if not self.running_bits:
            return self
        from genome.encoders.auto import thermometer_from_stats

        encoder = thermometer_from_stats(stats, self.running_bits, self.running_spread, self.dither)
        if encoder == self.encoder:
            return self
        return BinaryPlanes(encoder, self.head, self.planes, self.running_bits, self.running_spread, self.dither, self.bias)

    def initial_genome(self, seed: int) -> np.ndarray:
        """Zeros: every weight ``q = 1``, the smallest positive level (ARS starts at zero)."""
        return np.zeros(self.n_params)

    def decode_arrays(self, genomes: np.ndarray) -> np.ndarray:
        """Latent genomes ``(members, n_params)`` -> plane weights ``q`` int64 ``(members, outputs, dims [+ 1])``."""
        genomes = np.asarray(genomes)
        if genomes.ndim != 2 or genomes.shape[1] != self.n_params:
            raise ConfigError(f"genomes must have shape (members, {self.n_params}), got {genomes.shape}")
        return quantize(genomes, self.planes).reshape(genomes.shape[0], self.n_outputs, self.dims + self.bias)

    def forward_indexed(self, arrays, members: np.ndarray, obs: np.ndarray, state=None) -> np.ndarray:
        """Scores (float64 ``(rows, outputs)``, exact integers) of raw observations, row ``r``
        through member ``members[r]``."""
        levels = obs_levels(self.encoder, np.asarray(obs).reshape(obs.shape[0], -1))
        return plane_scores(arrays, np.asarray(members, dtype=np.int64), levels, self.bias_input).astype(np.float64)

    def decode(self, genome: np.ndarray) -> PlaneNetwork:
        return PlaneNetwork(self.decode_arrays(np.asarray(genome).reshape(1, -1))[0], self.planes, self.encoder, self.head)
