"""Pendulum-v1 dynamics as numba kernels (Gymnasium ``PendulumEnv``, g = 10).

## Description
Swing a frictionless pendulum up from a random position and keep it upright.

## Action Space
``Box(-2, 2, (1,))``: the torque applied to the free end, clipped to [-2, 2].

## Observation Space
| Num | Observation | Min | Max |
|-----|-------------|-----|-----|
| 0   | x = cos(θ)  | -1  | 1   |
| 1   | y = sin(θ)  | -1  | 1   |
| 2   | angular velocity | -8 | 8 |

## Rewards
``-(θ_n² + 0.1 θ̇² + 0.001 torque²)`` with θ_n normalized to [-π, π]; at best 0.

## Starting State
θ uniform in ``[-π, π]``, θ̇ uniform in ``[-1, 1]``.

## Episode End
Truncation only: episode length is greater than 200.

The torque arrives as float32 (Gymnasium's action dtype), and, as in Gymnasium under
NumPy 2, the two terms that involve it are computed in float32.
"""

import math

import numpy as np
from numba import njit

from genome.envs.libm import libm_pow, libm_powf, libm_sincos

MAX_SPEED = 8
MAX_TORQUE = 2.0
DT = 0.05
G = 10.0
M = 1.0
L = 1.0
PI = math.pi

STATE_SIZE = 2
OBS_SIZE = 3
N_UNIFORMS = 2
OBS_HIGH = np.array([1.0, 1.0, MAX_SPEED], dtype=np.float32)

_F32 = np.float32


@njit(cache=True, nogil=True, error_model="numpy")
def reset(state, u):
    """θ = ``-π + 2π u0``, θ̇ = ``-1 + 2 u1`` (as ``np_random.uniform(-high, high)``)."""
    state[0] = -PI + (PI - -PI) * u[0]
    state[1] = -1.0 + (1.0 - -1.0) * u[1]


@njit(cache=True, nogil=True, error_model="numpy")
def angle_normalize(x):
    return ((x + PI) % (2 * PI)) - PI


@njit(cache=True, nogil=True, error_model="numpy")
def step(state, action, value):
    """Advance with torque ``value``; returns ``(reward, False)``."""
    th, thdot = state[0], state[1]
    u = _F32(min(max(_F32(value), _F32(-MAX_TORQUE)), _F32(MAX_TORQUE)))
    u_cost = np.float64(_F32(_F32(0.001) * libm_powf(u, 2)))
    costs = libm_pow(angle_normalize(th), 2) + 0.1 * libm_pow(thdot, 2) + u_cost
    u_acc = np.float64(_F32(_F32(3.0 / (M * L**2)) * u))
    newthdot = thdot + (3 * G / (2 * L) * np.sin(th) + u_acc) * DT
    newthdot = min(max(newthdot, -MAX_SPEED), MAX_SPEED)
    newth = th + newthdot * DT
    state[0], state[1] = newth, newthdot
    return -costs, False


@njit(cache=True, nogil=True, error_model="numpy")
def observe(state, obs):
    s, c = libm_sincos(state[0])
    obs[0] = np.float32(c)
    obs[1] = np.float32(s)
    obs[2] = np.float32(state[1])
