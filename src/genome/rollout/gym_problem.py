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

from dataclasses import dataclass, field

import numpy as np
from numba import njit

import math

from genome.nets.conv import one_blas_thread
from genome.policies.heads import ARGMAX, continuous_actions
from genome.rng import make_key, random_u64
from genome.rollout.problem import EpisodeRequest, EvalResult


def make_env(env_id: str, kwargs: dict, max_episode_steps: int | None = None, preprocess: str = "none"):
    """``gymnasium.make`` with ALE environments registered on demand. ``preprocess="atari"``
    wraps the environment as DQN does (Mnih et al. 2015; Machado et al. 2018): Gymnasium's
    ``AtariPreprocessing`` (the base env at frameskip 1; every agent step repeats the action
    for 4 frames and max-pools the last two; 84x84 grayscale; up to 30 no-op frames at the
    start) and ``FrameStackObservation`` of the last 4 frames: observations ``(4, 84, 84)``
    uint8. ``preprocess="noop"``: an ALE environment's own observations (e.g. RAM) after up
    to 30 no-op steps. ALE environments start episodes through
    :class:`genome.rollout.ale_starts.AleStarts` (no-ops drawn from the reset's seed; no ROM
    reload on resets of a deterministic emulator)."""
    import gymnasium as gym

    from genome.config import PREPROCESS
    from genome.errors import ConfigError

    if preprocess not in PREPROCESS:
        raise ConfigError(f"env.preprocess must be one of {', '.join(PREPROCESS)}, got {preprocess!r}")
    if not env_id.startswith("ALE/"):
        if preprocess != "none":
            raise ConfigError(f"env.preprocess = {preprocess!r} is for Atari (ALE/...) environments, not {env_id}")
        return gym.make(env_id, max_episode_steps=max_episode_steps, **kwargs) if max_episode_steps else gym.make(env_id, **kwargs)
    try:
        import ale_py

        gym.register_envs(ale_py)
    except ImportError:
        raise ConfigError(f"{env_id} needs the Arcade Learning Environment: pip install 'genome[atari]'") from None
    from genome.rollout.ale_starts import NOOP_MAX, AleStarts

    if preprocess == "atari":
        kwargs = {"frameskip": 1, **kwargs}
    env = AleStarts(gym.make(env_id, **kwargs), NOOP_MAX if preprocess != "none" else 0)
    if preprocess == "atari":  # max_episode_steps counts agent steps (4 frames each)
        from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation

        env = FrameStackObservation(AtariPreprocessing(env, noop_max=0, frame_skip=4, screen_size=84, grayscale_obs=True), 4)
    if max_episode_steps:
        from gymnasium.wrappers import TimeLimit

        env = TimeLimit(env, max_episode_steps)
    return env


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
    backend: str = "gymnasium"  #: or "envpool" (rollout/envpool_loop.py)


@njit(cache=True, nogil=True)
def _episode_seed(seed, purpose, generation, episode_id):
    return random_u64(make_key(seed, purpose, generation, episode_id), 0) >> np.uint64(33)


def episode_seed(seed: int, purpose: int, generation: int, episode_id: int) -> int:
    """The ``reset(seed=...)`` of an episode: 31 bits of its counter-based stream."""
    return int(_episode_seed(seed, purpose, generation, episode_id))


@njit(cache=True, nogil=True, boundscheck=False)
def _record(row, arr, check, m, count, total, total_sq):
    """Copy observation ``arr`` into ``row`` and add it to member ``m``'s statistics (when
    ``total`` has rows); False, and nothing recorded, if ``check`` and a value is not finite."""
    if check:
        for d in range(arr.shape[0]):
            if not np.isfinite(arr[d]):
                return False
    for d in range(arr.shape[0]):
        row[d] = arr[d]
    count[m] += 1
    if total.shape[0] > 0:
        for d in range(arr.shape[0]):
            v = np.float64(arr[d])
            total[m, d] += v
            total_sq[m, d] += v * v
    return True


def raw_observations(family) -> bool:
    """Whether ``family`` takes the environment's uint8 observations as they are (raw bits,
    images, the conv family) rather than float64 numbers."""
    enc = getattr(family, "encoder", None)
    return getattr(family, "raw_obs", False) or (enc is not None and enc.name in ("rawbits", "image"))


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
            self._envs.append(make_env(self.spec.env_id, self.spec.env_kwargs, self.spec.max_episode_steps or None, self.spec.preprocess))
        return self._envs[slot]

    def close(self) -> None:
        for env in self._envs:
            env.close()
        self._envs = []

    def evaluate(self, genomes: np.ndarray, member_offset: int, request: EpisodeRequest) -> EvalResult:
        if self.spec.backend == "envpool":
            from genome.rollout.envpool_loop import evaluate_envpool

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
            return _record(obs[slot], arr, arr.dtype.kind == "f", m, obs_count, obs_sum if gather else no_stats, obs_sumsq if gather else no_stats)

        rotation = None  # stratified starts (ALE no-op counts enumerated): this request's rotation of the counts
        if request.stratified:
            from genome.rollout.ale_starts import NOOP_MAX, stratified_noops

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
                scores = fam.forward_indexed(arrays, members, obs[busy])
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
