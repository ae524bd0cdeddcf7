"""Native environments: fused compiled rollouts of a whole population.

:class:`NativeProblem` decodes genomes with the policy family and runs the fused rollout
of the family's ``kernel`` (``"binary"`` -> :mod:`genome.problems.fused`, ``"dense"`` ->
:mod:`genome.problems.fused_dense`; :data:`NATIVE_KERNELS`) on numba's threads. Start
states come from ``(seed, request.purpose, request.generation, episode)`` counters
(docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from genome.envs.native import (
    ACROBOT, CARTPOLE, MOUNTAIN_CAR, MOUNTAIN_CAR_CONTINUOUS, PENDULUM, NativeEnvSpec,
    env_observe, env_reset, env_step, observe_subset,
)
from genome.envs.custom import bound
from genome.problems.base import EpisodeRequest, EvalResult
from genome.rng import make_key, random_uniform


@dataclass(frozen=True)
class NativeSpec:
    """The static part of a native problem: small and picklable (what workers receive)."""

    env: NativeEnvSpec
    seed: int
    max_episode_steps: int

    def open(self, family) -> "NativeProblem":
        """The problem again, in a worker (:func:`genome.problems.base.open_problem`)."""
        return NativeProblem(self.env, family, self.seed, self.max_episode_steps)


class NativeProblem:
    """A native (numba) environment + a policy family + the run seed."""

    def __init__(self, env: NativeEnvSpec, family, seed: int, max_episode_steps: int | None = None):
        self.env = bound(env)
        self.family = family
        self.seed = int(seed)
        self.max_episode_steps = int(max_episode_steps or env.max_episode_steps)
        self.spec = NativeSpec(env, self.seed, self.max_episode_steps)

    @property
    def gathers_stats(self) -> bool:
        """Whether results carry per-member observation statistics."""
        return bool(getattr(self.family, "uses_obs_stats", False))

    def set_family(self, family) -> None:
        """The same family with new observation statistics (encoder edges or normalizer)."""
        self.family = family

    def evaluate(self, genomes: np.ndarray, member_offset: int, request: EpisodeRequest) -> EvalResult:
        arrays = self.family.decode_arrays(genomes)
        model = getattr(self.family, "base", self.family)  # a controlled family decodes to its base family's arrays
        return run_native(self.env, self.max_episode_steps, model, arrays, self.seed, request, member_offset, self.gathers_stats)

    def close(self) -> None:
        """Nothing to release (the Gymnasium problem closes its environments)."""


def _ints(a) -> tuple[int, ...]:
    return tuple(int(v) for v in a)


def _run_binary(env, max_steps, model, arrays, seed, request, member_offset, gather) -> EvalResult:
    """Fused rollouts of packed binary networks (``arrays = (weights, thresholds)``)."""
    from genome.problems.fused import rollout_native

    weights, thresholds = arrays
    layout, encoder, head = model.layout, model.encoder, model.head
    n = weights.shape[0]
    returns = np.zeros((n, request.episodes), dtype=np.float64)
    frames = np.zeros((n, request.episodes), dtype=np.int64)
    # the small tables travel as tuples: their lengths are compile-time constants and their
    # values stay in registers for the whole step loop (arrays would be reloaded every step)
    bit_offsets, chunk_starts, edge_counts, edges, onehot = encoder.kernel_tables()
    rollout_native(
        env.kernel, int(max_steps), weights, thresholds,
        _ints(layout.sizes_array), _ints(layout.w_offsets), _ints(layout.t_offsets),
        (_ints(bit_offsets), _ints(chunk_starts), _ints(edge_counts), edges, onehot), head.arrays(), env.observe, env.buffers,
        int(seed), request.purpose, request.generation, member_offset, request.starts_group,
        returns, frames,
    )
    return EvalResult(returns, frames)


def _run_dense(env, max_steps, model, arrays, seed, request, member_offset, gather) -> EvalResult:
    """Fused rollouts of real-valued networks (``arrays.params``: flat parameters per member)."""
    from genome.problems.fused_dense import rollout_dense

    params = arrays.params
    n, episodes = params.shape[0], request.episodes
    dims = model.structure.sizes[0]
    returns = np.zeros((n, episodes), dtype=np.float64)
    frames = np.zeros((n, episodes), dtype=np.int64)
    rows = n * episodes if gather else 0
    obs_sum, obs_sumsq = np.zeros((rows, dims)), np.zeros((rows, dims))
    mean, std, clip = model.normalizer.arrays()
    kind, bins, low, high, scale = model.head.arrays()
    rollout_dense(
        env.kernel, int(max_steps), params, model.structure.sizes_array, mean, std, clip, kind, bins, low, high, scale, env.observe, env.buffers,
        int(seed), request.purpose, request.generation, member_offset, request.starts_group,
        returns, frames, obs_sum, obs_sumsq,
    )
    if not gather:
        return EvalResult(returns, frames)
    # per task -> per member, adding the episodes in order (independent of the thread count)
    return EvalResult(
        returns, frames, {}, frames.sum(axis=1).astype(np.float64),
        obs_sum.reshape(n, episodes, dims).sum(axis=1), obs_sumsq.reshape(n, episodes, dims).sum(axis=1),
    )


def _run_recurrent(env, max_steps, model, arrays, seed, request, member_offset, gather) -> EvalResult:
    """Fused rollouts of real-valued recurrent networks (``arrays``: genomes, members x n)."""
    from genome.problems.fused_recurrent import rollout_recurrent

    n, episodes = arrays.shape[0], request.episodes
    s = model.structure
    returns = np.zeros((n, episodes), dtype=np.float64)
    frames = np.zeros((n, episodes), dtype=np.int64)
    rows = n * episodes if gather else 0
    obs_sum, obs_sumsq = np.zeros((rows, s.n_in)), np.zeros((rows, s.n_in))
    mean, std, clip = model.normalizer.arrays()
    kind, bins, low, high, scale = model.head.arrays()
    rollout_recurrent(
        env.kernel, int(max_steps), arrays, s.dims(), s.work_size(), s.state_size, mean, std, clip, kind, bins, low, high, scale,
        env.observe, env.buffers, int(seed), request.purpose, request.generation, member_offset, request.starts_group, returns, frames, obs_sum, obs_sumsq,
    )
    if not gather:
        return EvalResult(returns, frames)
    return EvalResult(
        returns, frames, {}, frames.sum(axis=1).astype(np.float64),
        obs_sum.reshape(n, episodes, s.n_in).sum(axis=1), obs_sumsq.reshape(n, episodes, s.n_in).sum(axis=1),
    )


def _run_binary_recurrent(env, max_steps, model, arrays, seed, request, member_offset, gather) -> EvalResult:
    """Fused rollouts of binary recurrent networks (``arrays = (weights, thresholds)``)."""
    from genome.problems.fused_recurrent import rollout_binary_recurrent

    weights, thresholds = arrays
    lay, encoder, head = model.layout, model.encoder, model.head
    n = weights.shape[0]
    returns = np.zeros((n, request.episodes), dtype=np.float64)
    frames = np.zeros((n, request.episodes), dtype=np.int64)
    bit_offsets, chunk_starts, edge_counts, edges, onehot = encoder.kernel_tables()
    kind, bins, low, high, scale = head.arrays()
    rollout_binary_recurrent(
        env.kernel, int(max_steps), weights, thresholds, lay.sizes_array, lay.w_offsets, lay.t_offsets, encoder.n_bits,
        _ints(bit_offsets), _ints(chunk_starts), _ints(edge_counts), edges, onehot, kind, bins, low, high, scale, env.observe, env.buffers,
        int(seed), request.purpose, request.generation, member_offset, request.starts_group, returns, frames,
    )
    return EvalResult(returns, frames)


#: Family ``kernel`` -> fused rollout of a decoded population in a native environment.
NATIVE_KERNELS = {"binary": _run_binary, "dense": _run_dense, "recurrent": _run_recurrent, "binary_recurrent": _run_binary_recurrent}


def run_native(env, max_steps, model, arrays, seed, request, member_offset=0, gather=False) -> EvalResult:
    """Fused rollouts of the decoded population ``arrays`` of ``model`` (a policy family, or
    one trained network with its ``kernel_arrays()``) in native environment ``env``."""
    return NATIVE_KERNELS[model.kernel](env, max_steps, model, arrays, seed, request, member_offset, gather)


def random_observations(env: NativeEnvSpec, seed: int, purpose: int, n_obs: int, out: np.ndarray) -> None:
    """Fill ``out`` (n_obs, obs_size) with the (observed components of the) observations of
    uniformly random-action episodes of native environment ``env``."""
    low = float(env.action_low[0]) if not env.discrete else 0.0
    high = float(env.action_high[0]) if not env.discrete else 0.0
    entry = _RANDOM_OBSERVATIONS.get(env.kernel)
    if entry is None:
        entry = _RANDOM_OBSERVATIONS[env.kernel] = _user_random_observations(env.kernel)
    entry(env.n_actions, low, high, env.max_episode_steps, env.observe, env.buffers, seed, purpose, n_obs, out)


def _user_random_observations(kernel: int):
    """:func:`_random_observations` of a user environment (its code a constant; not cached)."""
    body = njit(nogil=True)(_random_observations.py_func)  # not cached: see _user_rollout in fused.py

    @njit(nogil=True)
    def sample(n_actions, action_low, action_high, max_steps, observe, dims, seed, purpose, n_obs, out):
        body(kernel, n_actions, action_low, action_high, max_steps, observe, dims, seed, purpose, n_obs, out)
    return sample


@njit(cache=True, nogil=True)
def _random_observations(kernel, n_actions, action_low, action_high, max_steps, observe, dims, seed, purpose, n_obs, out):
    state = np.zeros(dims[0])
    obs = np.zeros(max(dims[1], out.shape[1]), dtype=np.float32)
    u = np.empty(dims[2])
    episode = 0
    i = 0
    while i < n_obs:
        key = make_key(seed, purpose, 0, episode)
        for j in range(dims[2]):
            u[j] = random_uniform(key, j)
        env_reset(kernel, state, u)
        for t in range(max_steps):
            env_observe(kernel, state, obs)
            observe_subset(observe, obs)
            for d in range(out.shape[1]):
                out[i, d] = obs[d]
            i += 1
            if i >= n_obs:
                break
            r = random_uniform(key, dims[2] + t)
            a = int(r * n_actions) if n_actions > 0 else 0
            value = np.float32(action_low + (action_high - action_low) * r) if n_actions == 0 else np.float32(0.0)
            _, terminated = env_step(kernel, state, a, value)
            if terminated:
                break
        episode += 1


# One entry per environment, each calling the body with its environment code as a constant:
# numba then compiles only that environment into it (a call from Python would pass the code
# as a plain integer and compile all five).
@njit(cache=True, nogil=True)
def _random_observations_cartpole(n_actions, action_low, action_high, max_steps, observe, dims, seed, purpose, n_obs, out):
    _random_observations(CARTPOLE, n_actions, action_low, action_high, max_steps, observe, dims, seed, purpose, n_obs, out)


@njit(cache=True, nogil=True)
def _random_observations_acrobot(n_actions, action_low, action_high, max_steps, observe, dims, seed, purpose, n_obs, out):
    _random_observations(ACROBOT, n_actions, action_low, action_high, max_steps, observe, dims, seed, purpose, n_obs, out)


@njit(cache=True, nogil=True)
def _random_observations_mountain_car(n_actions, action_low, action_high, max_steps, observe, dims, seed, purpose, n_obs, out):
    _random_observations(MOUNTAIN_CAR, n_actions, action_low, action_high, max_steps, observe, dims, seed, purpose, n_obs, out)


@njit(cache=True, nogil=True)
def _random_observations_mountain_car_continuous(n_actions, action_low, action_high, max_steps, observe, dims, seed, purpose, n_obs, out):
    _random_observations(MOUNTAIN_CAR_CONTINUOUS, n_actions, action_low, action_high, max_steps, observe, dims, seed, purpose, n_obs, out)


@njit(cache=True, nogil=True)
def _random_observations_pendulum(n_actions, action_low, action_high, max_steps, observe, dims, seed, purpose, n_obs, out):
    _random_observations(PENDULUM, n_actions, action_low, action_high, max_steps, observe, dims, seed, purpose, n_obs, out)


_RANDOM_OBSERVATIONS = {
    CARTPOLE: _random_observations_cartpole,
    ACROBOT: _random_observations_acrobot,
    MOUNTAIN_CAR: _random_observations_mountain_car,
    MOUNTAIN_CAR_CONTINUOUS: _random_observations_mountain_car_continuous,
    PENDULUM: _random_observations_pendulum,
}
