"""Episode starts of ALE (Atari) games: no-op starts drawn from the episode's seed, and
resets that skip reloading the ROM where the emulator is deterministic.

**No-op starts** (Mnih et al. 2015, "Human-level control through deep reinforcement
learning", the evaluation protocol Such et al. 2017 and Salimans et al. 2017 report under):
after each reset, ``n`` no-op actions with ``n`` uniform in ``1..noop_max`` (as Gymnasium's
``AtariPreprocessing`` and Stable-Baselines3 draw it), drawn from the reset's seed, so an
episode stays a function of its seed (docs/architecture.md, "Problem": start states come
from the episode's counter-based seed). With ``env.preprocess = "noop"`` they are agent
steps of the environment as made (ALE v5: 4 frames each); under ``env.preprocess = "atari"`` they are single frames (the base
environment runs at frame skip 1 there).

**Deterministic resets**: a seeded ALE reset reloads the ROM (~0.1 s, against ~5 ms for a
plain reset), which dominates short Atari episodes. Without sticky actions
(``repeat_action_probability = 0``) and with a fixed frame skip, the emulator has no
randomness left: a plain reset reaches the same state as a seeded one whatever ran before
(tests/rollout/test_ale_starts.py checks the RAM trajectories), so after the first reset
of an environment the seed only draws the no-ops. With sticky actions every reset stays
seeded (the seed drives ALE's sticky-action generator).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

#: the no-op starts' upper bound (Mnih et al. 2015)
NOOP_MAX = 30


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
        self._loaded = False  # the ROM has been loaded by a seeded reset

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if self.deterministic and self._loaded:
            obs, info = self.env.reset(options=options)
        else:
            obs, info = self.env.reset(seed=seed, options=options)
            self._loaded = seed is not None
        if self.noop_max:
            n = int(np.random.default_rng(seed).integers(1, self.noop_max + 1))
            for _ in range(n):
                obs, _, terminated, truncated, info = self.env.step(0)
                if terminated or truncated:  # as AtariPreprocessing: start again, no more no-ops
                    obs, info = self.env.reset(options=options)
        return obs, info
