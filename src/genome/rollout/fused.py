"""Fused rollouts: encoder -> binary network -> native environment, all in compiled code.

``rollout_native`` runs ``members x episodes`` episodes with no Python per step, spread
over numba's threads (one (member, episode) pair per task, so that evaluating a single
policy over many episodes is parallel too). Start states come from the counter-based
generator: episode ``e`` of member ``m`` starts from the key
``(seed, purpose, generation, e)`` with common start states, or
``(seed, purpose, generation, m * episodes + e)`` otherwise -- independent of how the
members are split among workers (``member_offset`` is ``m``'s global index).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from genome.encoders.kernels import encode_buckets_into
from genome.envs.native import MAX_OBS, MAX_STATE, MAX_UNIFORMS, env_observe, env_reset, env_step
from genome.nets.kernels import forward_one, max_words, n_words
from genome.policies.heads import ARGMAX, argmax_index, continuous_action
from genome.rng import make_key, random_uniform


#: (member, episode) tasks per parallel chunk; each chunk allocates its work buffers once.
TASKS_PER_CHUNK = 32


@njit(cache=True, inline="always", boundscheck=False, nogil=True, error_model="numpy")
def _episode(kernel, max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head, key, work):
    """One episode of one policy. No array views are taken inside the step loop: in numba
    each view costs an atomic reference-count update, several times the cost of a step."""
    bit_offsets, chunk_starts, edge_counts, edges, onehot = enc
    head_kind, bins, low, high, scale = head
    state, obs, u, x, scratch, scores, action = work
    for i in range(MAX_UNIFORMS):
        u[i] = random_uniform(key, i)
    env_reset(kernel, state, u)
    total = 0.0
    steps = 0
    n_out = sizes[sizes.shape[0] - 1]
    for _ in range(max_steps):
        env_observe(kernel, state, obs)
        encode_buckets_into(obs, bit_offsets, chunk_starts, edge_counts, edges, onehot, x)
        forward_one(weights, thresholds, sizes, w_offsets, t_offsets, x, scratch, scores)
        if head_kind == ARGMAX:
            a = argmax_index(scores, 0, n_out)
            value = np.float32(0.0)
        else:
            continuous_action(scores, head_kind, bins, low, high, scale, action)
            a = 0
            value = action[0]
        reward, terminated = env_step(kernel, state, a, value)
        total += reward
        steps += 1
        if terminated:
            break
    return total, steps


@njit(cache=True, boundscheck=False, nogil=True, parallel=True, error_model="numpy")
def rollout_native(
    kernel, max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head,
    seed, purpose, generation, member_offset, common_starts, returns, frames,
):
    """Fill ``returns[m, e]`` (float64) and ``frames[m, e]`` (int64) for every member and episode."""
    n_members, episodes = returns.shape
    n_tasks = n_members * episodes
    n_out = sizes[sizes.shape[0] - 1]
    for chunk in prange((n_tasks + TASKS_PER_CHUNK - 1) // TASKS_PER_CHUNK):
        work = (
            np.zeros(MAX_STATE + 1, dtype=np.float64),
            np.zeros(MAX_OBS, dtype=np.float32),
            np.empty(MAX_UNIFORMS, dtype=np.float64),
            np.empty(n_words(sizes[0]), dtype=np.uint64),
            np.empty(2 * max_words(sizes), dtype=np.uint64),
            np.empty(n_out, dtype=np.int32),
            np.empty(1, dtype=np.float32),
        )
        for task in range(chunk * TASKS_PER_CHUNK, min(n_tasks, (chunk + 1) * TASKS_PER_CHUNK)):
            m = task // episodes
            e = task % episodes
            episode_id = e if common_starts else (member_offset + m) * episodes + e
            key = make_key(seed, purpose, generation, episode_id)
            total, steps = _episode(
                kernel, max_steps, weights[m], thresholds[m], sizes, w_offsets, t_offsets, enc, head, key, work
            )
            returns[m, e] = total
            frames[m, e] = steps
