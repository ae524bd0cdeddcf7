"""Gymnasium ``Env`` classes around the native kernels (registered as ``genome/<id>``).

Seeding goes through Gymnasium's ``np_random``: a reset draws exactly the uniforms the
original environment draws, so ``genome/CartPole-v1`` and ``CartPole-v1`` reset to the
same state for the same seed and then follow the same dynamics.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from genome.envs.native import NATIVE_ENVS, RENDERERS, NativeEnvSpec, env_observe, env_reset, env_step


class NativeGymEnv(gym.Env):
    """A native genome environment behind the standard Gymnasium API."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}
    spec_table: NativeEnvSpec  # set by subclasses

    def __init__(self, render_mode: str | None = None):
        s = self.spec_table
        self.observation_space = spaces.Box(s.obs_low, s.obs_high, dtype=np.float32)
        if s.discrete:
            self.action_space = spaces.Discrete(s.n_actions)
        else:
            self.action_space = spaces.Box(s.action_low, s.action_high, dtype=np.float32)
        self.render_mode = render_mode
        self._state = np.zeros(s.buffers[0], dtype=np.float64)
        self._obs = np.zeros(s.obs_size, dtype=np.float32)
        self._needs_reset = True
        self._renderer: gym.Env | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        u = self.np_random.random(self.spec_table.n_uniforms)
        env_reset(self.spec_table.kernel, self._state, u)
        self._needs_reset = False
        env_observe(self.spec_table.kernel, self._state, self._obs)
        return self._obs.copy(), {}

    def step(self, action):
        if self._needs_reset:
            raise gym.error.ResetNeeded("call reset() before step()")
        if self.spec_table.discrete:
            a, value = int(action), np.float32(0.0)
            if not 0 <= a < self.spec_table.n_actions:
                raise gym.error.InvalidAction(f"action {action!r} is not in {self.action_space}")
        else:
            arr = np.asarray(action, dtype=np.float32).reshape(-1)
            if arr.shape[0] != 1:
                raise gym.error.InvalidAction(f"action {action!r} is not in {self.action_space}")
            a, value = 0, arr[0]
        reward, terminated = env_step(self.spec_table.kernel, self._state, a, value)
        env_observe(self.spec_table.kernel, self._state, self._obs)
        return self._obs.copy(), float(reward), bool(terminated), False, {}

    def render(self):
        """An RGB frame drawn by Gymnasium's own renderer for the original environment (a
        user environment: its own ``render(state)``)."""
        if self.render_mode != "rgb_array":
            return None
        if self.spec_table.source:
            draw = RENDERERS.get(self.spec_table.source)
            return None if draw is None else np.asarray(draw(self._state))
        if self._renderer is None:
            self._renderer = gym.make(self.spec_table.env_id, render_mode="rgb_array").unwrapped
        self._renderer.state = _gym_state(self.spec_table, self._state)
        return self._renderer.render()

    def close(self):
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None


def _gym_state(spec: NativeEnvSpec, state: np.ndarray):
    if spec.env_id == "Pendulum-v1":
        return state[:2].copy()
    if spec.env_id.startswith("MountainCar"):
        return state[:2].copy()
    return state[:4].copy()


def env_class(spec: NativeEnvSpec) -> type[NativeGymEnv]:
    """A Gymnasium ``Env`` class for ``spec`` (user environments register theirs as
    ``genome/<id>`` when they are loaded, :mod:`genome.envs.custom`)."""
    return _make_class(spec)


def _make_class(spec: NativeEnvSpec) -> type[NativeGymEnv]:
    name = spec.env_id.split("-")[0] + "Env"
    return type(name, (NativeGymEnv,), {"spec_table": spec, "__doc__": f"Native ``{spec.env_id}`` (numba kernels)."})


CartPoleEnv = _make_class(NATIVE_ENVS["CartPole-v1"])
AcrobotEnv = _make_class(NATIVE_ENVS["Acrobot-v1"])
MountainCarEnv = _make_class(NATIVE_ENVS["MountainCar-v0"])
MountainCarContinuousEnv = _make_class(NATIVE_ENVS["MountainCarContinuous-v0"])
PendulumEnv = _make_class(NATIVE_ENVS["Pendulum-v1"])
ENV_CLASSES = {
    "CartPole-v1": CartPoleEnv,
    "Acrobot-v1": AcrobotEnv,
    "MountainCar-v0": MountainCarEnv,
    "MountainCarContinuous-v0": MountainCarContinuousEnv,
    "Pendulum-v1": PendulumEnv,
}
