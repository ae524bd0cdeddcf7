"""Fused rollouts of real-valued policies in native environments.

The real-valued counterpart of :mod:`genome.problems.fused`: normalizer -> dense layers ->
action head -> environment step, all compiled, the (member, episode) tasks split over
numba's threads (genome/parallel.py).
One compiled function serves every native environment and every real-valued family (the
environment is a run-time argument; families differ only in how a genome expands to the
flat parameters, which happens before the call), so the first run of a new (environment,
family) pair compiles nothing new. Start states use the same counter-based keys as the
binary rollout, so a real and a binary policy face the same episodes.

Each task also sums the observations its policy saw (count, sum, sum of squares) into its
own row, so the observation statistics do not depend on the thread count: the caller adds
the rows up in member order (docs/architecture.md).
"""

from __future__ import annotations

import numpy as np
from numba import literally, njit, prange

from genome.envs.native import USER_KERNELS, env_observe, env_reset, env_step, observe_subset
from genome.nets.dense import dense_forward, normalize_into
from genome.parallel import PRANGE_ONLY, threads_for
from genome.policies.heads import ARGMAX, argmax_index, continuous_action
from genome.rng import random_uniform
from genome.problems.fused import task_key


@njit(cache=True, inline="always", boundscheck=False, nogil=True, error_model="numpy")
def _rollout_dense(kernel, args, first, step):
    """For tasks ``first, first + step, ...``: fill ``returns[m, e]``, ``frames[m, e]`` and,
    per task ``m * episodes + e``, the observation sums ``obs_sum`` / ``obs_sumsq``
    (``(tasks, obs_dims)``; pass ``(0, 0)`` arrays to skip gathering); ``args`` is the tuple
    ``(max_steps, params, sizes, mean, std, clip, head_kind, bins, low, high, scale, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames, obs_sum, obs_sumsq)``, ``dims`` the environment's buffer sizes."""
    (max_steps, params, sizes, mean, std, clip, head_kind, bins, low, high, scale, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames, obs_sum, obs_sumsq) = args
    n_members, episodes = returns.shape
    n_tasks = n_members * episodes
    width = 0
    for s in sizes:
        width = max(width, s)
    n_obs = sizes[0]
    gather = obs_sum.shape[0] > 0
    for task in range(first, n_tasks, step):
        m = task // episodes
        e = task % episodes
        state = np.zeros(dims[0])
        obs = np.zeros(max(dims[1], n_obs), dtype=np.float32)
        u = np.empty(dims[2])
        x = np.empty(width)
        y = np.empty(width)
        action = np.empty(max(1, low.shape[0]), dtype=np.float32)
        key = task_key(task, episodes, seed, purpose, generation, member_offset, starts_group)
        for i in range(dims[2]):
            u[i] = random_uniform(key, i)
        env_reset(kernel, state, u)
        w = params[m]
        total = 0.0
        t = 0
        while True:
            env_observe(kernel, state, obs)
            observe_subset(observe, obs)
            if gather:
                for d in range(n_obs):
                    v = np.float64(obs[d])
                    obs_sum[task, d] += v
                    obs_sumsq[task, d] += v * v
            normalize_into(obs, mean, std, clip, x)
            scores = dense_forward(w, sizes, x, y)
            if head_kind == ARGMAX:
                a = argmax_index(scores, 0, sizes[sizes.shape[0] - 1])
                value = np.float32(0.0)
            else:
                continuous_action(scores, head_kind, bins, low, high, scale, action)
                a = 0
                value = action[0]
            reward, terminated = env_step(kernel, state, a, value)
            total += reward
            t += 1
            if terminated or t >= max_steps:
                break
        returns[m, e] = total
        frames[m, e] = t


def _tasks_builtin(kernel, args, first, step):
    _rollout_dense(kernel, args, first, step)


def _tasks_user(kernel, args, first, step):
    literally(kernel)  # a user environment's code is a constant: its kernels are chosen at typing time
    _rollout_dense(kernel, args, first, step)


_tasks_cached = njit(cache=True, boundscheck=False, nogil=True, error_model="numpy")(_tasks_builtin)
# a user environment's rollout is never written to numba's disk cache (genome.problems.fused)
_tasks_uncached = njit(boundscheck=False, nogil=True, error_model="numpy")(_tasks_user)


@njit(cache=True, boundscheck=False, nogil=True, parallel=PRANGE_ONLY, error_model="numpy")
def _rollout_dense_builtin(kernel, max_steps, params, sizes, mean, std, clip, head_kind, bins, low, high, scale, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames, obs_sum, obs_sumsq, n_threads):
    """:func:`_rollout_dense` for every built-in environment (``kernel`` a run-time code):
    thread ``t`` runs tasks ``t, t + n_threads, ...`` (genome/parallel.py)."""
    for t in prange(n_threads):
        _tasks_cached(kernel, (max_steps, params, sizes, mean, std, clip, head_kind, bins, low, high, scale, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames, obs_sum, obs_sumsq), np.int64(t), n_threads)


def _user_rollout(kernel: int):
    """:func:`_rollout_dense` for a user environment (its code a compile-time constant; not cached)."""
    @njit(boundscheck=False, nogil=True, parallel=PRANGE_ONLY, error_model="numpy")
    def rollout(max_steps, params, sizes, mean, std, clip, head_kind, bins, low, high, scale, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames, obs_sum, obs_sumsq, n_threads):
        for t in prange(n_threads):
            _tasks_uncached(kernel, (max_steps, params, sizes, mean, std, clip, head_kind, bins, low, high, scale, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames, obs_sum, obs_sumsq), np.int64(t), n_threads)
    return rollout


_USER: dict[int, object] = {}


def rollout_dense(kernel: int, *args) -> None:
    """Fused rollouts of real-valued networks in native environment ``kernel`` (``args`` the
    items of :func:`_rollout_dense`'s tuple): one compiled function serves the built-in
    environments, a user environment gets its own."""
    n_threads = threads_for(args[-4].size)  # returns: one task per (member, episode)
    if kernel < USER_KERNELS:
        _rollout_dense_builtin(kernel, *args, n_threads)
        return
    if kernel not in _USER:
        _USER[kernel] = _user_rollout(kernel)
    _USER[kernel](*args, n_threads)
