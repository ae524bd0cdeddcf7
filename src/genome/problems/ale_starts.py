"""Episode starts of ALE (Atari) games: no-op starts drawn from the episode's seed, and
resets that skip reloading the ROM where the emulator is deterministic.

**No-op starts** (Mnih et al. 2015, "Human-level control through deep reinforcement
learning", the evaluation protocol Such et al. 2017 and Salimans et al. 2017 report under):
after each reset, ``n`` no-op actions with ``n`` uniform in ``1..noop_max`` (as Gymnasium's
``AtariPreprocessing`` and Stable-Baselines3 draw it), drawn from the reset's seed, so an
episode stays a function of its seed (docs/architecture.md, "Problem": start states come
from the episode's counter-based seed). A request may instead name the count,
``reset(options={"noops": n})``: **stratified starts** (:func:`stratified_noops`), where the
``k``-th of ``noop_max`` consecutive episodes gets its own count, so ``noop_max`` episodes
cover every start once and, with a deterministic emulator, their mean is the policy's exact
expected score under the protocol (the GA's ``strategy.stratified_validation``). With ``env.preprocess = "noop"`` they are agent
steps of the environment as made (ALE v5: 4 frames each); under ``env.preprocess = "atari"`` they are single frames (the base
environment runs at frame skip 1 there).

**Deterministic resets**: a seeded ALE reset reloads the ROM (~0.1 s), which dominates
short Atari episodes. Without sticky actions (``repeat_action_probability = 0``) and with a
fixed frame skip, the emulator has no randomness left, so the first (seeded) reset of an
environment keeps a copy of the emulator's state (``clone_state``) and every later reset
restores it (~0.03 ms): each episode starts from the very state a seeded reset reaches,
whatever ran before, and is a function of its no-op count alone. (A plain
``ale.reset_game()`` is not enough: it keeps part of the console's state -- Frostbite's
episodes after one depend on the episodes the environment ran before;
tests/problems/test_ale_starts.py checks the RAM trajectories and the returns.) With sticky
actions every reset stays seeded (the seed drives ALE's sticky-action generator).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

#: the no-op starts' upper bound (Mnih et al. 2015)
NOOP_MAX = 30


def stratified_noops(episode_id: int, rotation: int, noop_max: int = NOOP_MAX) -> int:
    """The no-op count of episode ``episode_id`` under stratified starts: ``1 + (episode_id +
    rotation) mod noop_max``; any ``noop_max`` consecutive episodes take each count once
    (``rotation`` turns which counts a shorter run of episodes covers)."""
    return 1 + (int(episode_id) + int(rotation)) % int(noop_max)


def deterministic(ale_env) -> bool:
    """True when an ``ale_py`` environment's episodes depend on its actions only."""
    return ale_env.ale.getFloat("repeat_action_probability") == 0.0 and isinstance(ale_env._frameskip, int)


class AleStarts(gym.Wrapper):
    """Wraps an ALE environment as made by ``gymnasium.make`` (see the module docstring).
    ``noop_max = 0``: no no-op starts, only the cheaper deterministic resets."""

    def __init__(self, env: gym.Env, noop_max: int = 0):
        super().__init__(env)
        ale_env = env.unwrapped
        if noop_max and ale_env.get_action_meanings()[0] != "NOOP":
            from genome.errors import ConfigError

            raise ConfigError(f"no-op starts need action 0 to be NOOP; {env.spec.id if env.spec else env} has {ale_env.get_action_meanings()[0]}")
        self.noop_max = int(noop_max)
        self.deterministic = deterministic(ale_env)
        self._start = None  # a deterministic emulator's (state, observation, info) after its first seeded reset

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        noops = None
        if options and "noops" in options:  # stratified starts: the count is given, not drawn
            noops = int(options["noops"])
            options = {k: v for k, v in options.items() if k != "noops"} or None
            if not 1 <= noops <= self.noop_max:
                raise ValueError(f"reset(options={{'noops': {noops}}}): the no-op count must be in 1..{self.noop_max}")
        obs, info = self._reset(seed, options)
        if self.noop_max:
            n = noops if noops is not None else int(np.random.default_rng(seed).integers(1, self.noop_max + 1))
            for _ in range(n):
                obs, _, terminated, truncated, info = self.env.step(0)
                if terminated or truncated:  # as AtariPreprocessing: start again, no more no-ops
                    obs, info = self._reset(None, options)
        return obs, info

    def _reset(self, seed, options):
        """The game's start: restored from the first seeded reset's state where the emulator
        is deterministic (the wrappers ``gymnasium.make`` adds keep no per-episode state),
        else a reset through them (seeded when ``seed`` is given)."""
        if self._start is not None:
            state, obs, info = self._start
            self.env.unwrapped.restore_state(state)
            return obs.copy(), dict(info)  # the screen buffer is not part of the state: the reset's own
        obs, info = self.env.reset(seed=seed, options=options)
        if self.deterministic and seed is not None:
            self._start = self.env.unwrapped.clone_state(), np.array(obs, copy=True), dict(info)
        return obs, info
