"""Any Gymnasium environment: members evaluated in a loop over real ``gymnasium.Env``s.

Each worker keeps ``slots`` environments. A slot runs one (member, episode) task at a
time and takes the next when its episode ends; at every step the observations of all
busy slots go through the policy family's population kernel in one call
(``family.forward_indexed``: slot -> its member's network; the binary family encodes the
observations to bits first, the real-valued ones normalize them). Per-slot stepping (rather than
``SyncVectorEnv``) is what lets one member fail alone: an environment that raises,
returns a NaN/inf observation or reward, or runs past ``step_limit`` steps fails that
member with a recorded reason (fitness NaN: it ranks last), never the run (the rules are
``problems/episodes.py``'s, shared with EnvPool).

Episode ``e`` of member ``m`` resets with a seed drawn from ``(seed, purpose, generation,
e)`` (common start states) or ``(..., m * episodes + e)``; the same members give the same
numbers whichever worker runs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from genome.nets.conv import one_blas_thread
from genome.problems.base import EpisodeRequest, EvalResult, member_arrays
from genome.problems.episodes import EpisodeSlots
from genome.problems.gym_env import episode_seed, make_env, raw_observations


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
        arrays = member_arrays(fam, genomes, request)
        head_arrays = fam.head.arrays()
        episodes = request.episodes
        n_tasks = genomes.shape[0] * episodes
        book = EpisodeSlots(genomes.shape[0], episodes, fam.n_inputs, raw_observations(fam), fam.state_size, spec.obs_stats, spec.step_limit)
        slots = min(spec.slots, n_tasks)
        book.open_slots(slots)
        next_task = 0
        rotation = None  # stratified starts (ALE no-op counts enumerated): this request's rotation of the counts
        if request.stratified:
            from genome.problems.ale_starts import NOOP_MAX, stratified_noops

            rotation = episode_seed(self.seed, request.purpose, request.generation, 0) % NOOP_MAX

        def start(slot: int) -> None:
            """The slot takes the next task whose member has not failed, or goes idle."""
            nonlocal next_task
            while next_task < n_tasks:
                m, e = divmod(next_task, episodes)
                next_task += 1
                if m in book.failures:
                    continue
                book.begin(slot, m, e)
                episode_id = request.episode_id(member_offset + m, e)
                try:
                    options = None if rotation is None else {"noops": stratified_noops(episode_id, rotation)}
                    o, _ = self._env(slot).reset(seed=episode_seed(self.seed, request.purpose, request.generation, episode_id), options=options)
                except Exception as exc:  # noqa: BLE001 - any environment error fails the member only
                    book.stop(slot, f"reset raised {type(exc).__name__}: {exc}")
                    continue
                if book.first_observation(slot, o):
                    return
            book.idle(slot)

        for s in range(slots):
            start(s)
        envs = [self._env(s) for s in range(slots)]
        # BLAS (the conv family's matrix products) on one thread for the whole loop: its bits
        # depend on the thread count, and switching it per step costs more than the step
        with one_blas_thread():
            while True:
                busy = book.busy()
                if busy.size == 0:
                    break
                actions = book.actions(fam, arrays, head_arrays, busy)
                if actions.ndim == 1:
                    actions = actions.tolist()
                stepped, obs, rewards, terminated, truncated = [], [], [], [], []
                for i, s in enumerate(busy.tolist()):
                    if book.member[s] in book.failures:  # failed in another slot this round
                        continue
                    try:
                        o, r, term, trunc, _ = envs[s].step(actions[i])
                    except Exception as exc:  # noqa: BLE001
                        book.stop(s, f"step raised {type(exc).__name__}: {exc}")
                        continue
                    stepped.append(s)
                    obs.append(np.asarray(o).reshape(-1))
                    rewards.append(r)
                    terminated.append(term)
                    truncated.append(trunc)
                if stepped:
                    book.absorb(np.array(stepped), np.stack(obs), np.array(rewards, dtype=np.float64), np.array(terminated, dtype=bool),
                                np.array(truncated, dtype=bool))
                book.busy()  # a member failed this round: its other slots stop too
                for s in np.flatnonzero(~book.active & (book.member >= 0)).tolist():
                    start(s)
        return book.result()
