"""Fused rollouts: encoder -> binary network -> native environment, all in compiled code.

``rollout_native`` runs ``members x episodes`` episodes with no Python per step, spread
over numba's threads (chunks of (member, episode) tasks, so that evaluating a single
policy over many episodes is parallel too). Start states come from the counter-based
generator: episode ``e`` of member ``m`` starts from the key
``(seed, purpose, generation, e)`` with common start states (``starts_group = 0``), or
``(seed, purpose, generation, (m // starts_group) * episodes + e)`` otherwise (1: every
member its own, 2: the two members of a mirrored pair share theirs) -- independent of how the
members are split among workers (``member_offset`` is ``m``'s global index).

Each thread steps two episodes in alternation (two "lanes"; a lane takes the chunk's next
task when its episode ends). One step is a long chain of dependent operations (angle ->
sin/cos -> dynamics -> observation -> bits -> network -> action -> next step), so a single
episode leaves most of the core idle; two independent chains fill it. Every episode is
computed exactly as alone, so the results do not depend on the lanes, the chunking or the
thread count.

What the CartPole figure (benchmarks/fused_rollout.py) needed, each measured: sin/cos
inline (:mod:`genome.envs.sincos`), the encoder's word and every activation in registers
for networks of <= 64-bit layers, the argmax folded into the output layer, the small
tables (layer sizes and offsets, bucket offsets) passed as tuples -- constant lengths,
values in registers; as arrays they are reloaded every step, 2.4x slower -- and one
compiled rollout per environment, so that the environment dispatch folds away.
"""

from __future__ import annotations

import warnings

import numpy as np
from numba import njit, prange
from numba.core import errors, types
from numba.extending import overload

from genome.encoders.kernels import (
    WORD_ONEHOT, WORD_THERMOMETER, WORD_THERMOMETER16, encode_buckets_into, encode_buckets_word, encode_onehot_word,
    encode_thermometer16_word, encode_thermometer_word, word_kind,
)
from genome.envs.native import (
    ACROBOT, CARTPOLE, MOUNTAIN_CAR, MOUNTAIN_CAR_CONTINUOUS, PENDULUM, USER_KERNELS,
    env_observe, env_reset, env_step, observe_subset,
)
from genome.nets.kernels import forward_one, forward_word, forward_word_argmax, max_words, n_words
from genome.parallel import PRANGE_ONLY
from genome.policies.heads import ARGMAX, argmax_index, continuous_action
from genome.rng import make_key, random_uniform


#: (member, episode) tasks per parallel chunk; each chunk allocates its work buffers once.
TASKS_PER_CHUNK = 32


@njit(cache=True, boundscheck=False, nogil=True)
def _work(sizes, lanes, dims):
    """Buffers of every lane: state, observation, uniforms, input words, scratch, scores,
    action -- one 2-D array per kind, a row per lane, rows at least 128 bytes long. Separate
    allocations can land a multiple of 4 KiB apart, and then the core's store-to-load
    forwarding takes one lane's loads for the other's stores ("4K aliasing") and
    serializes the lanes."""
    return (
        np.zeros((lanes, max(16, dims[0])), dtype=np.float64),
        np.zeros((lanes, max(32, dims[1])), dtype=np.float32),
        np.empty((lanes, max(16, dims[2])), dtype=np.float64),
        np.empty((lanes, max(16, n_words(sizes[0]))), dtype=np.uint64),
        np.empty((lanes, max(16, 2 * max_words(sizes))), dtype=np.uint64),
        np.empty((lanes, max(32, sizes[len(sizes) - 1])), dtype=np.int32),
        np.empty((lanes, 32), dtype=np.float32),
    )


def _reset_body(kernel, key, work):
    state, obs, u, x, scratch, scores, action = work
    for i in range(u.shape[0]):
        u[i] = random_uniform(key, i)
    env_reset(kernel, state, u)


_reset_cached = njit(cache=True, boundscheck=False, nogil=True, error_model="numpy")(_reset_body)
# a user environment's reset is never written to numba's disk cache: its kernel code is a
# hash of its file, and every new file or version would add an entry (envs/custom.py)
_reset_uncached = njit(boundscheck=False, nogil=True, error_model="numpy")(_reset_body)


def _reset(kernel, key, work):
    """Draw the reset uniforms from ``key`` and reset the lane's state (a plain call: inlined
    four times into the step loop it cost compile time)."""


@overload(_reset, jit_options={"nogil": True, "error_model": "numpy"}, prefer_literal=True)
def _reset_impl(kernel, key, work):
    if isinstance(kernel, types.IntegerLiteral) and kernel.literal_value >= USER_KERNELS:
        return lambda kernel, key, work: _reset_uncached(kernel, key, work)
    return lambda kernel, key, work: _reset_cached(kernel, key, work)


@njit(cache=True, boundscheck=False, nogil=True, error_model="numpy")
def _act(weights, thresholds, sizes, w_offsets, t_offsets, bit_offsets, chunk_starts, edge_counts, edges, onehot,
         head_kind, bins, low, high, scale, narrow, obs, x, scratch, scores, action):
    """``(discrete action, continuous value)`` for the observation ``obs``, any network and head."""
    if narrow:
        forward_word(weights, thresholds, sizes, w_offsets, t_offsets,
                     encode_buckets_word(obs, bit_offsets, chunk_starts, edge_counts, edges, onehot), scores)
    else:
        encode_buckets_into(obs, bit_offsets, chunk_starts, edge_counts, edges, onehot, x)
        forward_one(weights, thresholds, sizes, w_offsets, t_offsets, x, scratch, scores)
    if head_kind == ARGMAX:
        return argmax_index(scores, 0, scores.shape[0]), np.float32(0.0)
    continuous_action(scores, head_kind, bins, low, high, scale, action)
    return 0, action[0]


#: ``word`` of the rollouts that are not for one-word networks with a discrete head
GENERAL = -1

_WORD_ENCODERS = {
    WORD_THERMOMETER16: encode_thermometer16_word,
    WORD_THERMOMETER: encode_thermometer_word,
    WORD_ONEHOT: encode_onehot_word,
}

#: How the encoder kind reaches a built-in one-word rollout from Python: as the *type* of
#: its ``word`` argument (a zero of that integer type), so numba compiles and caches one
#: version per kind and picks it in its fast C dispatch. A literal through ``literally``
#: did the same but re-typed the call every time (~0.2 s per call).
WORD_TAGS = {WORD_THERMOMETER16: np.int8(0), WORD_THERMOMETER: np.int16(0), WORD_ONEHOT: np.int32(0)}
_TAG_KINDS = {tag.dtype.itemsize * 8: kind for kind, tag in WORD_TAGS.items()}


def _act_step(word, weights, thresholds, sizes, w_offsets, t_offsets, bit_offsets, chunk_starts, edge_counts, edges,
              onehot, head_kind, bins, low, high, scale, narrow, obs, x, scratch, scores, action):
    """``(discrete action, continuous value)`` of one step, chosen at compile time by ``word``
    (a constant): for a network of <= 64-bit layers with a discrete head (``word`` the
    encoder's kind, ``WORD_*`` in :mod:`genome.encoders.kernels`) the encoder and the
    network inline with the word in registers, and only that encoder kind's comparisons are
    compiled (all three kinds together cost a fifth of CartPole's cold compile); any other
    network (``GENERAL``) calls :func:`_act` (inlining everything made the compile take
    minutes)."""


@overload(_act_step, inline="always", prefer_literal=True)
def _act_step_impl(word, weights, thresholds, sizes, w_offsets, t_offsets, bit_offsets, chunk_starts, edge_counts, edges,
                   onehot, head_kind, bins, low, high, scale, narrow, obs, x, scratch, scores, action):
    kind = word.literal_value if isinstance(word, types.IntegerLiteral) else _TAG_KINDS.get(getattr(word, "bitwidth", 0))
    if kind is None:
        raise errors.TypingError(f"_act_step needs word as a constant or a tag of WORD_TAGS, got {word}")
    if kind == GENERAL:
        def general(word, weights, thresholds, sizes, w_offsets, t_offsets, bit_offsets, chunk_starts, edge_counts, edges,
                    onehot, head_kind, bins, low, high, scale, narrow, obs, x, scratch, scores, action):
            return _act(weights, thresholds, sizes, w_offsets, t_offsets, bit_offsets, chunk_starts, edge_counts, edges,
                        onehot, head_kind, bins, low, high, scale, narrow, obs, x, scratch, scores, action)
        return general
    encode = _WORD_ENCODERS[kind]

    def one_word(word, weights, thresholds, sizes, w_offsets, t_offsets, bit_offsets, chunk_starts, edge_counts, edges,
                 onehot, head_kind, bins, low, high, scale, narrow, obs, x, scratch, scores, action):
        bits = encode(obs, bit_offsets, chunk_starts, edge_counts, edges)
        return forward_word_argmax(weights, thresholds, sizes, w_offsets, t_offsets, bits), np.float32(0.0)
    return one_word


# Inlining _act_step's loops makes numba's SSA check warn "variable ... is not in scope" for
# its loop variables (a pedantic internal check; the code is right:
# tests/problems/test_fused.py compares every kind's rollouts with a plain Python loop).
# Not shown to users.
warnings.filterwarnings("ignore", message=r".*variable '_act_step_impl", category=errors.NumbaIRAssumptionWarning)


@njit(cache=True, inline="always", boundscheck=False, nogil=True, error_model="numpy")
def _step(kernel, word, weights, thresholds, sizes, w_offsets, t_offsets, bit_offsets, chunk_starts, edge_counts, edges, onehot,
          head_kind, bins, low, high, scale, narrow, observe, state, obs, x, scratch, scores, action):
    """One step of one policy: observe, encode, forward, act; returns ``(reward, terminated)``.
    Every array comes as its own argument, unpacked once outside the step loop: in numba
    each array taken from a tuple or sliced from another costs an atomic reference-count
    update, several times the cost of a step. ``observe`` (a tuple of increasing indices;
    empty: all) keeps only those observation components; ``word``: :func:`_act_step`."""
    env_observe(kernel, state, obs)
    observe_subset(observe, obs)
    a, value = _act_step(word, weights, thresholds, sizes, w_offsets, t_offsets, bit_offsets, chunk_starts, edge_counts,
                         edges, onehot, head_kind, bins, low, high, scale, narrow, obs, x, scratch, scores, action)
    # one call site: the environment step is typed and compiled once per lane
    return env_step(kernel, state, a, value)


@njit(cache=True, boundscheck=False, nogil=True)
def task_key(task, episodes, seed, purpose, generation, member_offset, starts_group):
    """Start-state key of task ``m * episodes + e`` (member ``m``, episode ``e``); see the
    module docstring (also used by :mod:`genome.problems.fused_dense`)."""
    m = task // episodes
    e = task % episodes
    return make_key(seed, purpose, generation, e if starts_group == 0 else ((member_offset + m) // starts_group) * episodes + e)


@njit(cache=True, inline="always", boundscheck=False, nogil=True, error_model="numpy")
def _rollout(
    kernel, word, max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head, observe, dims,
    seed, purpose, generation, member_offset, starts_group, returns, frames,
):
    """Fill ``returns[m, e]`` (float64) and ``frames[m, e]`` (int64) for every member and episode."""
    n_members, episodes = returns.shape
    n_tasks = n_members * episodes
    narrow = max_words(sizes) == 1
    bit_offsets, chunk_starts, edge_counts, edges, onehot = enc
    head_kind, bins, low, high, scale = head
    for chunk in prange((n_tasks + TASKS_PER_CHUNK - 1) // TASKS_PER_CHUNK):
        stop = min(n_tasks, (chunk + 1) * TASKS_PER_CHUNK)
        state, obs, u, x, scratch, scores, action = _work(sizes, 2, dims)
        n_x, n_scr, n_out = n_words(sizes[0]), 2 * max_words(sizes), sizes[len(sizes) - 1]
        sa, oa, ua, xa, scra, sca, aa = state[0, :dims[0]], obs[0, :dims[1]], u[0, :dims[2]], x[0, :n_x], scratch[0, :n_scr], scores[0, :n_out], action[0, :1]
        sb, ob, ub, xb, scrb, scb, ab = state[1, :dims[0]], obs[1, :dims[1]], u[1, :dims[2]], x[1, :n_x], scratch[1, :n_scr], scores[1, :n_out], action[1, :1]
        work_a = (sa, oa, ua, xa, scra, sca, aa)
        work_b = (sb, ob, ub, xb, scrb, scb, ab)
        # lane a / lane b: task index (-1 = idle), return and steps so far. The two lanes are
        # written out on purpose: moving their shared end-of-episode bookkeeping into a helper
        # measured ~5% slower (30-32 vs 32-35 M CartPole steps/s on one core)
        ta = chunk * TASKS_PER_CHUNK
        tb = ta + 1
        nxt = ta + 2
        if tb >= stop:
            tb = -1
        _reset(kernel, task_key(ta, episodes, seed, purpose, generation, member_offset, starts_group), work_a)
        if tb >= 0:
            _reset(kernel, task_key(tb, episodes, seed, purpose, generation, member_offset, starts_group), work_b)
        ra = rb = 0.0
        na = nb = 0
        wa, tha = weights[ta // episodes], thresholds[ta // episodes]
        wb, thb = weights[max(tb, 0) // episodes], thresholds[max(tb, 0) // episodes]
        while ta >= 0 or tb >= 0:
            if ta >= 0:
                reward, terminated = _step(kernel, word, wa, tha, sizes, w_offsets, t_offsets, bit_offsets, chunk_starts, edge_counts, edges, onehot,
                                           head_kind, bins, low, high, scale, narrow, observe, sa, oa, xa, scra, sca, aa)
                ra += reward
                na += 1
                if terminated or na >= max_steps:
                    returns[ta // episodes, ta % episodes] = ra
                    frames[ta // episodes, ta % episodes] = na
                    ra, na = 0.0, 0
                    if nxt < stop:
                        ta, nxt = nxt, nxt + 1
                        wa, tha = weights[ta // episodes], thresholds[ta // episodes]
                        _reset(kernel, task_key(ta, episodes, seed, purpose, generation, member_offset, starts_group), work_a)
                    else:
                        ta = -1
            if tb >= 0:
                reward, terminated = _step(kernel, word, wb, thb, sizes, w_offsets, t_offsets, bit_offsets, chunk_starts, edge_counts, edges, onehot,
                                           head_kind, bins, low, high, scale, narrow, observe, sb, ob, xb, scrb, scb, ab)
                rb += reward
                nb += 1
                if terminated or nb >= max_steps:
                    returns[tb // episodes, tb % episodes] = rb
                    frames[tb // episodes, tb % episodes] = nb
                    rb, nb = 0.0, 0
                    if nxt < stop:
                        tb, nxt = nxt, nxt + 1
                        wb, thb = weights[tb // episodes], thresholds[tb // episodes]
                        _reset(kernel, task_key(tb, episodes, seed, purpose, generation, member_offset, starts_group), work_b)
                    else:
                        tb = -1


# One compiled rollout per native environment: ``kernel`` is a compile-time constant in
# each, so the environment dispatch folds away and only that environment's code sits in the
# step loop (all five inlined together made CartPole's loop 25% slower); the environment
# kernels are chosen at typing time (numba overloads in genome.envs.native), so nothing of
# the other environments is compiled in. Separate named functions, not a factory: numba's
# on-disk cache is keyed by function name and line.
@njit(cache=True, boundscheck=False, nogil=True, parallel=PRANGE_ONLY, error_model="numpy")
def _rollout_cartpole(word, max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames):
    _rollout(CARTPOLE, GENERAL, max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames)


@njit(cache=True, boundscheck=False, nogil=True, parallel=PRANGE_ONLY, error_model="numpy")
def _rollout_cartpole_word(word, max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames):
    _rollout(CARTPOLE, word, max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames)


@njit(cache=True, boundscheck=False, nogil=True, parallel=PRANGE_ONLY, error_model="numpy")
def _rollout_acrobot(word, max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames):
    _rollout(ACROBOT, GENERAL, max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames)


@njit(cache=True, boundscheck=False, nogil=True, parallel=PRANGE_ONLY, error_model="numpy")
def _rollout_acrobot_word(word, max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames):
    _rollout(ACROBOT, word, max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames)


@njit(cache=True, boundscheck=False, nogil=True, parallel=PRANGE_ONLY, error_model="numpy")
def _rollout_mountain_car(word, max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames):
    _rollout(MOUNTAIN_CAR, GENERAL, max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames)


@njit(cache=True, boundscheck=False, nogil=True, parallel=PRANGE_ONLY, error_model="numpy")
def _rollout_mountain_car_word(word, max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames):
    _rollout(MOUNTAIN_CAR, word, max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames)


@njit(cache=True, boundscheck=False, nogil=True, parallel=PRANGE_ONLY, error_model="numpy")
def _rollout_mountain_car_continuous(word, max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames):
    _rollout(MOUNTAIN_CAR_CONTINUOUS, GENERAL, max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames)


@njit(cache=True, boundscheck=False, nogil=True, parallel=PRANGE_ONLY, error_model="numpy")
def _rollout_mountain_car_continuous_word(word, max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames):
    _rollout(MOUNTAIN_CAR_CONTINUOUS, word, max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames)


@njit(cache=True, boundscheck=False, nogil=True, parallel=PRANGE_ONLY, error_model="numpy")
def _rollout_pendulum(word, max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames):
    _rollout(PENDULUM, GENERAL, max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames)


@njit(cache=True, boundscheck=False, nogil=True, parallel=PRANGE_ONLY, error_model="numpy")
def _rollout_pendulum_word(word, max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames):
    _rollout(PENDULUM, word, max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames)


_ROLLOUTS = {
    (CARTPOLE, False): _rollout_cartpole,
    (CARTPOLE, True): _rollout_cartpole_word,
    (ACROBOT, False): _rollout_acrobot,
    (ACROBOT, True): _rollout_acrobot_word,
    (MOUNTAIN_CAR, False): _rollout_mountain_car,
    (MOUNTAIN_CAR, True): _rollout_mountain_car_word,
    (MOUNTAIN_CAR_CONTINUOUS, False): _rollout_mountain_car_continuous,
    (MOUNTAIN_CAR_CONTINUOUS, True): _rollout_mountain_car_continuous_word,
    (PENDULUM, False): _rollout_pendulum,
    (PENDULUM, True): _rollout_pendulum_word,
}
#: user environments' rollouts, by (kernel code, word), compiled on first use
_USER_ROLLOUTS: dict = {}


def _user_rollout(kernel: int, word: int):
    """The rollout of a user environment (kernel code ``kernel``, :mod:`genome.envs.custom`):
    the same body, the code and ``word`` compile-time constants through the closure. Not
    cached on disk: numba's cache would not see the user's file change."""
    @njit(boundscheck=False, nogil=True, parallel=PRANGE_ONLY, error_model="numpy")
    def rollout(max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames):
        _rollout(kernel, word, max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head, observe, dims, seed, purpose, generation, member_offset, starts_group, returns, frames)
    return rollout


def rollout_native(kernel: int, max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head, observe, dims, *rest) -> None:
    """Fill ``returns[m, e]`` (float64) and ``frames[m, e]`` (int64) for every member and
    episode of native environment ``kernel``; arguments as :func:`_rollout` after ``word``,
    which is derived here: networks whose layers all fit one 64-bit word with a discrete head
    run a rollout that compiles only that path, and only their encoder's kind (``word``:
    :data:`WORD_TAGS`); every other network runs the ``GENERAL`` rollout."""
    one_word = max_words(sizes) == 1 and head[0] == ARGMAX
    word = word_kind(enc[2], enc[4]) if one_word else GENERAL
    entry = _ROLLOUTS.get((kernel, one_word))
    if entry is not None:
        entry(WORD_TAGS.get(word, GENERAL), max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head, observe, dims, *rest)
        return
    entry = _USER_ROLLOUTS.get((kernel, word))
    if entry is None:
        entry = _USER_ROLLOUTS[kernel, word] = _user_rollout(kernel, word)
    entry(max_steps, weights, thresholds, sizes, w_offsets, t_offsets, enc, head, observe, dims, *rest)
