"""``BinaryPopulation``: many binary networks of one layout in one contiguous array.

This is the form training evaluates at every environment step: member ``m`` maps its
own inputs ``x[m]`` through its own weights ``weights[m]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np

from genome.errors import ShapeError
from genome.nets import kernels
from genome.nets.binary import BinaryNetwork
from genome.nets.layout import Layout


class BinaryPopulation:
    """``weights`` ``(members, layout.n_weight_words)`` uint64 and ``thresholds``
    ``(members, layout.n_thresholds)`` int32, both C-contiguous."""

    def __init__(self, layout: Layout, weights: np.ndarray, thresholds: np.ndarray):
        self.layout = layout
        self.weights = np.ascontiguousarray(weights, dtype=np.uint64)
        self.thresholds = np.ascontiguousarray(thresholds, dtype=np.int32)
        if self.weights.ndim != 2 or self.weights.shape[1] != layout.n_weight_words:
            raise ShapeError(f"population weights must be (members, {layout.n_weight_words}), got {self.weights.shape}")
        if self.thresholds.shape != (self.weights.shape[0], layout.n_thresholds):
            raise ShapeError(
                f"population thresholds must be ({self.weights.shape[0]}, {layout.n_thresholds}), got {self.thresholds.shape}"
            )

    @classmethod
    def from_networks(cls, networks: Sequence[BinaryNetwork]) -> "BinaryPopulation":
        if not networks:
            raise ShapeError("a population needs at least one network")
        layout = networks[0].layout
        for i, net in enumerate(networks):
            if net.layout != layout:
                raise ShapeError(f"network {i} has layer sizes {net.layer_sizes}, expected {layout.sizes}")
        return cls(layout, np.stack([n.weights for n in networks]), np.stack([n.thresholds for n in networks]))

    def __len__(self) -> int:
        return self.weights.shape[0]

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Packed inputs ``(members, words)`` or ``(members, batch, words)`` -> int32 scores
        ``(members, n_out)`` or ``(members, batch, n_out)``."""
        x = np.asarray(x)
        lay = self.layout
        nw = (lay.sizes[0] + 63) // 64
        if x.dtype != np.uint64 or x.ndim not in (2, 3) or x.shape[0] != len(self) or x.shape[-1] != nw:
            raise ShapeError(
                f"population input must be packed uint64 ({len(self)}, [batch,] {nw}), got {x.shape} {x.dtype}"
            )
        x3 = np.ascontiguousarray(x.reshape(x.shape[0], -1, nw))
        out = np.empty(x3.shape[:2] + (lay.sizes[-1],), dtype=np.int32)
        kernel = kernels.forward_population
        if len(self) > 1 and numba.get_num_threads() > 1 and x3.shape[0] * x3.shape[1] >= 1024:
            kernel = kernels.forward_population_parallel
        kernel(self.weights, self.thresholds, lay.sizes_array, lay.w_offsets, lay.t_offsets, x3, out)
        return out.reshape(x.shape[:-1] + (lay.sizes[-1],))
