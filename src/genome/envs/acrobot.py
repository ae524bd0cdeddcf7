"""Acrobot-v1 dynamics as numba kernels (Gymnasium ``AcrobotEnv``, "book" dynamics, RK4).

## Description
Two links joined by an actuated joint hang from a fixed pivot; apply torque to the joint
to swing the free end above the line one link-length over the pivot (Sutton 1996).

## Action Space
``Discrete(3)``: torque -1, 0 or +1 on the actuated joint.

## Observation Space
| Num | Observation | Min | Max |
|-----|-------------|-----|-----|
| 0-3 | cos/sin of θ1, cos/sin of θ2 | -1 | 1 |
| 4   | angular velocity of θ1 | -4π | 4π |
| 5   | angular velocity of θ2 | -9π | 9π |

## Rewards
-1 per step that does not reach the goal, 0 on the step that does.

## Starting State
θ1, θ2 and both velocities uniform in ``[-0.1, 0.1]``, rounded to float32.

## Episode End
1. Termination: ``-cos(θ1) - cos(θ2 + θ1) > 1.0``
2. Truncation: Episode length is greater than 500

One step is a single RK4 step of ``dt = 0.2`` s written out exactly as Gymnasium's
``rk4`` evaluates it (same operation order, float64), then θ wrapped to [-π, π] and the
velocities bounded.
"""

import math

import numpy as np
from numba import njit

from genome.envs.libm import libm_pow, libm_sincos

DT = 0.2
LINK_LENGTH_1 = 1.0
LINK_MASS_1 = 1.0
LINK_MASS_2 = 1.0
LINK_COM_POS_1 = 0.5
LINK_COM_POS_2 = 0.5
LINK_MOI = 1.0
MAX_VEL_1 = 4 * math.pi
MAX_VEL_2 = 9 * math.pi
PI = math.pi

STATE_SIZE = 4
OBS_SIZE = 6
N_UNIFORMS = 4
OBS_HIGH = np.array([1.0, 1.0, 1.0, 1.0, MAX_VEL_1, MAX_VEL_2], dtype=np.float32)


@njit(cache=True, nogil=True, error_model="numpy")
def reset(state, u):
    """Start state from 4 uniforms: ``-0.1 + 0.2 u``, rounded to float32 as Gymnasium does."""
    for i in range(4):
        state[i] = np.float32(-0.1 + (0.1 - -0.1) * u[i])


@njit(cache=True, nogil=True, error_model="numpy")
def _dsdt(theta1, theta2, dtheta1, dtheta2, a):
    m1 = LINK_MASS_1
    m2 = LINK_MASS_2
    l1 = LINK_LENGTH_1
    lc1 = LINK_COM_POS_1
    lc2 = LINK_COM_POS_2
    I1 = LINK_MOI
    I2 = LINK_MOI
    g = 9.8
    sin2, cos2 = libm_sincos(theta2)
    d1 = m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * cos2) + I1 + I2
    d2 = m2 * (lc2**2 + l1 * lc2 * cos2) + I2
    phi2 = m2 * lc2 * g * np.cos(theta1 + theta2 - PI / 2.0)
    phi1 = (
        -m2 * l1 * lc2 * libm_pow(dtheta2, 2) * sin2
        - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin2
        + (m1 * lc1 + m2 * l1) * g * np.cos(theta1 - PI / 2)
        + phi2
    )
    ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * libm_pow(dtheta1, 2) * sin2 - phi2) / (
        m2 * lc2**2 + I2 - libm_pow(d2, 2) / d1
    )
    ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
    return dtheta1, dtheta2, ddtheta1, ddtheta2


@njit(cache=True, nogil=True, error_model="numpy")
def _wrap(x, m, big_m):
    diff = big_m - m
    while x > big_m:
        x = x - diff
    while x < m:
        x = x + diff
    return x


@njit(cache=True, nogil=True, error_model="numpy")
def step(state, action, value):
    """One RK4 step with torque ``[-1, 0, 1][action]``; returns ``(reward, terminated)``."""
    torque = -1.0 if action == 0 else (0.0 if action == 1 else 1.0)
    y0, y1, y2, y3 = state[0], state[1], state[2], state[3]
    dt = DT - 0.0
    dt2 = dt / 2.0
    # the 5th component (torque) has derivative 0, so it stays exactly ``torque``
    k1_0, k1_1, k1_2, k1_3 = _dsdt(y0, y1, y2, y3, torque)
    k2_0, k2_1, k2_2, k2_3 = _dsdt(y0 + dt2 * k1_0, y1 + dt2 * k1_1, y2 + dt2 * k1_2, y3 + dt2 * k1_3, torque)
    k3_0, k3_1, k3_2, k3_3 = _dsdt(y0 + dt2 * k2_0, y1 + dt2 * k2_1, y2 + dt2 * k2_2, y3 + dt2 * k2_3, torque)
    k4_0, k4_1, k4_2, k4_3 = _dsdt(y0 + dt * k3_0, y1 + dt * k3_1, y2 + dt * k3_2, y3 + dt * k3_3, torque)
    c = dt / 6.0
    n0 = y0 + c * (k1_0 + 2 * k2_0 + 2 * k3_0 + k4_0)
    n1 = y1 + c * (k1_1 + 2 * k2_1 + 2 * k3_1 + k4_1)
    n2 = y2 + c * (k1_2 + 2 * k2_2 + 2 * k3_2 + k4_2)
    n3 = y3 + c * (k1_3 + 2 * k2_3 + 2 * k3_3 + k4_3)
    n0 = _wrap(n0, -PI, PI)
    n1 = _wrap(n1, -PI, PI)
    n2 = min(max(n2, -MAX_VEL_1), MAX_VEL_1)
    n3 = min(max(n3, -MAX_VEL_2), MAX_VEL_2)
    state[0], state[1], state[2], state[3] = n0, n1, n2, n3
    terminated = -np.cos(n0) - np.cos(n1 + n0) > 1.0
    return (0.0 if terminated else -1.0), terminated


@njit(cache=True, nogil=True, error_model="numpy")
def observe(state, obs):
    s0, c0 = libm_sincos(state[0])
    s1, c1 = libm_sincos(state[1])
    obs[0] = np.float32(c0)
    obs[1] = np.float32(s0)
    obs[2] = np.float32(c1)
    obs[3] = np.float32(s1)
    obs[4] = np.float32(state[2])
    obs[5] = np.float32(state[3])
