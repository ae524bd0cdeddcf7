"""Any Gymnasium environment: members evaluated in a loop over real ``gymnasium.Env``s.

Each worker keeps ``slots`` environments. A slot runs one (member, episode) task at a
time and takes the next when its episode ends; at every step the observations of all
busy slots go through the policy family's population kernel in one call
(``family.forward_indexed``: slot -> its member's network; the binary family encodes the
observations to bits first, the real-valued ones normalize them). Per-slot stepping (rather than
``SyncVectorEnv``) is what lets one member fail alone: an environment that raises,
returns a NaN/inf observation or reward, or runs past ``step_limit`` steps fails that
member with a recorded reason (fitness NaN: it ranks last), never the run.

Episode ``e`` of member ``m`` resets with a seed drawn from ``(seed, purpose, generation,
e)`` (common start states) or ``(..., m * episodes + e)``; the same members give the same
numbers whichever worker runs them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from genome.nets.conv import one_blas_thread
from genome.policies.heads import ARGMAX, continuous_actions
from genome.problems.base import EpisodeRequest, EvalResult
from genome.problems.gym_env import episode_seed, make_env, raw_observations, record_observation


@dataclass(frozen=True)
class GymSpec:
    """The static part of a Gymnasium problem: small and picklable, built once per worker."""

    env_id: str
    env_kwargs: dict = field(default_factory=dict)
    seed: int = 0
    max_episode_steps: int = 0
    step_limit: int = 100_000
    slots: int = 16
    obs_stats: bool = False
    preprocess: str = "none"
    backend: str = "gymnasium"  #: or "envpool" (problems/envpool.py)
    observe: tuple = ()  #: env.observe: the observation components the policy sees (empty: all)

    def open(self, family) -> "GymProblem":
        """The problem again, in a worker (:func:`genome.problems.base.open_problem`)."""
        return GymProblem(self, family)



class GymProblem:
    slices_episodes = True  #: a worker may run a slice of each member's episodes

    def __init__(self, spec: GymSpec, family):
        self.spec = spec
        self.family = family
        self._envs: list = []
        self.seed = spec.seed

    @property
    def gathers_stats(self) -> bool:
        """Whether results carry per-member observation statistics."""
        return self.spec.obs_stats

    def set_family(self, family) -> None:
        """The same family with new observation statistics (encoder edges or normalizer)."""
        self.family = family

    def _env(self, slot: int):
        while len(self._envs) <= slot:
            self._envs.append(make_env(self.spec.env_id, self.spec.env_kwargs, self.spec.max_episode_steps or None, self.spec.preprocess,
                                       self.spec.observe))
        return self._envs[slot]

    def close(self) -> None:
        for env in self._envs:
            env.close()
        self._envs = []

    def evaluate(self, genomes: np.ndarray, member_offset: int, request: EpisodeRequest) -> EvalResult:
        if self.spec.backend == "envpool":
            from genome.problems.envpool import evaluate_envpool

            return evaluate_envpool(self, genomes, member_offset, request)
        spec, fam = self.spec, self.family
        arrays = fam.decode_arrays(genomes)
        head = fam.head
        n, episodes = genomes.shape[0], request.episodes
        returns = np.zeros((n, episodes))
        frames = np.zeros((n, episodes), dtype=np.int64)
        failures: dict[int, str] = {}
        dims = fam.n_inputs
        raw = raw_observations(fam)
        obs_count = np.zeros(n)
        obs_sum = np.zeros((n, dims)) if spec.obs_stats else None
        obs_sumsq = np.zeros((n, dims)) if spec.obs_stats else None
        n_tasks = n * episodes
        slots = min(spec.slots, n_tasks)
        slot_task = np.full(slots, -1, dtype=np.int64)
        state = np.zeros((slots, fam.state_size))  # each slot's recurrent state (no columns without memory)
        slot_steps = [0] * slots  # plain lists: scalar access from Python is cheaper than numpy's
        slot_return = [0.0] * slots
        obs = np.zeros((slots, dims), dtype=np.uint8 if raw else np.float64)
        next_task = 0

        def fail(m: int, reason: str) -> None:
            failures.setdefault(m, reason)

        gather = obs_sum is not None
        no_stats = np.zeros((0, 0))

        def observe(slot: int, o) -> bool:
            arr = np.asarray(o).reshape(-1)
            m = slot_task[slot] // episodes
            return record_observation(obs[slot], arr, arr.dtype.kind == "f", m, obs_count, obs_sum if gather else no_stats, obs_sumsq if gather else no_stats)

        rotation = None  # stratified starts (ALE no-op counts enumerated): this request's rotation of the counts
        if request.stratified:
            from genome.problems.ale_starts import NOOP_MAX, stratified_noops

            rotation = episode_seed(self.seed, request.purpose, request.generation, 0) % NOOP_MAX

        def start(slot: int) -> None:
            nonlocal next_task
            while next_task < n_tasks:
                task = next_task
                next_task += 1
                m, e = divmod(task, episodes)
                if m in failures:
                    continue
                episode_id = request.episode_id(member_offset + m, e)
                slot_task[slot], slot_steps[slot], slot_return[slot] = task, 0, 0.0
                state[slot] = 0.0
                try:
                    options = None if rotation is None else {"noops": stratified_noops(episode_id, rotation)}
                    o, _ = self._env(slot).reset(seed=episode_seed(self.seed, request.purpose, request.generation, episode_id), options=options)
                except Exception as exc:  # noqa: BLE001 - any environment error fails the member only
                    fail(m, f"reset raised {type(exc).__name__}: {exc}")
                    continue
                if not observe(slot, o):
                    fail(m, "reset returned a non-finite observation")
                    continue
                return
            slot_task[slot] = -1

        for s in range(slots):
            start(s)
        envs = [self._env(s) for s in range(slots)]
        kind, bins, low, high, scale = head.arrays()
        limit = spec.step_limit
        # BLAS (the conv family's matrix products) on one thread for the whole loop: its bits
        # depend on the thread count, and switching it per step costs more than the step
        with one_blas_thread():
            while True:
                busy = np.flatnonzero(slot_task >= 0)
                if busy.size == 0:
                    break
                members = slot_task[busy] // episodes
                rows = state[busy]
                scores = fam.forward_indexed(arrays, members, obs[busy], rows)
                state[busy] = rows
                if kind == ARGMAX:
                    actions = np.argmax(scores, axis=1).tolist()  # ties to the lowest index
                else:
                    actions = np.empty((busy.size, head.action_dim), dtype=np.float32)
                    continuous_actions(scores, kind, bins, low, high, scale, actions)
                for i, s in enumerate(busy.tolist()):
                    m, e = divmod(int(slot_task[s]), episodes)
                    if m in failures:  # failed in another slot meanwhile
                        start(s)
                        continue
                    try:
                        o, r, terminated, truncated, _ = envs[s].step(actions[i])
                    except Exception as exc:  # noqa: BLE001
                        fail(m, f"step raised {type(exc).__name__}: {exc}")
                        start(s)
                        continue
                    slot_steps[s] += 1
                    frames[m, e] += 1
                    r = float(r)
                    if not math.isfinite(r):
                        fail(m, f"non-finite reward {r} at step {slot_steps[s]}")
                        start(s)
                        continue
                    slot_return[s] += r
                    if terminated or truncated:
                        returns[m, e] = slot_return[s]
                        start(s)
                    elif slot_steps[s] >= limit:
                        fail(m, f"episode did not end within the step limit of {limit} steps")
                        start(s)
                    elif not observe(s, o):
                        fail(m, f"non-finite observation at step {slot_steps[s]}")
                        start(s)
        for m in failures:
            returns[m] = np.nan
        return EvalResult(returns, frames, failures, obs_count, obs_sum, obs_sumsq)
