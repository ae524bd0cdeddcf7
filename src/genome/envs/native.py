"""The table of native environments and the numba dispatch that fused rollouts call.

Each native environment is one module of numba kernels (``reset(state, u)``,
``step(state, action, value) -> (reward, terminated)``, ``observe(state, obs)``); the
Gymnasium ``Env`` in :mod:`genome.envs.gym_api` and the fused rollout in
:mod:`genome.problems.fused` both call these same kernels, so they cannot drift apart.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

import numpy as np
from numba.core import types
from numba.extending import overload

from genome.envs import acrobot, cartpole, mountain_car, pendulum
from genome.errors import ConfigError

CARTPOLE, ACROBOT, MOUNTAIN_CAR, MOUNTAIN_CAR_CONTINUOUS, PENDULUM = range(5)

#: Largest state / observation / uniform count over all native environments.
MAX_STATE = 4
MAX_OBS = 6
MAX_UNIFORMS = 4


@dataclass(frozen=True)
class NativeEnvSpec:
    """What the trainer and the Gymnasium wrapper need to know about a native environment."""

    env_id: str  #: Gymnasium id of the original, e.g. ``"CartPole-v1"``
    kernel: int  #: dispatch code for :func:`env_step` and friends
    obs_low: np.ndarray
    obs_high: np.ndarray
    n_actions: int  #: discrete actions (0 for a continuous action space)
    action_low: np.ndarray | None  #: continuous action bounds
    action_high: np.ndarray | None
    max_episode_steps: int
    reward_threshold: float | None
    n_uniforms: int  #: uniforms a reset consumes
    #: ``env.observe``: the observation components a policy sees, increasing (empty: all);
    #: ``obs_low``/``obs_high`` are those components' bounds
    observe: tuple[int, ...] = ()
    #: the kernels' buffers: ``(state length, observation length, uniforms per reset)``
    buffers: tuple[int, int, int] = (MAX_STATE + 1, MAX_OBS, MAX_UNIFORMS)
    #: a user environment's reference (``file.py:Name`` or ``package.module:Name``, envs/custom.py);
    #: empty for the built-in ones. Each process binds it to its own ``kernel`` code.
    source: str = ""

    @property
    def obs_size(self) -> int:
        return int(self.obs_low.shape[0])

    def observing(self, indices) -> "NativeEnvSpec":
        """The same environment seen through ``indices`` (``env.observe``; empty: all)."""
        indices = tuple(int(i) for i in indices)
        if not indices or indices == tuple(range(self.obs_size)):
            return self
        if list(indices) != sorted(set(indices)) or indices[0] < 0 or indices[-1] >= self.obs_size:
            raise ConfigError(f"env.observe must list distinct observation indices of {self.env_id} in increasing order, "
                              f"from 0 to {self.obs_size - 1}; got {list(indices)}")
        keep = list(indices)
        return replace(self, obs_low=self.obs_low[keep], obs_high=self.obs_high[keep], observe=indices)

    @property
    def discrete(self) -> bool:
        return self.n_actions > 0

    @property
    def action_dim(self) -> int:
        return 0 if self.discrete else int(self.action_low.shape[0])

    @property
    def gym_id(self) -> str:
        """The id genome registers in Gymnasium: ``genome/<env_id>``."""
        return f"genome/{self.env_id}"


def _spec(env_id, kernel, module, high, low=None, n_actions=0, action_high=None, steps=0, threshold=None):
    high = np.asarray(high, dtype=np.float32)
    low = -high if low is None else np.asarray(low, dtype=np.float32)
    ah = None if action_high is None else np.asarray(action_high, dtype=np.float32)
    return NativeEnvSpec(env_id, kernel, low, high, n_actions, None if ah is None else -ah, ah, steps, threshold, module.N_UNIFORMS)


NATIVE_ENVS: dict[str, NativeEnvSpec] = {
    s.env_id: s
    for s in (
        _spec("CartPole-v1", CARTPOLE, cartpole, cartpole.OBS_HIGH, n_actions=2, steps=500, threshold=475.0),
        _spec("Acrobot-v1", ACROBOT, acrobot, acrobot.OBS_HIGH, n_actions=3, steps=500, threshold=-100.0),
        _spec("MountainCar-v0", MOUNTAIN_CAR, mountain_car, mountain_car.OBS_HIGH, mountain_car.OBS_LOW, n_actions=3, steps=200, threshold=-110.0),
        _spec("MountainCarContinuous-v0", MOUNTAIN_CAR_CONTINUOUS, mountain_car, mountain_car.OBS_HIGH, mountain_car.OBS_LOW, action_high=[1.0], steps=999, threshold=90.0),
        _spec("Pendulum-v1", PENDULUM, pendulum, pendulum.OBS_HIGH, action_high=[pendulum.MAX_TORQUE], steps=200),
    )
}


def builtin_spec(env_id: str) -> NativeEnvSpec | None:
    """The spec of a built-in environment, ``CartPole-v1`` or ``genome/CartPole-v1``; None
    otherwise (:func:`genome.envs.native_spec` knows users' environments too)."""
    return NATIVE_ENVS.get(env_id.removeprefix("genome/"))


#: a user environment's ``render(state)`` by its source (the Gymnasium wrapper's frames)
RENDERERS: dict[str, object] = {}


def registered_source(code: int) -> str | None:
    """The source a user kernel code is bound to in this process."""
    return _SOURCES.get(code)


#: user environments' kernel codes are at least this; code -> its source, in this process
USER_KERNELS = 100
_SOURCES: dict[int, str] = {}


def register_kernels(source: str, digest: bytes, reset, step, observe) -> int:
    """Bind a user environment's numba kernels to its kernel code: a hash of its source
    (``digest``), the same in every process. Compiled rollouts are specialized -- and cached
    on disk -- by the code, so a changed environment file gets a new code, never a stale kernel."""
    for code, known in _SOURCES.items():
        if known == source:
            return code
    code = USER_KERNELS + int.from_bytes(hashlib.sha1(digest).digest()[:4], "little")
    KERNELS[code] = (reset, step, observe)
    _BOUND[code] = _bind(reset, step, observe)
    _SOURCES[code] = source
    return code


#: kernel code -> the environment's ``(reset, step, observe)`` kernels
KERNELS = {
    CARTPOLE: (cartpole.reset, cartpole.step, cartpole.observe),
    ACROBOT: (acrobot.reset, acrobot.step, acrobot.observe),
    MOUNTAIN_CAR: (mountain_car.reset, mountain_car.step, mountain_car.observe),
    MOUNTAIN_CAR_CONTINUOUS: (mountain_car.reset, mountain_car.step_continuous, mountain_car.observe),
    PENDULUM: (pendulum.reset, pendulum.step, pendulum.observe),
}

# env_reset / env_step / env_observe: plain functions for Python callers, numba overloads for
# compiled ones. A compiled caller that passes ``kernel`` as a literal (the fused rollouts,
# one per environment) gets that environment's kernel chosen at typing time, so no other
# environment is compiled into it; any other caller gets a runtime dispatch.


def env_reset(kernel: int, state: np.ndarray, u: np.ndarray) -> None:
    """Reset ``state`` from the uniforms ``u``."""
    KERNELS[kernel][0](state, u)


def env_step(kernel: int, state: np.ndarray, action: int, value: float) -> tuple[float, bool]:
    """``(reward, terminated)`` after one step; ``action`` discrete, ``value`` a float32 force."""
    return KERNELS[kernel][1](state, action, value)


def env_observe(kernel: int, state: np.ndarray, obs: np.ndarray) -> None:
    """Write the observation of ``state`` into ``obs``."""
    KERNELS[kernel][2](state, obs)


_JIT = {"nogil": True, "error_model": "numpy"}


def _bind(reset, step, observe):
    """The overload implementations for one environment (made once, at import)."""
    return (lambda kernel, state, u: reset(state, u),
            lambda kernel, state, action, value: step(state, action, value),
            lambda kernel, state, obs: observe(state, obs))


_BOUND = {k: _bind(*fns) for k, fns in KERNELS.items()}


@overload(env_reset, jit_options=_JIT, prefer_literal=True)
def _env_reset(kernel, state, u):
    if isinstance(kernel, types.IntegerLiteral):
        return _BOUND[kernel.literal_value][0]

    def dispatch(kernel, state, u):
        if kernel == CARTPOLE:
            cartpole.reset(state, u)
        elif kernel == ACROBOT:
            acrobot.reset(state, u)
        elif kernel == MOUNTAIN_CAR or kernel == MOUNTAIN_CAR_CONTINUOUS:
            mountain_car.reset(state, u)
        else:
            pendulum.reset(state, u)
    return dispatch


@overload(env_step, jit_options=_JIT, prefer_literal=True)
def _env_step(kernel, state, action, value):
    if isinstance(kernel, types.IntegerLiteral):
        return _BOUND[kernel.literal_value][1]

    def dispatch(kernel, state, action, value):
        if kernel == CARTPOLE:
            return cartpole.step(state, action, value)
        elif kernel == ACROBOT:
            return acrobot.step(state, action, value)
        elif kernel == MOUNTAIN_CAR:
            return mountain_car.step(state, action, value)
        elif kernel == MOUNTAIN_CAR_CONTINUOUS:
            return mountain_car.step_continuous(state, action, value)
        return pendulum.step(state, action, value)
    return dispatch


@overload(env_observe, jit_options=_JIT, prefer_literal=True)
def _env_observe(kernel, state, obs):
    if isinstance(kernel, types.IntegerLiteral):
        return _BOUND[kernel.literal_value][2]

    def dispatch(kernel, state, obs):
        if kernel == CARTPOLE:
            cartpole.observe(state, obs)
        elif kernel == ACROBOT:
            acrobot.observe(state, obs)
        elif kernel == MOUNTAIN_CAR or kernel == MOUNTAIN_CAR_CONTINUOUS:
            mountain_car.observe(state, obs)
        else:
            pendulum.observe(state, obs)
    return dispatch


def observe_subset(observe: tuple, obs: np.ndarray) -> None:
    """``obs[i] = obs[observe[i]]`` in place (``env.observe``: increasing indices, so no
    component is overwritten before it is read); nothing for the empty tuple (all). In
    compiled callers the empty tuple compiles to nothing at all."""
    for i in range(len(observe)):
        obs[i] = obs[observe[i]]


@overload(observe_subset, jit_options=_JIT, inline="always")
def _observe_subset(observe, obs):
    if isinstance(observe, types.BaseTuple) and len(observe) == 0:
        return lambda observe, obs: None

    def gather(observe, obs):
        for i in range(len(observe)):
            obs[i] = obs[observe[i]]
    return gather
