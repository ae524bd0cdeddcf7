"""CartPole written as a user environment: Gymnasium's CartPole-v1 dynamics (Barto, Sutton
& Anderson 1983; Gymnasium's ``cartpole.py``, Euler integration), through genome's public
API only -- the same numbers as genome's built-in ``CartPole-v1``, so
``benchmarks/native_env.py`` can compare a user environment's speed with the built-in one's.

    genome train cartpole.py:CartPole --target 475
"""

import math

import numpy as np
from numba import njit

import genome
from genome.envs.sincos import sincos  # math.sin / math.cos with the C library's bits, inline

GRAVITY, MASSCART, MASSPOLE = 9.8, 1.0, 0.1
TOTAL_MASS = MASSPOLE + MASSCART
LENGTH = 0.5  # half the pole's length
POLEMASS_LENGTH = MASSPOLE * LENGTH
FORCE_MAG = 10.0
TAU = 0.02  # seconds between state updates
THETA_LIMIT = 12 * 2 * math.pi / 360
X_LIMIT = 2.4


@njit
def reset(state, u):
    """x, x_dot, theta, theta_dot uniform in [-0.05, 0.05)."""
    for i in range(4):
        state[i] = -0.05 + 0.1 * u[i]


@njit
def step(state, action, value):
    x, x_dot, theta, theta_dot = state[0], state[1], state[2], state[3]
    force = FORCE_MAG if action == 1 else -FORCE_MAG
    sintheta, costheta = sincos(theta)
    temp = (force + POLEMASS_LENGTH * (theta_dot * theta_dot) * sintheta) / TOTAL_MASS
    thetaacc = (GRAVITY * sintheta - costheta * temp) / (LENGTH * (4.0 / 3.0 - MASSPOLE * (costheta * costheta) / TOTAL_MASS))
    xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS
    x, x_dot = x + TAU * x_dot, x_dot + TAU * xacc
    theta, theta_dot = theta + TAU * theta_dot, theta_dot + TAU * thetaacc
    state[0], state[1], state[2], state[3] = x, x_dot, theta, theta_dot
    return 1.0, x < -X_LIMIT or x > X_LIMIT or theta < -THETA_LIMIT or theta > THETA_LIMIT


@njit
def observe(state, obs):
    for i in range(4):
        obs[i] = np.float32(state[i])


HIGH = [X_LIMIT * 2, np.inf, THETA_LIMIT * 2, np.inf]
CartPole = genome.NativeEnv(
    id="UserCartPole-v1", reset=reset, step=step, observe=observe,
    obs_low=[-h for h in HIGH], obs_high=HIGH, state_size=4, n_uniforms=4, n_actions=2,
    max_episode_steps=500, reward_threshold=475.0,
)
