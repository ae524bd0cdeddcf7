"""A continuous-control toy: a point mass on a line (a double integrator) to be brought to
rest at the origin.

State: position ``x`` and velocity ``v``, both uniform in ``[-1, 1)`` at the start. Action:
a force ``a`` in ``[-1, 1]``; ``v += a dt``, ``x += v dt`` with ``dt = 0.05``. Reward
``-(x^2 + 0.1 v^2 + 0.01 a^2)`` per step for 200 steps; the episode ends early (reward +10)
when ``|x| < 0.05`` and ``|v| < 0.05``. A proportional-derivative controller, a = clip(-4 x - 3 v), scores about +1.7 on average.

    genome train point_mass.py:PointMass --set policy.family=linear --set policy.action_head=clip --target 0
"""

import numpy as np
from numba import njit

import genome

DT = 0.05


@njit
def reset(state, u):
    state[0] = 2.0 * u[0] - 1.0
    state[1] = 2.0 * u[1] - 1.0


@njit
def step(state, action, value):
    a = min(max(np.float64(value), -1.0), 1.0)
    state[1] += a * DT
    state[0] += state[1] * DT
    x, v = state[0], state[1]
    if abs(x) < 0.05 and abs(v) < 0.05:
        return 10.0, True
    return -(x * x + 0.1 * v * v + 0.01 * a * a), False


@njit
def observe(state, obs):
    obs[0] = np.float32(state[0])
    obs[1] = np.float32(state[1])


PointMass = genome.NativeEnv(
    id="PointMass-v0", reset=reset, step=step, observe=observe,
    obs_low=[-np.inf, -np.inf], obs_high=[np.inf, np.inf], state_size=2, n_uniforms=2,
    action_low=[-1.0], action_high=[1.0], max_episode_steps=200, reward_threshold=0.0,
)
