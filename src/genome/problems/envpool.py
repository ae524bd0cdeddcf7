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

from genome.errors import ConfigError
from genome.problems.base import EpisodeRequest, EvalResult, member_arrays
from genome.problems.episodes import EpisodeSlots
from genome.problems.gym_env import episode_seed, raw_observations


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


def evaluate_envpool(problem, genomes: np.ndarray, member_offset: int, request: EpisodeRequest) -> EvalResult:
    """``GymProblem.evaluate`` on EnvPool: same inputs, same outputs, the same rules
    (``problems/episodes.py``: an exception, a non-finite observation or reward, or an
    episode past ``step_limit`` fails its member alone)."""
    spec, fam = problem.spec, problem.family
    arrays = member_arrays(fam, genomes, request)
    head_arrays = fam.head.arrays()
    n, episodes = genomes.shape[0], request.episodes
    book = EpisodeSlots(n, episodes, fam.n_inputs, raw_observations(fam), fam.state_size, spec.obs_stats, spec.step_limit)
    n_tasks = n * episodes
    chunk = max(1, spec.slots)
    for first in range(0, n_tasks, chunk):
        tasks = np.arange(first, min(first + chunk, n_tasks))
        member, episode = tasks // episodes, tasks % episodes
        seeds = [episode_seed(problem.seed, request.purpose, request.generation, request.episode_id(member_offset + int(m), int(e)))
                 for m, e in zip(member, episode)]
        pool = make_pool(spec.env_id, spec.env_kwargs, seeds, spec.max_episode_steps)
        book.open_slots(tasks.size)  # one environment per task: each runs one episode, its state from zero
        for j in range(tasks.size):
            book.begin(j, int(member[j]), int(episode[j]))
        try:
            try:
                o, info = pool.reset()
            except Exception as exc:  # noqa: BLE001
                for j in range(tasks.size):
                    book.stop(j, f"reset raised {type(exc).__name__}: {exc}")
                continue
            if spec.observe:
                o = np.asarray(o)[:, list(spec.observe)]
            for row, j in enumerate(info["env_id"].tolist()):
                book.first_observation(j, o[row])
            while True:
                idx = book.busy()  # a member failed (here or in an earlier chunk): its episodes stop
                if idx.size == 0:
                    break
                actions = book.actions(fam, arrays, head_arrays, idx)
                try:
                    o, r, terminated, truncated, info = pool.step(actions, idx.astype(np.int32))
                except Exception as exc:  # noqa: BLE001 - the whole batch's step failed
                    for j in idx.tolist():
                        book.stop(j, f"step raised {type(exc).__name__}: {exc}")
                    break
                ids = np.asarray(info["env_id"], dtype=np.int64)
                o = np.asarray(o).reshape(ids.size, -1)
                if spec.observe:
                    o = o[:, list(spec.observe)]
                book.absorb(ids, o, r, terminated, truncated)
        finally:
            pool.close()
    return book.result()
