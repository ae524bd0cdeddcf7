"""Observation normalization for real-valued policies (Salimans et al. 2017; Mania et al. 2018).

The network sees ``clip((o - mean) / max(std, floor), -clip, clip)``. ``mean`` and ``std``
come from running sums (count, sum, sum of squares) of the observations the members
themselves visited: each generation's sums are gathered per member, added in member order
(so any split among threads, processes or machines gives the same bits), and merged
into the running sums *after* the generation -- the statistics are frozen while a
generation is evaluated. Before any observation is seen, ``mean = 0`` and ``std = 1``.
They are saved in checkpoints and in the policy file (docs/architecture.md).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from genome.encoders.auto import RunningStats


@dataclass(frozen=True, eq=False)
class ObsNormalizer:
    mean: np.ndarray  #: float32
    std: np.ndarray  #: float32, already floored
    clip: float = 5.0

    @classmethod
    def identity(cls, dims: int, clip: float = 5.0) -> "ObsNormalizer":
        return cls(np.zeros(dims, np.float32), np.ones(dims, np.float32), float(np.float32(clip)))

    @classmethod
    def from_stats(cls, stats: RunningStats, floor: float, clip: float) -> "ObsNormalizer":
        dims = stats.total.shape[0]
        if stats.count <= 0:
            return cls.identity(dims, clip)
        std = np.maximum(stats.std, floor)
        return cls(stats.mean.astype(np.float32), std.astype(np.float32), float(np.float32(clip)))

    @property
    def dims(self) -> int:
        return self.mean.shape[0]

    def arrays(self) -> tuple[np.ndarray, np.ndarray, float]:
        """``(mean, std, clip)`` as float64 for the kernels."""
        return self.mean.astype(np.float64), self.std.astype(np.float64), float(self.clip)

    def __call__(self, obs) -> np.ndarray:
        o = np.asarray(obs, np.float32).astype(np.float64)
        mean, std, clip = self.arrays()
        return np.clip((o - mean) / std, -clip, clip)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ObsNormalizer)
            and np.array_equal(self.mean, other.mean)
            and np.array_equal(self.std, other.std)
            and self.clip == other.clip
        )

    __hash__ = None

    # ------------------------------------------------------------------ file
    def payload(self) -> bytes:
        return struct.pack("<If", self.dims, self.clip) + self.mean.astype("<f4").tobytes() + self.std.astype("<f4").tobytes()

    @classmethod
    def from_payload(cls, reader) -> "ObsNormalizer":
        dims, clip = reader.unpack("If", "normalizer header")
        if dims > 1 << 24:
            raise reader.fail(f"malformed policy: normalizer of {dims} dimensions")
        mean = np.frombuffer(reader.take(4 * dims, "normalizer mean"), "<f4").astype(np.float32)
        std = np.frombuffer(reader.take(4 * dims, "normalizer std"), "<f4").astype(np.float32)
        if not (np.all(np.isfinite(mean)) and np.all(std > 0) and np.isfinite(clip) and clip > 0):
            raise reader.fail("malformed policy: normalizer has non-finite or non-positive values")
        return cls(mean, std, float(clip))
