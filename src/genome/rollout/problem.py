"""An evaluation problem: a pure function from genomes to episode returns.

``NativeProblem.evaluate(genomes, member_offset, request)`` decodes the genomes with the
policy family and runs them through the fused kernel. Everything random comes from
``(seed, request.purpose, request.generation, episode)`` counters, so a problem can be
evaluated anywhere, in any split, and retried, with the same numbers (design.md §7).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit

from genome.envs.native import MAX_OBS, MAX_STATE, MAX_UNIFORMS, NativeEnvSpec, env_observe, env_reset, env_step
from genome.policies.binary_mlp import BinaryMLP
from genome.rng import make_key, random_uniform
from genome.rollout.fused import rollout_native


@dataclass(frozen=True)
class EpisodeRequest:
    """Which episodes to run: ``episodes`` per member, start states keyed by
    ``(purpose, generation)``; shared by all members when ``common_starts``."""

    episodes: int
    purpose: int
    generation: int
    common_starts: bool = True


@dataclass
class EvalResult:
    returns: np.ndarray  #: (members, episodes) float64; NaN for a failed member
    frames: np.ndarray  #: (members, episodes) int64
    failures: dict[int, str] = field(default_factory=dict)  #: member row -> reason
    #: per-member observation statistics (count, sum, sum of squares), when gathered
    obs_count: np.ndarray | None = None
    obs_sum: np.ndarray | None = None
    obs_sumsq: np.ndarray | None = None

    @property
    def fitness(self) -> np.ndarray:
        """Mean return per member (NaN for failed members: they rank last)."""
        return self.returns.mean(axis=1)

    @property
    def total_frames(self) -> int:
        return int(self.frames.sum())

    @staticmethod
    def concatenate(parts: list["EvalResult"]) -> "EvalResult":
        failures, offset = {}, 0
        for p in parts:
            failures.update({offset + k: v for k, v in p.failures.items()})
            offset += p.returns.shape[0]
        stats = all(p.obs_sum is not None for p in parts)
        return EvalResult(
            np.concatenate([p.returns for p in parts]),
            np.concatenate([p.frames for p in parts]),
            failures,
            np.concatenate([p.obs_count for p in parts]) if all(p.obs_count is not None for p in parts) else None,
            np.concatenate([p.obs_sum for p in parts]) if stats else None,
            np.concatenate([p.obs_sumsq for p in parts]) if stats else None,
        )


class NativeProblem:
    """A native (numba) environment + a binary-MLP family + the run seed."""

    def __init__(self, env: NativeEnvSpec, family: BinaryMLP, seed: int, max_episode_steps: int | None = None):
        self.env = env
        self.family = family
        self.seed = int(seed)
        self.max_episode_steps = int(max_episode_steps or env.max_episode_steps)

    def evaluate(self, genomes: np.ndarray, member_offset: int, request: EpisodeRequest) -> EvalResult:
        weights, thresholds = self.family.decode_arrays(genomes)
        return self.evaluate_arrays(weights, thresholds, member_offset, request)

    def evaluate_arrays(self, weights, thresholds, member_offset: int, request: EpisodeRequest) -> EvalResult:
        f = self.family
        return run_native(
            self.env, self.max_episode_steps, weights, thresholds, f.layout, f.encoder, f.head, self.seed, request, member_offset
        )


def _ints(a) -> tuple[int, ...]:
    return tuple(int(v) for v in a)


def run_native(env, max_steps, weights, thresholds, layout, encoder, head, seed, request, member_offset=0) -> EvalResult:
    """Fused rollouts of packed networks ``weights``/``thresholds`` (members, ...) in ``env``."""
    n = weights.shape[0]
    returns = np.zeros((n, request.episodes), dtype=np.float64)
    frames = np.zeros((n, request.episodes), dtype=np.int64)
    # the small tables travel as tuples: their lengths are compile-time constants and their
    # values stay in registers for the whole step loop (arrays would be reloaded every step)
    bit_offsets, chunk_starts, edge_counts, edges, onehot = encoder.kernel_tables()
    rollout_native(
        env.kernel, int(max_steps), weights, thresholds,
        _ints(layout.sizes_array), _ints(layout.w_offsets), _ints(layout.t_offsets),
        (_ints(bit_offsets), _ints(chunk_starts), _ints(edge_counts), edges, onehot), head.arrays(),
        int(seed), request.purpose, request.generation, member_offset, request.common_starts,
        returns, frames,
    )
    return EvalResult(returns, frames)


@njit(cache=True, nogil=True)
def random_observations(kernel, n_actions, action_low, action_high, max_steps, seed, purpose, n_obs, out):
    """Fill ``out`` (n_obs, obs_size) with observations of uniformly random-action episodes."""
    state = np.zeros(MAX_STATE + 1)
    obs = np.zeros(MAX_OBS, dtype=np.float32)
    u = np.empty(MAX_UNIFORMS)
    episode = 0
    i = 0
    while i < n_obs:
        key = make_key(seed, purpose, 0, episode)
        for j in range(MAX_UNIFORMS):
            u[j] = random_uniform(key, j)
        env_reset(kernel, state, u)
        for t in range(max_steps):
            env_observe(kernel, state, obs)
            for d in range(out.shape[1]):
                out[i, d] = obs[d]
            i += 1
            if i >= n_obs:
                break
            r = random_uniform(key, MAX_UNIFORMS + t)
            a = int(r * n_actions) if n_actions > 0 else 0
            value = np.float32(action_low + (action_high - action_low) * r) if n_actions == 0 else np.float32(0.0)
            _, terminated = env_step(kernel, state, a, value)
            if terminated:
                break
        episode += 1
