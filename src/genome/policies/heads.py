"""Action heads: how a network's integer output scores become an environment action.

========  ======================  ==================================================
head      outputs                 action
========  ======================  ==================================================
argmax    ``n`` (one per action)  ``argmax_j s_j`` (ties to the lowest index)
bins      ``K`` per action dim    ``low + (high - low) * argmax_k s_{d,k} / (K - 1)``
tanh      1 per action dim        ``mid + half * tanh(s_d / scale)``
clip      1 per action dim        ``clip(s_d, low, high)`` (ARS's linear policies)
affine    1 per action dim        ``clip(mid + half * (s_d / scale), low, high)``
========  ======================  ==================================================

with ``mid = (low + high) / 2`` and ``half = (high - low) / 2``. ``bins`` picks one of
``K`` evenly spaced values per action dimension (``K = 2`` is bang-bang control); ``tanh``
scales each score by ``scale`` (by default ``sqrt(n_in)`` of the output layer, the
standard deviation of a score under random weights). ``affine`` is the binary networks'
**integer readout**: the output layer's popcount sums ``s`` (integers) become actions by
one affine map per dimension, ``a = clip(alpha s + beta, low, high)`` with
``alpha = half / scale`` and ``beta = mid`` -- fine control with no bins, and everything
before the map stays integer (the C export computes it in double, as here).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np
from numba import njit

from genome.errors import ConfigError

ARGMAX, BINS, TANH, CLIP, AFFINE = 0, 1, 2, 3, 4
HEAD_NAMES = {"argmax": ARGMAX, "bins": BINS, "tanh": TANH, "clip": CLIP, "affine": AFFINE}


@dataclass(frozen=True, eq=True)
class ActionHead:
    kind: int
    n_actions: int = 0  #: argmax: number of discrete actions
    bins: int = 0  #: bins: values per action dimension
    low: tuple[float, ...] = ()
    high: tuple[float, ...] = ()
    scale: float = 1.0  #: tanh, affine: score scale

    @classmethod
    def for_space(cls, space, mode: str = "bins", bins: int = 3, scale: float | None = None, n_hidden: int = 64) -> "ActionHead":
        """The head for a Gymnasium action space: ``argmax`` for ``Discrete``; ``bins``,
        ``tanh``, ``clip`` or ``affine`` (``mode``) for a ``Box``; ``scale`` (tanh, affine)
        defaults to ``sqrt(n_hidden)``."""
        import gymnasium as gym

        if isinstance(space, gym.spaces.Discrete):
            return cls(ARGMAX, n_actions=int(space.n))
        if not isinstance(space, gym.spaces.Box):
            raise ConfigError(f"unsupported action space {space}; genome handles Discrete and Box actions")
        low = tuple(float(np.float32(v)) for v in np.asarray(space.low, np.float64).reshape(-1))
        high = tuple(float(np.float32(v)) for v in np.asarray(space.high, np.float64).reshape(-1))
        if not all(np.isfinite(low + high)):
            raise ConfigError(f"action space {space} has unbounded dimensions; genome needs finite action bounds")
        if mode == "bins":
            if bins < 2:
                raise ConfigError(f"policy.action_bins must be >= 2, got {bins}")
            return cls(BINS, bins=int(bins), low=low, high=high)
        if mode in ("tanh", "affine"):
            # float32, as the policy file stores it: a policy acts the same before and after saving
            scale = float(np.float32(scale if scale else math.sqrt(max(n_hidden, 1))))
            if not scale > 0:
                raise ConfigError(f"policy.action_scale must be > 0, got {scale}")
            return cls(TANH if mode == "tanh" else AFFINE, low=low, high=high, scale=scale)
        if mode == "clip":
            return cls(CLIP, low=low, high=high)
        raise ConfigError(f"policy.action_head must be 'bins', 'tanh', 'clip' or 'affine' for a Box action space, got {mode!r}")

    @property
    def action_dim(self) -> int:
        return len(self.low)

    @property
    def n_outputs(self) -> int:
        if self.kind == ARGMAX:
            return self.n_actions
        return self.action_dim * (self.bins if self.kind == BINS else 1)

    @property
    def name(self) -> str:
        return {v: k for k, v in HEAD_NAMES.items()}[self.kind]

    def arrays(self) -> tuple[int, int, np.ndarray, np.ndarray, float]:
        """``(kind, bins, low, high, scale)`` for the numba kernels."""
        return self.kind, self.bins, np.asarray(self.low, np.float32), np.asarray(self.high, np.float32), float(self.scale)

    def __call__(self, scores: np.ndarray):
        """Action for one score vector: an ``int`` (argmax) or a float32 array (Box)."""
        scores = np.asarray(scores)
        if self.kind == ARGMAX:
            return int(np.argmax(scores))
        out = np.empty(self.action_dim, np.float32)
        kind, bins, low, high, scale = self.arrays()
        continuous_action(scores, kind, bins, low, high, scale, out)
        return out

    # ------------------------------------------------------------------ file
    def payload(self) -> bytes:
        if self.kind == ARGMAX:
            return struct.pack("<BI", ARGMAX, self.n_actions)
        d = self.action_dim
        body = struct.pack("<BHHf", self.kind, d, self.bins, self.scale)
        return body + np.asarray(self.low, "<f4").tobytes() + np.asarray(self.high, "<f4").tobytes()

    @classmethod
    def from_payload(cls, reader) -> "ActionHead":
        kind = reader.u8("action head kind")
        if kind == ARGMAX:
            return cls(ARGMAX, n_actions=reader.u32("action count"))
        if kind not in (BINS, TANH, CLIP, AFFINE):
            raise reader.fail(f"malformed policy: unknown action head kind {kind}")
        d, bins, scale = reader.unpack("HHf", "action head")
        low = np.frombuffer(reader.take(4 * d, "action low bounds"), "<f4")
        high = np.frombuffer(reader.take(4 * d, "action high bounds"), "<f4")
        return cls(kind, bins=bins, low=tuple(map(float, low)), high=tuple(map(float, high)), scale=scale)


@njit(cache=True, inline="always", nogil=True)
def argmax_index(scores, start, stop):
    """Index (relative to ``start``) of the largest of ``scores[start:stop]``; ties to the lowest."""
    best = start
    for j in range(start + 1, stop):
        if scores[j] > scores[best]:
            best = j
    return best - start


@njit(cache=True, inline="always", nogil=True)
def continuous_action(scores, kind, bins, low, high, scale, out):
    """Fill the float32 action ``out`` from ``scores`` with a ``bins``, ``clip``, ``affine``
    or ``tanh`` head."""
    for d in range(out.shape[0]):
        if kind == BINS:
            k = argmax_index(scores, d * bins, (d + 1) * bins)
            out[d] = np.float32(low[d] + (high[d] - low[d]) * np.float64(k) / (bins - 1))
        elif kind == CLIP:
            out[d] = np.float32(min(max(np.float64(scores[d]), np.float64(low[d])), np.float64(high[d])))
        elif kind == AFFINE:
            mid = 0.5 * (np.float64(low[d]) + high[d])
            half = 0.5 * (np.float64(high[d]) - low[d])
            v = mid + half * (np.float64(scores[d]) / scale)
            out[d] = np.float32(min(max(v, np.float64(low[d])), np.float64(high[d])))
        else:
            mid = 0.5 * (np.float64(low[d]) + high[d])
            half = 0.5 * (np.float64(high[d]) - low[d])
            out[d] = np.float32(mid + half * np.tanh(scores[d] / scale))


@njit(cache=True, nogil=True)
def continuous_actions(scores, kind, bins, low, high, scale, out):
    """:func:`continuous_action` for every row of ``scores`` into the rows of ``out`` (one
    call per step for all of a worker's environments)."""
    for r in range(scores.shape[0]):
        continuous_action(scores[r], kind, bins, low, high, scale, out[r])
