"""The Gymnasium problem stepped by EnvPool (``env.backend = "envpool"``).

EnvPool (Weng et al. 2022, https://envpool.readthedocs.io) runs its environments in C++;
one call steps a whole batch, so the per-step Python work of the slot loop
(``problems/gym.py``) is paid once per batch instead of once per environment. On this
machine it steps MuJoCo about 1.5-2x faster per core than Gymnasium's Python loop
(``benchmarks/gym_throughput.py``).

Episode semantics are Gymnasium's: EnvPool implements the same ``-v5`` environments (same
start-state distribution, dynamics, termination rule, time limit; rewards are stored as
float32), checked step by step against Gymnasium in ``tests/problems/test_envpool.py``.
What differs is the reset noise's random generator: EnvPool seeds each environment once,
when the pool is made, so a pool is made for each chunk of (member, episode) tasks with
one environment per task, seeded with that episode's seed (the same
``episode_seed(seed, purpose, generation, episode_id)`` the slot loop passes to
``reset``). Every environment runs exactly one episode, and the numbers do not depend on
how tasks are split over workers or chunks -- a run is still a function of its config
and seed, though not the same numbers as the same run on the Gymnasium backend.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from genome.errors import ConfigError
from genome.policies.heads import ARGMAX, continuous_actions
from genome.problems.base import EpisodeRequest, EvalResult
from genome.problems.gym_env import episode_seed, raw_observations, record_observation


def make_pool(env_id: str, env_kwargs: dict, seeds: list[int], max_episode_steps: int = 0):
    """An EnvPool of ``len(seeds)`` environments, environment ``i`` seeded ``seeds[i]``,
    stepped synchronously on the calling thread."""
    try:
        import envpool
    except ImportError:
        raise ConfigError("env.backend = 'envpool' needs EnvPool: pip install 'genome[envpool]'") from None
    kwargs = dict(env_kwargs)
    if max_episode_steps:
        kwargs["max_episode_steps"] = max_episode_steps
    n = len(seeds)
    try:
        return envpool.make_gymnasium(env_id, num_envs=n, batch_size=n, num_threads=1, seed=list(seeds), **kwargs)
    except Exception as exc:  # noqa: BLE001 - unknown ids and keyword arguments raise assorted errors
        known = [e for e in envpool.list_all_envs() if e.split("-")[0] == env_id.split("-")[0]]
        hint = f" (EnvPool has {', '.join(known)})" if known else " (EnvPool does not provide it; use env.backend = 'gymnasium')"
        raise ConfigError(f"EnvPool cannot make {env_id!r} with env.kwargs {env_kwargs}: {type(exc).__name__}: {exc}{hint}") from None


#: what a step did to an episode (``_absorb``'s codes)
RUNNING, ENDED, BAD_REWARD, STEP_LIMIT, BAD_OBS = 0, 1, 2, 3, 4


@njit(cache=True, nogil=True, boundscheck=False)
def _absorb(ids, o, r, terminated, truncated, member, episode, steps, ret, active, frames, returns, obs, check,
            obs_count, obs_sum, obs_sumsq, step_limit, codes):
    """One batch of EnvPool's step results into the episodes' state (rows in ``ids`` order);
    ``codes[row]`` says what happened (RUNNING, ENDED or a failure the caller records)."""
    for row in range(ids.shape[0]):
        j = ids[row]
        m, e = member[j], episode[j]
        steps[j] += 1
        frames[m, e] += 1
        if not np.isfinite(r[row]):
            codes[row] = BAD_REWARD
            active[j] = False
            continue
        ret[j] += r[row]
        if terminated[row] or truncated[row]:
            returns[m, e] = ret[j]
            active[j] = False
            codes[row] = ENDED
            continue
        if steps[j] >= step_limit:
            codes[row] = STEP_LIMIT
            active[j] = False
            continue
        ok = True
        if check:
            for d in range(o.shape[1]):
                if not np.isfinite(o[row, d]):
                    ok = False
        if not ok:
            codes[row] = BAD_OBS
            active[j] = False
            continue
        codes[row] = RUNNING
        obs_count[m] += 1
        for d in range(o.shape[1]):
            obs[j, d] = o[row, d]
        if obs_sum.shape[0] > 0:
            for d in range(o.shape[1]):
                v = np.float64(o[row, d])
                obs_sum[m, d] += v
                obs_sumsq[m, d] += v * v


def evaluate_envpool(problem, genomes: np.ndarray, member_offset: int, request: EpisodeRequest) -> EvalResult:
    """``GymProblem.evaluate`` on EnvPool: same inputs, same outputs, same failure rules
    (an exception, a non-finite observation or reward, or an episode past ``step_limit``
    fails its member alone)."""
    spec, fam = problem.spec, problem.family
    arrays = fam.decode_arrays(genomes)
    kind, bins, low, high, scale = fam.head.arrays()
    n, episodes = genomes.shape[0], request.episodes
    returns = np.zeros((n, episodes))
    frames = np.zeros((n, episodes), dtype=np.int64)
    failures: dict[int, str] = {}
    dims = fam.n_inputs
    raw = raw_observations(fam)
    obs_count = np.zeros(n)
    gather = spec.obs_stats
    obs_sum = np.zeros((n, dims)) if gather else np.zeros((0, 0))
    obs_sumsq = np.zeros((n, dims)) if gather else np.zeros((0, 0))
    n_tasks = n * episodes
    chunk = max(1, spec.slots)
    for first in range(0, n_tasks, chunk):
        tasks = np.arange(first, min(first + chunk, n_tasks))
        member, episode = tasks // episodes, tasks % episodes
        seeds = [episode_seed(problem.seed, request.purpose, request.generation, request.episode_id(member_offset + int(m), int(e)))
                 for m, e in zip(member, episode)]
        pool = make_pool(spec.env_id, spec.env_kwargs, seeds, spec.max_episode_steps)
        k = tasks.size
        obs = np.zeros((k, dims), dtype=np.uint8 if raw else np.float64)
        ret = np.zeros(k)
        steps = np.zeros(k, dtype=np.int64)
        active = np.ones(k, dtype=bool)
        state = np.zeros((k, fam.state_size))  # one episode per environment: each starts at zero
        codes = np.zeros(k, dtype=np.int64)
        known_failures = len(failures)

        def fail(j: int, reason: str) -> None:
            failures.setdefault(int(member[j]), reason)
            active[j] = False

        try:
            try:
                o, info = pool.reset()
            except Exception as exc:  # noqa: BLE001
                for j in range(k):
                    fail(j, f"reset raised {type(exc).__name__}: {exc}")
                continue
            if spec.observe:
                o = np.asarray(o)[:, list(spec.observe)]
            for row, j in enumerate(info["env_id"].tolist()):
                arr = np.asarray(o[row]).reshape(-1)
                if not record_observation(obs[j], arr, arr.dtype.kind == "f", int(member[j]), obs_count, obs_sum, obs_sumsq):
                    fail(j, "reset returned a non-finite observation")
            while True:
                if len(failures) != known_failures:  # a member failed (here or in an earlier chunk): stop its episodes
                    known_failures = len(failures)
                    active &= ~np.isin(member, np.fromiter(failures, dtype=np.int64))
                idx = np.flatnonzero(active)
                if idx.size == 0:
                    break
                rows = state[idx]
                scores = fam.forward_indexed(arrays, member[idx], obs[idx], rows)
                state[idx] = rows
                if kind == ARGMAX:
                    actions = np.argmax(scores, axis=1)
                else:
                    actions = np.empty((idx.size, fam.head.action_dim), dtype=np.float32)
                    continuous_actions(scores, kind, bins, low, high, scale, actions)
                try:
                    o, r, terminated, truncated, info = pool.step(actions, idx.astype(np.int32))
                except Exception as exc:  # noqa: BLE001 - the whole batch's step failed
                    for j in idx.tolist():
                        fail(j, f"step raised {type(exc).__name__}: {exc}")
                    break
                ids = np.asarray(info["env_id"], dtype=np.int64)
                o = np.asarray(o).reshape(ids.size, -1)
                if spec.observe:
                    o = np.ascontiguousarray(o[:, list(spec.observe)])
                _absorb(ids, o, np.asarray(r, dtype=np.float64), np.asarray(terminated), np.asarray(truncated), member, episode, steps, ret,
                        active, frames, returns, obs, o.dtype.kind == "f", obs_count, obs_sum, obs_sumsq, spec.step_limit, codes)
                for row in np.flatnonzero(codes[: ids.size] >= BAD_REWARD).tolist():
                    j, code = int(ids[row]), codes[row]
                    fail(j, f"non-finite reward {r[row]} at step {steps[j]}" if code == BAD_REWARD else
                         f"episode did not end within the step limit of {spec.step_limit} steps" if code == STEP_LIMIT else
                         f"non-finite observation at step {steps[j]}")
        finally:
            pool.close()
    for m in failures:
        returns[m] = np.nan
    return EvalResult(returns, frames, failures, obs_count, obs_sum if gather else None, obs_sumsq if gather else None)
