"""An evaluation problem: a pure function from genomes to episode returns.

Two problems share one interface (``evaluate(genomes, member_offset, request)``,
``family``, ``set_family``, ``close``): :class:`NativeProblem` (fused compiled rollouts)
and :class:`genome.rollout.gym_problem.GymProblem` (real Gymnasium environments). Both
decode genomes with the policy family; which compiled kernel runs a decoded population is
the family's ``kernel`` (``"binary"`` or ``"dense"``, :data:`NATIVE_KERNELS`). Everything
random comes from ``(seed, request.purpose, request.generation, episode)`` counters, so a
problem can be evaluated anywhere, in any split, and retried, with the same numbers
(docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from numba import njit

from genome.envs.native import (
    ACROBOT, CARTPOLE, MAX_OBS, MAX_STATE, MAX_UNIFORMS, MOUNTAIN_CAR, MOUNTAIN_CAR_CONTINUOUS, PENDULUM, NativeEnvSpec,
    env_observe, env_reset, env_step,
)
from genome.rng import make_key, random_uniform


@dataclass(frozen=True)
class EpisodeRequest:
    """Which episodes to run: ``episodes`` per member, start states keyed by
    ``(purpose, generation)``; shared by all members when ``common_starts``, else by the two
    members of each mirrored/antithetic pair when ``paired_starts``, else every member's own.

    A worker may get a slice of each member's episodes: episodes ``first_episode ..
    first_episode + episodes`` of ``total_episodes`` (0: the slice is the whole), so that
    one member's many episodes (a stopping test) spread over workers with the same
    numbers. Only the Gymnasium problem is given slices (the native one spreads
    (member, episode) pairs over threads itself)."""

    episodes: int
    purpose: int
    generation: int
    common_starts: bool = True
    paired_starts: bool = False
    #: ALE no-op starts enumerated instead of drawn (genome.rollout.ale_starts.stratified_noops)
    stratified: bool = False
    first_episode: int = 0
    total_episodes: int = 0

    @property
    def starts_group(self) -> int:
        """Members that share start states: 0 all, 2 pairs, 1 none (the kernels' argument)."""
        return 0 if self.common_starts else (2 if self.paired_starts else 1)

    def episode_id(self, member: int, episode: int) -> int:
        """The counter of episode ``episode`` (of this slice) of global member ``member``."""
        e = self.first_episode + episode
        group = self.starts_group
        return e if group == 0 else (member // group) * (self.total_episodes or self.episodes) + e

    def slice(self, first: int, stop: int) -> "EpisodeRequest":
        return replace(self, episodes=stop - first, first_episode=self.first_episode + first, total_episodes=self.total_episodes or self.episodes)


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
    def concatenate_episodes(parts: list["EvalResult"]) -> "EvalResult":
        """Slices of the same members' episodes, in episode order (statistics add up)."""
        failures: dict[int, str] = {}
        for p in parts:
            for k, v in p.failures.items():
                failures.setdefault(k, v)
        returns = np.concatenate([p.returns for p in parts], axis=1)
        for m in failures:
            returns[m] = np.nan
        stats = all(p.obs_sum is not None for p in parts)
        return EvalResult(
            returns,
            np.concatenate([p.frames for p in parts], axis=1),
            failures,
            sum(p.obs_count for p in parts) if all(p.obs_count is not None for p in parts) else None,
            sum(p.obs_sum for p in parts) if stats else None,
            sum(p.obs_sumsq for p in parts) if stats else None,
        )

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


@dataclass(frozen=True)
class NativeSpec:
    """The static part of a native problem: small and picklable (what workers receive)."""

    env: NativeEnvSpec
    seed: int
    max_episode_steps: int


class NativeProblem:
    """A native (numba) environment + a policy family + the run seed."""

    def __init__(self, env: NativeEnvSpec, family, seed: int, max_episode_steps: int | None = None):
        self.env = env
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


def open_problem(spec, family, kept: dict):
    """The problem of ``spec`` (native or Gymnasium) with ``family``, as a worker process
    needs it: built once and kept in ``kept`` (Gymnasium environments stay open between
    tasks), then given each task's family with its frozen statistics."""
    key = repr(spec)
    problem = kept.get(key)
    if problem is None:
        if isinstance(spec, NativeSpec):
            problem = NativeProblem(spec.env, family, spec.seed, spec.max_episode_steps)
        else:
            from genome.rollout.gym_problem import GymProblem

            problem = GymProblem(spec, family)
        kept[key] = problem
    problem.set_family(family)
    return problem


#: most bytes of decoded genomes one task holds at once: a task evaluates its members in
#: chunks of this size (a Nature-DQN genome is 6.8 MB; small genomes never split)
CHUNK_BYTES = 256 << 20


def evaluate_members(problem, members, start: int, stop: int, request: EpisodeRequest) -> EvalResult:
    """Members ``[start, stop)`` of a population description, regenerated and evaluated in
    chunks of at most :data:`CHUNK_BYTES` of genomes (a member's numbers do not depend on
    which chunk it is in: episode seeds follow its index)."""
    step = max(1, CHUNK_BYTES // max(1, 4 * problem.family.n_params))
    if stop - start <= step:
        return problem.evaluate(members.genomes(start, stop), start, request)
    return EvalResult.concatenate([problem.evaluate(members.genomes(a, min(a + step, stop)), a, request) for a in range(start, stop, step)])


def failed_result(n: int, episodes: int, reason: str, dims: int) -> EvalResult:
    """Every member of a task failed (zero observation statistics when ``dims``)."""
    stats = (np.zeros((n, dims)), np.zeros((n, dims))) if dims else (None, None)
    return EvalResult(np.full((n, episodes), np.nan), np.zeros((n, episodes), dtype=np.int64), {m: reason for m in range(n)}, np.zeros(n), *stats)


def _ints(a) -> tuple[int, ...]:
    return tuple(int(v) for v in a)


def _run_binary(env, max_steps, model, arrays, seed, request, member_offset, gather) -> EvalResult:
    """Fused rollouts of packed binary networks (``arrays = (weights, thresholds)``)."""
    from genome.rollout.fused import rollout_native

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
        (_ints(bit_offsets), _ints(chunk_starts), _ints(edge_counts), edges, onehot), head.arrays(),
        int(seed), request.purpose, request.generation, member_offset, request.starts_group,
        returns, frames,
    )
    return EvalResult(returns, frames)


def _run_dense(env, max_steps, model, arrays, seed, request, member_offset, gather) -> EvalResult:
    """Fused rollouts of real-valued networks (``arrays.params``: flat parameters per member)."""
    from genome.rollout.fused_dense import rollout_dense

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
        env.kernel, int(max_steps), params, model.structure.sizes_array, mean, std, clip, kind, bins, low, high, scale,
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


#: Family ``kernel`` -> fused rollout of a decoded population in a native environment.
NATIVE_KERNELS = {"binary": _run_binary, "dense": _run_dense}


def run_native(env, max_steps, model, arrays, seed, request, member_offset=0, gather=False) -> EvalResult:
    """Fused rollouts of the decoded population ``arrays`` of ``model`` (a policy family, or
    one trained network with its ``kernel_arrays()``) in native environment ``env``."""
    return NATIVE_KERNELS[model.kernel](env, max_steps, model, arrays, seed, request, member_offset, gather)


def random_observations(kernel: int, n_actions: int, action_low: float, action_high: float, max_steps: int,
                        seed: int, purpose: int, n_obs: int, out: np.ndarray) -> None:
    """Fill ``out`` (n_obs, obs_size) with observations of uniformly random-action episodes
    of native environment ``kernel``."""
    _RANDOM_OBSERVATIONS[kernel](n_actions, action_low, action_high, max_steps, seed, purpose, n_obs, out)


@njit(cache=True, nogil=True)
def _random_observations(kernel, n_actions, action_low, action_high, max_steps, seed, purpose, n_obs, out):
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


# One entry per environment, each calling the body with its environment code as a constant:
# numba then compiles only that environment into it (a call from Python would pass the code
# as a plain integer and compile all five).
@njit(cache=True, nogil=True)
def _random_observations_cartpole(n_actions, action_low, action_high, max_steps, seed, purpose, n_obs, out):
    _random_observations(CARTPOLE, n_actions, action_low, action_high, max_steps, seed, purpose, n_obs, out)


@njit(cache=True, nogil=True)
def _random_observations_acrobot(n_actions, action_low, action_high, max_steps, seed, purpose, n_obs, out):
    _random_observations(ACROBOT, n_actions, action_low, action_high, max_steps, seed, purpose, n_obs, out)


@njit(cache=True, nogil=True)
def _random_observations_mountain_car(n_actions, action_low, action_high, max_steps, seed, purpose, n_obs, out):
    _random_observations(MOUNTAIN_CAR, n_actions, action_low, action_high, max_steps, seed, purpose, n_obs, out)


@njit(cache=True, nogil=True)
def _random_observations_mountain_car_continuous(n_actions, action_low, action_high, max_steps, seed, purpose, n_obs, out):
    _random_observations(MOUNTAIN_CAR_CONTINUOUS, n_actions, action_low, action_high, max_steps, seed, purpose, n_obs, out)


@njit(cache=True, nogil=True)
def _random_observations_pendulum(n_actions, action_low, action_high, max_steps, seed, purpose, n_obs, out):
    _random_observations(PENDULUM, n_actions, action_low, action_high, max_steps, seed, purpose, n_obs, out)


_RANDOM_OBSERVATIONS = {
    CARTPOLE: _random_observations_cartpole,
    ACROBOT: _random_observations_acrobot,
    MOUNTAIN_CAR: _random_observations_mountain_car,
    MOUNTAIN_CAR_CONTINUOUS: _random_observations_mountain_car_continuous,
    PENDULUM: _random_observations_pendulum,
}
