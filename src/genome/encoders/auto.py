"""Choosing an encoder for any Gymnasium observation space, and running statistics.

============================  ===============================================================
observation space             encoder
============================  ===============================================================
``Box`` of floats             thermometer; edges ``mu_d + sigma_d * z_k`` from running statistics
                              (``z_k`` the standard-normal quantiles ``(k+1)/(n+1)``)
``Box`` of ``uint8``, 1-D     raw bits (Atari RAM: 128 bytes -> 1024 bits)
``Box`` of ``uint8``, 2-/3-D  image: grayscale, block-averaged to ``policy.image_size``, thresholded
``Discrete(n)``               one-hot over the ``n`` values
``MultiBinary(n)``            the bits themselves (sign encoder at 0.5)
============================  ===============================================================

Running statistics are per-dimension count, sum and sum of squares, gathered from the
observations members see during training (summed in member order, so they do not depend
on how members are split among workers), and saved in checkpoints; the encoder built from
them is saved with the policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from genome.encoders.base import Encoder
from genome.encoders.image import ImageEncoder
from genome.encoders.interval import DitheredThermometerEncoder, OneHotEncoder, SignEncoder, ThermometerEncoder, uniform_edges
from genome.encoders.raw import RawBitsEncoder
from genome.errors import ConfigError


def normal_quantiles(n: int) -> np.ndarray:
    nd = NormalDist()
    return np.array([nd.inv_cdf((k + 1) / (n + 1)) for k in range(n)])


@dataclass
class RunningStats:
    """Per-dimension observation statistics (float64 sums)."""

    count: float
    total: np.ndarray
    total_sq: np.ndarray

    @classmethod
    def empty(cls, dims: int) -> "RunningStats":
        return cls(0.0, np.zeros(dims), np.zeros(dims))

    def add(self, count: float, total: np.ndarray, total_sq: np.ndarray) -> None:
        self.count += float(count)
        self.total = self.total + total
        self.total_sq = self.total_sq + total_sq

    def add_samples(self, samples: np.ndarray) -> None:
        x = np.asarray(samples, np.float64).reshape(samples.shape[0], -1)
        x = np.where(np.isfinite(x), x, 0.0)
        self.add(x.shape[0], x.sum(axis=0), (x * x).sum(axis=0))

    @property
    def mean(self) -> np.ndarray:
        return self.total / max(self.count, 1.0)

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(np.maximum(self.total_sq / max(self.count, 1.0) - self.mean**2, 0.0))

    def arrays(self) -> dict[str, np.ndarray]:
        return {"stats_count": np.array(self.count), "stats_total": self.total, "stats_total_sq": self.total_sq}

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray]) -> "RunningStats":
        return cls(float(a["stats_count"]), np.asarray(a["stats_total"], np.float64), np.asarray(a["stats_total_sq"], np.float64))


def thermometer_from_stats(stats: RunningStats, bits_per_dim: int, spread: float = 0.0, dither: bool = False) -> ThermometerEncoder:
    """Edges ``mean + std * z_k``: with ``spread = 0`` the standard normal's quantiles
    ``(k+1)/(n+1)`` -- every bit splits the observed distribution evenly if it is roughly
    normal -- else ``z_k`` evenly spaced on ``[-spread, spread]`` (``policy.edge_spread``:
    the bits' sum then grows linearly with the normalized observation over that range, as a
    linear policy's input would; :func:`~genome.encoders.interval.uniform_edges`, so the C
    export computes them). A constant dimension gets all its edges at its value.
    ``dither``: a :class:`DitheredThermometerEncoder` (``policy.dither``)."""
    cls = DitheredThermometerEncoder if dither else ThermometerEncoder
    if spread > 0:  # evenly spaced: lo + k step exactly (uniform_edges), two floats per dimension in C
        step = 2 * spread / max(bits_per_dim - 1, 1)
        return cls([uniform_edges(stats.mean[d] - spread * stats.std[d], step * stats.std[d], bits_per_dim) for d in range(stats.mean.shape[0])])
    z = normal_quantiles(bits_per_dim)
    return cls([stats.mean[d] + stats.std[d] * z for d in range(stats.mean.shape[0])])


def uses_running_stats(space) -> bool:
    import gymnasium as gym

    return isinstance(space, gym.spaces.Box) and np.dtype(space.dtype).kind == "f"


def obs_dims(space) -> int:
    import gymnasium as gym

    if isinstance(space, gym.spaces.Discrete):
        return 1
    return int(np.prod(space.shape))


def encoder_for_space(space, policy, stats: RunningStats | None = None) -> Encoder:
    """The encoder for ``space`` under the ``[policy]`` config section."""
    import gymnasium as gym

    name = policy.encoder
    if policy.dither and not uses_running_stats(space):
        raise ConfigError(f"policy.dither shifts float observations before the thermometer; {space} has none (set policy.dither = false)")
    if isinstance(space, gym.spaces.Discrete):
        n = int(space.n)
        start = int(space.start)
        return OneHotEncoder([np.arange(start, start + n - 1, dtype=np.float64) + 0.5]) if n > 1 else SignEncoder([start - 0.5])
    if isinstance(space, gym.spaces.MultiBinary):
        return SignEncoder(np.full(int(np.prod(space.shape)), 0.5))
    if not isinstance(space, gym.spaces.Box):
        raise ConfigError(
            f"unsupported observation space {space}; genome handles Box, Discrete and MultiBinary "
            "(wrap others with gymnasium.wrappers.FlattenObservation)"
        )
    if np.dtype(space.dtype) == np.uint8:
        if len(space.shape) == 1 or name == "rawbits":
            return RawBitsEncoder.from_space(space)
        h, w = policy.image_size
        return ImageEncoder(space.shape, (min(h, space.shape[0]), min(w, space.shape[1])))
    if name not in ("thermometer", "auto"):
        raise ConfigError(f"policy.encoder {name!r} is not available for {space}; use 'thermometer' (or 'auto')")
    if stats is None or stats.count == 0:
        raise ConfigError("a float observation space needs observation statistics to place its edges")
    return thermometer_from_stats(stats, policy.bits_per_dim, policy.edge_spread, policy.dither)
