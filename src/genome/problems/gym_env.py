"""Gymnasium environments as the problems see them: making one (with the Atari
preprocessing and no-op starts), seeding its episodes, and recording its observations.

Shared by the slot loop (:mod:`genome.problems.gym`) and the EnvPool loop
(:mod:`genome.problems.envpool`).
"""

from __future__ import annotations

import warnings

import numpy as np
from numba import njit

from genome.errors import MujocoWarning
from genome.rng import make_key, random_u64


def _is_mujoco(env_id: str) -> bool:
    import gymnasium as gym

    try:
        entry = gym.spec(env_id).entry_point
    except Exception:  # noqa: BLE001 - an unknown id fails in gym.make with its own message
        return False
    return isinstance(entry, str) and entry.startswith("gymnasium.envs.mujoco")


def _warn_mujoco(text: str) -> None:
    warnings.warn(text.strip(), MujocoWarning, stacklevel=2)


def route_mujoco_warnings() -> None:
    """Route MuJoCo's warnings through Python's ``warnings`` as :class:`MujocoWarning`, each
    text once per process. MuJoCo's own handler writes ``MUJOCO_LOG.TXT`` into the working
    directory and prints every occurrence (HalfCheetah-v5's XML warns about
    ``settotalmass`` each time an environment is made); genome leaves no file where the user
    stands. Worker processes, whose environments the trainer process has already made
    once, ignore them (``executors/processes.py``)."""
    import mujoco

    if not any(f[2] is MujocoWarning for f in warnings.filters):
        warnings.filterwarnings("once", category=MujocoWarning)
    mujoco.set_mju_user_warning(_warn_mujoco)


def observe_indices(env, indices):
    """``env`` seen through the observation components ``indices`` (``env.observe``): a
    flat ``Box`` observation space of those components, and each observation sliced."""
    import gymnasium as gym

    from genome.errors import ConfigError

    space = env.observation_space
    if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
        raise ConfigError(f"env.observe needs a flat Box observation space, and {env.spec.id if env.spec else 'the environment'} has {space}")
    keep = list(indices)
    if keep[-1] >= space.shape[0]:
        raise ConfigError(f"env.observe = {keep}: the observation has {space.shape[0]} components (indices 0 to {space.shape[0] - 1})")
    sub = gym.spaces.Box(space.low[keep], space.high[keep], dtype=space.dtype)
    return gym.wrappers.TransformObservation(env, lambda o: np.asarray(o)[keep], sub)


def make_env(env_id: str, kwargs: dict, max_episode_steps: int | None = None, preprocess: str = "none", observe=()):
    """``gymnasium.make`` with ALE environments registered on demand. ``preprocess="atari"``
    wraps the environment as DQN does (Mnih et al. 2015; Machado et al. 2018): Gymnasium's
    ``AtariPreprocessing`` (the base env at frameskip 1; every agent step repeats the action
    for 4 frames and max-pools the last two; 84x84 grayscale; up to 30 no-op frames at the
    start) and ``FrameStackObservation`` of the last 4 frames: observations ``(4, 84, 84)``
    uint8. ``preprocess="noop"``: an ALE environment's own observations (e.g. RAM) after up
    to 30 no-op steps. ALE environments start episodes through
    :class:`genome.problems.ale_starts.AleStarts` (no-ops drawn from the reset's seed; no ROM
    reload on resets of a deterministic emulator). ``observe`` (``env.observe``): only those
    observation components (:func:`observe_indices`)."""
    env = _make_env(env_id, kwargs, max_episode_steps, preprocess)
    return observe_indices(env, observe) if observe else env


def _make_env(env_id: str, kwargs: dict, max_episode_steps: int | None, preprocess: str):
    import gymnasium as gym

    from genome.config import PREPROCESS
    from genome.errors import ConfigError

    if preprocess not in PREPROCESS:
        raise ConfigError(f"env.preprocess must be one of {', '.join(PREPROCESS)}, got {preprocess!r}")
    if not env_id.startswith("ALE/"):
        if preprocess != "none":
            raise ConfigError(f"env.preprocess = {preprocess!r} is for Atari (ALE/...) environments, not {env_id}")
        if _is_mujoco(env_id):
            route_mujoco_warnings()
        return gym.make(env_id, max_episode_steps=max_episode_steps, **kwargs) if max_episode_steps else gym.make(env_id, **kwargs)
    try:
        import ale_py

        gym.register_envs(ale_py)
    except ImportError:
        raise ConfigError(f"{env_id} needs the Arcade Learning Environment: pip install 'genome[atari]'") from None
    from genome.problems.ale_starts import NOOP_MAX, AleStarts

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


@njit(cache=True, nogil=True)
def _episode_seed(seed, purpose, generation, episode_id):
    return random_u64(make_key(seed, purpose, generation, episode_id), 0) >> np.uint64(33)


def episode_seed(seed: int, purpose: int, generation: int, episode_id: int) -> int:
    """The ``reset(seed=...)`` of an episode: 31 bits of its counter-based stream."""
    return int(_episode_seed(seed, purpose, generation, episode_id))


@njit(cache=True, nogil=True, boundscheck=False)
def record_observation(row, arr, check, m, count, total, total_sq):
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
