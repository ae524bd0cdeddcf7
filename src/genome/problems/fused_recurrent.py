"""Fused rollouts of policies with memory in native environments: the ``lstm`` / ``gru``
families (normalizer -> recurrent network -> action head) and the ``binary_rnn`` family
(encoder -> binary layers whose first hidden layer's previous bits are fed back -> head).

One compiled function per kind serves every native environment (the environment is a
run-time argument, as in :mod:`genome.problems.fused_dense`). Each (member, episode) task
owns its state, zeroed at the episode's start, so members never share state and the
results do not depend on the thread count. Start states use the same counter-based keys as
the feed-forward rollouts; real-valued rollouts sum the observations per task, as
:mod:`genome.problems.fused_dense` does.
"""

from __future__ import annotations

import numpy as np
from numba import literally, njit, prange

from genome.encoders.kernels import encode_buckets_into
from genome.envs.native import USER_KERNELS, env_observe, env_reset, env_step, observe_subset
from genome.nets.binary_recurrent import binary_recurrent_step
from genome.nets.kernels import max_words, n_words
from genome.nets.recurrent import recurrent_step
from genome.parallel import PRANGE_ONLY, threads_for
from genome.policies.heads import ARGMAX, argmax_index, continuous_action
from genome.rng import random_uniform
from genome.problems.fused import task_key


@njit(cache=True, inline="always", boundscheck=False, nogil=True, error_model="numpy")
def _rollout_recurrent(kernel, args, first, step):
    """For tasks ``first, first + step, ...``: fill ``returns[m, e]``, ``frames[m, e]`` and the
    per-task observation sums (``(0, 0)`` arrays: not gathered) for real-valued recurrent
    networks ``params`` (members, n); ``args`` is the tuple ``(max_steps, params, dims, work_size, state_size, mean, std, clip, head_kind, bins, low, high, scale, observe, buffers, seed, purpose, generation, member_offset, starts_group, returns, frames, obs_sum, obs_sumsq)``."""
    (max_steps, params, dims, work_size, state_size, mean, std, clip, head_kind, bins, low, high, scale, observe, buffers, seed, purpose, generation, member_offset, starts_group, returns, frames, obs_sum, obs_sumsq) = args
    n_members, episodes = returns.shape
    n_tasks = n_members * episodes
    n_in, n_out = dims[1], dims[4]
    gather = obs_sum.shape[0] > 0
    for task in range(first, n_tasks, step):
        m = task // episodes
        e = task % episodes
        env = np.zeros(buffers[0])
        obs = np.zeros(max(buffers[1], 64), dtype=np.float32)
        u = np.empty(buffers[2])
        x = np.empty(n_in)
        h = np.zeros(state_size)
        work = np.empty(work_size)
        scores = np.empty(n_out)
        action = np.empty(max(1, low.shape[0]), dtype=np.float32)
        key = task_key(task, episodes, seed, purpose, generation, member_offset, starts_group)
        for i in range(buffers[2]):
            u[i] = random_uniform(key, i)
        env_reset(kernel, env, u)
        w = params[m]
        total = 0.0
        t = 0
        while True:
            env_observe(kernel, env, obs)
            observe_subset(observe, obs)
            for d in range(n_in):
                v = np.float64(obs[d])
                if gather:
                    obs_sum[task, d] += v
                    obs_sumsq[task, d] += v * v
                x[d] = min(max((v - mean[d]) / std[d], -clip), clip)
            recurrent_step(w, dims, x, h, work, scores)
            if head_kind == ARGMAX:
                a = argmax_index(scores, 0, n_out)
                value = np.float32(0.0)
            else:
                continuous_action(scores, head_kind, bins, low, high, scale, action)
                a = 0
                value = action[0]
            reward, terminated = env_step(kernel, env, a, value)
            total += reward
            t += 1
            if terminated or t >= max_steps:
                break
        returns[m, e] = total
        frames[m, e] = t


@njit(cache=True, inline="always", boundscheck=False, nogil=True, error_model="numpy")
def _rollout_binary_recurrent(kernel, args, first, step):
    """For tasks ``first, first + step, ...``: fill ``returns[m, e]`` and ``frames[m, e]`` for
    binary recurrent networks (packed ``weights`` / ``thresholds`` per member;
    :mod:`genome.nets.binary_recurrent`); ``args`` is the tuple ``(max_steps, weights, thresholds, sizes, w_offsets, t_offsets, n_obs_bits, bit_offsets, chunk_starts, edge_counts, edges, onehot, head_kind, bins, low, high, scale, observe, buffers, seed, purpose, generation, member_offset, starts_group, returns, frames)``."""
    (max_steps, weights, thresholds, sizes, w_offsets, t_offsets, n_obs_bits, bit_offsets, chunk_starts, edge_counts, edges, onehot, head_kind, bins, low, high, scale, observe, buffers, seed, purpose, generation, member_offset, starts_group, returns, frames) = args
    n_members, episodes = returns.shape
    n_tasks = n_members * episodes
    n_out = sizes[sizes.shape[0] - 1]
    hidden = sizes[1]
    for task in range(first, n_tasks, step):
        m = task // episodes
        e = task % episodes
        env = np.zeros(buffers[0])
        obs = np.zeros(max(buffers[1], 64), dtype=np.float32)
        u = np.empty(buffers[2])
        x = np.empty(max(1, n_words(sizes[0])), dtype=np.uint64)
        enc = np.empty(max(1, n_words(n_obs_bits)), dtype=np.uint64)
        h = np.zeros(max(1, n_words(hidden)), dtype=np.uint64)
        scratch = np.empty(2 * max_words(sizes), dtype=np.uint64)
        scores = np.empty(n_out, dtype=np.int32)
        action = np.empty(max(1, low.shape[0]), dtype=np.float32)
        key = task_key(task, episodes, seed, purpose, generation, member_offset, starts_group)
        for i in range(buffers[2]):
            u[i] = random_uniform(key, i)
        env_reset(kernel, env, u)
        total = 0.0
        t = 0
        while True:
            env_observe(kernel, env, obs)
            observe_subset(observe, obs)
            encode_buckets_into(obs, bit_offsets, chunk_starts, edge_counts, edges, onehot, enc)
            binary_recurrent_step(weights[m], thresholds[m], sizes, w_offsets, t_offsets, n_obs_bits, enc, h, x, scratch, scores)
            if head_kind == ARGMAX:
                a = argmax_index(scores, 0, n_out)
                value = np.float32(0.0)
            else:
                continuous_action(scores, head_kind, bins, low, high, scale, action)
                a = 0
                value = action[0]
            reward, terminated = env_step(kernel, env, a, value)
            total += reward
            t += 1
            if terminated or t >= max_steps:
                break
        returns[m, e] = total
        frames[m, e] = t


def _recurrent_tasks(kernel, args, first, step):
    _rollout_recurrent(kernel, args, first, step)


def _recurrent_tasks_user(kernel, args, first, step):
    literally(kernel)  # a user environment's code is a constant: its kernels are chosen at typing time
    _rollout_recurrent(kernel, args, first, step)


_recurrent_cached = njit(cache=True, boundscheck=False, nogil=True, error_model="numpy")(_recurrent_tasks)
_recurrent_uncached = njit(boundscheck=False, nogil=True, error_model="numpy")(_recurrent_tasks_user)


def _binary_recurrent_tasks(kernel, args, first, step):
    _rollout_binary_recurrent(kernel, args, first, step)


def _binary_recurrent_tasks_user(kernel, args, first, step):
    literally(kernel)  # a user environment's code is a constant: its kernels are chosen at typing time
    _rollout_binary_recurrent(kernel, args, first, step)


_binary_recurrent_cached = njit(cache=True, boundscheck=False, nogil=True, error_model="numpy")(_binary_recurrent_tasks)
_binary_recurrent_uncached = njit(boundscheck=False, nogil=True, error_model="numpy")(_binary_recurrent_tasks_user)


# The parallel loops (genome/parallel.py): thread ``t`` runs tasks ``t, t + n_threads, ...``;
# a user environment's rollouts are never written to numba's disk cache (genome.problems.fused).
@njit(cache=True, boundscheck=False, nogil=True, parallel=PRANGE_ONLY, error_model="numpy")
def _recurrent_builtin(kernel, max_steps, params, dims, work_size, state_size, mean, std, clip, head_kind, bins, low, high, scale, observe, buffers, seed, purpose, generation, member_offset, starts_group, returns, frames, obs_sum, obs_sumsq, n_threads):
    for t in prange(n_threads):
        _recurrent_cached(kernel, (max_steps, params, dims, work_size, state_size, mean, std, clip, head_kind, bins, low, high, scale, observe, buffers, seed, purpose, generation, member_offset, starts_group, returns, frames, obs_sum, obs_sumsq), np.int64(t), n_threads)


@njit(cache=True, boundscheck=False, nogil=True, parallel=PRANGE_ONLY, error_model="numpy")
def _binary_recurrent_builtin(kernel, max_steps, weights, thresholds, sizes, w_offsets, t_offsets, n_obs_bits, bit_offsets, chunk_starts, edge_counts, edges, onehot, head_kind, bins, low, high, scale, observe, buffers, seed, purpose, generation, member_offset, starts_group, returns, frames, n_threads):
    for t in prange(n_threads):
        _binary_recurrent_cached(kernel, (max_steps, weights, thresholds, sizes, w_offsets, t_offsets, n_obs_bits, bit_offsets, chunk_starts, edge_counts, edges, onehot, head_kind, bins, low, high, scale, observe, buffers, seed, purpose, generation, member_offset, starts_group, returns, frames), np.int64(t), n_threads)


def _user_entries(kernel: int):
    """Both rollouts for a user environment (its code a compile-time constant; not cached)."""
    @njit(boundscheck=False, nogil=True, parallel=PRANGE_ONLY, error_model="numpy")
    def recurrent(max_steps, params, dims, work_size, state_size, mean, std, clip, head_kind, bins, low, high, scale, observe, buffers, seed, purpose, generation, member_offset, starts_group, returns, frames, obs_sum, obs_sumsq, n_threads):
        for t in prange(n_threads):
            _recurrent_uncached(kernel, (max_steps, params, dims, work_size, state_size, mean, std, clip, head_kind, bins, low, high, scale, observe, buffers, seed, purpose, generation, member_offset, starts_group, returns, frames, obs_sum, obs_sumsq), np.int64(t), n_threads)

    @njit(boundscheck=False, nogil=True, parallel=PRANGE_ONLY, error_model="numpy")
    def binary_recurrent(max_steps, weights, thresholds, sizes, w_offsets, t_offsets, n_obs_bits, bit_offsets, chunk_starts, edge_counts, edges, onehot, head_kind, bins, low, high, scale, observe, buffers, seed, purpose, generation, member_offset, starts_group, returns, frames, n_threads):
        for t in prange(n_threads):
            _binary_recurrent_uncached(kernel, (max_steps, weights, thresholds, sizes, w_offsets, t_offsets, n_obs_bits, bit_offsets, chunk_starts, edge_counts, edges, onehot, head_kind, bins, low, high, scale, observe, buffers, seed, purpose, generation, member_offset, starts_group, returns, frames), np.int64(t), n_threads)
    return recurrent, binary_recurrent


_USER: dict[int, tuple] = {}


def _entry(kernel: int, which: int):
    if kernel not in _USER:
        _USER[kernel] = _user_entries(kernel)
    return _USER[kernel][which]


def rollout_recurrent(kernel: int, *args) -> None:
    """Fill ``returns[m, e]``, ``frames[m, e]`` and the per-task observation sums (``(0, 0)``
    arrays: not gathered) for real-valued recurrent networks (members x n parameters) in
    native environment ``kernel``."""
    n_threads = threads_for(args[-4].size)  # returns: one task per (member, episode)
    if kernel < USER_KERNELS:
        _recurrent_builtin(kernel, *args, n_threads)
    else:
        _entry(kernel, 0)(*args, n_threads)


def rollout_binary_recurrent(kernel: int, *args) -> None:
    """Fill ``returns[m, e]`` and ``frames[m, e]`` for binary recurrent networks (packed
    ``weights`` / ``thresholds`` per member; :mod:`genome.nets.binary_recurrent`)."""
    n_threads = threads_for(args[-2].size)
    if kernel < USER_KERNELS:
        _binary_recurrent_builtin(kernel, *args, n_threads)
    else:
        _entry(kernel, 1)(*args, n_threads)
