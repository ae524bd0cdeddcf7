"""CartPole-v1 dynamics as numba kernels (Gymnasium ``CartPoleEnv``, Euler integrator).

## Description
A pole is attached by an un-actuated joint to a cart on a frictionless track; push the
cart left or right to keep the pole upright (Barto, Sutton & Anderson 1983).

## Action Space
``Discrete(2)``: 0 pushes the cart left, 1 pushes it right (force 10 N).

## Observation Space
| Num | Observation           | Min    | Max   |
|-----|-----------------------|--------|-------|
| 0   | Cart Position         | -4.8   | 4.8   |
| 1   | Cart Velocity         | -Inf   | Inf   |
| 2   | Pole Angle (rad)      | -0.418 | 0.418 |
| 3   | Pole Angular Velocity | -Inf   | Inf   |

## Rewards
+1 for every step taken, including the terminating one.

## Starting State
All four state variables uniform in ``[-0.05, 0.05]``.

## Episode End
1. Termination: Pole Angle is greater than ±12°
2. Termination: Cart Position is greater than ±2.4
3. Truncation: Episode length is greater than 500

The arithmetic follows Gymnasium's ``cartpole.py`` operation for operation, in float64;
observations are the state rounded to float32. Equations: Florian (2007),
https://coneural.org/florian/papers/05_cart_pole.pdf
"""

import math

import numpy as np
from numba import njit

from genome.envs.sincos import sincos

GRAVITY = 9.8
MASSCART = 1.0
MASSPOLE = 0.1
TOTAL_MASS = MASSPOLE + MASSCART
LENGTH = 0.5  # actually half the pole's length
POLEMASS_LENGTH = MASSPOLE * LENGTH
FORCE_MAG = 10.0
TAU = 0.02  # seconds between state updates
THETA_THRESHOLD_RADIANS = 12 * 2 * math.pi / 360
X_THRESHOLD = 2.4

STATE_SIZE = 4
OBS_SIZE = 4
N_UNIFORMS = 4
OBS_HIGH = np.array([X_THRESHOLD * 2, np.inf, THETA_THRESHOLD_RADIANS * 2, np.inf], dtype=np.float32)


@njit(cache=True, inline="always", nogil=True, error_model="numpy")
def reset(state, u):
    """Start state from 4 uniforms in [0, 1): ``-0.05 + 0.1 u`` (as ``np_random.uniform``)."""
    for i in range(4):
        state[i] = -0.05 + (0.05 - -0.05) * u[i]


@njit(cache=True, inline="always", nogil=True, error_model="numpy")
def step(state, action, value):
    """Advance one step with discrete ``action``; returns ``(reward, terminated)``."""
    x, x_dot, theta, theta_dot = state[0], state[1], state[2], state[3]
    force = FORCE_MAG if action == 1 else -FORCE_MAG
    sintheta, costheta = sincos(theta)
    temp = (force + POLEMASS_LENGTH * (theta_dot * theta_dot) * sintheta) / TOTAL_MASS
    thetaacc = (GRAVITY * sintheta - costheta * temp) / (
        LENGTH * (4.0 / 3.0 - MASSPOLE * (costheta * costheta) / TOTAL_MASS)
    )
    xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS
    x = x + TAU * x_dot
    x_dot = x_dot + TAU * xacc
    theta = theta + TAU * theta_dot
    theta_dot = theta_dot + TAU * thetaacc
    state[0], state[1], state[2], state[3] = x, x_dot, theta, theta_dot
    terminated = x < -X_THRESHOLD or x > X_THRESHOLD or theta < -THETA_THRESHOLD_RADIANS or theta > THETA_THRESHOLD_RADIANS
    return 1.0, terminated


@njit(cache=True, inline="always", nogil=True, error_model="numpy")
def observe(state, obs):
    for i in range(4):
        obs[i] = np.float32(state[i])
