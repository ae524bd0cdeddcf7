"""MountainCar-v0 and MountainCarContinuous-v0 dynamics as numba kernels.

## Description
A car sits in a valley between two hills and must build momentum to reach the flag on
the right hill (Moore 1990).

## Action Space
* MountainCar-v0: ``Discrete(3)``: accelerate left, don't accelerate, accelerate right.
* MountainCarContinuous-v0: ``Box(-1, 1, (1,))``: the force, clipped to [-1, 1].

## Observation Space
| Num | Observation | Min | Max |
|-----|-------------|-----|-----|
| 0   | position of the car along the x-axis | -1.2 | 0.6 |
| 1   | velocity of the car | -0.07 | 0.07 |

## Rewards
* v0: -1 per step.
* Continuous: ``-0.1 action²`` per step, +100 on reaching the goal.

## Starting State
Position uniform in ``[-0.6, -0.4]``, velocity 0.

## Episode End
1. Termination: position >= 0.5 (v0) / 0.45 (continuous) with velocity >= 0
2. Truncation: Episode length is greater than 200 (v0) / 999 (continuous)

MountainCar-v0 is float64 throughout, as in Gymnasium. Gymnasium's continuous version
stores its state as float32 after every step and, under NumPy 2's promotion rules
(NEP 50), does the arithmetic and comparisons with Python-float constants in float32
from the second step on (the first step starts from a float64 state); this kernel
reproduces that exactly. ``state[2]`` counts the steps taken (0 right after reset).
"""

import math

import numpy as np
from numba import njit

from genome.envs.libm import libm_pow

MIN_POSITION = -1.2
MAX_POSITION = 0.6
MAX_SPEED = 0.07
FORCE = 0.001
GRAVITY = 0.0025
GOAL_POSITION = 0.5
CONTINUOUS_GOAL_POSITION = 0.45
POWER = 0.0015

STATE_SIZE = 3
OBS_SIZE = 2
N_UNIFORMS = 1
OBS_LOW = np.array([MIN_POSITION, -MAX_SPEED], dtype=np.float32)
OBS_HIGH = np.array([MAX_POSITION, MAX_SPEED], dtype=np.float32)

_F32 = np.float32


@njit(cache=True, nogil=True, error_model="numpy")
def reset(state, u):
    """Position ``-0.6 + 0.2 u``, velocity 0, step counter 0."""
    state[0] = -0.6 + (-0.4 - -0.6) * u[0]
    state[1] = 0.0
    state[2] = 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def step(state, action, value):
    """MountainCar-v0 step with discrete ``action`` in {0, 1, 2}; returns ``(-1, terminated)``."""
    position, velocity = state[0], state[1]
    velocity += (action - 1) * FORCE + math.cos(3 * position) * (-GRAVITY)
    velocity = min(max(velocity, -MAX_SPEED), MAX_SPEED)
    position += velocity
    position = min(max(position, MIN_POSITION), MAX_POSITION)
    if position == MIN_POSITION and velocity < 0:
        velocity = 0.0
    state[0], state[1] = position, velocity
    state[2] += 1.0
    return -1.0, position >= GOAL_POSITION and velocity >= 0


@njit(cache=True, nogil=True, error_model="numpy")
def step_continuous(state, action, value):
    """MountainCarContinuous-v0 step with force ``value`` (float32); returns ``(reward, terminated)``."""
    a = _F32(value)
    first = state[2] == 0.0  # Gymnasium's state is float64 until the first step stores float32
    position, velocity = state[0], state[1]
    # force = min(max(action[0], -1.0), 1.0): a float32, or the Python float -1.0 / 1.0
    if a > 1.0:
        force, force_f32 = 1.0, False
    elif -1.0 > a:
        force, force_f32 = -1.0, False
    else:
        force, force_f32 = np.float64(a), True
    if first:
        g_term = 0.0025 * math.cos(3 * position)
    else:
        g_term = 0.0025 * math.cos(np.float64(_F32(3 * position)))
    if force_f32:
        dv = np.float64(_F32(np.float64(_F32(force * np.float64(_F32(POWER)))) - np.float64(_F32(g_term))))
    else:
        dv = force * POWER - g_term
    if first:
        velocity = velocity + dv
        if velocity > MAX_SPEED:
            velocity = MAX_SPEED
        if velocity < -MAX_SPEED:
            velocity = -MAX_SPEED
        position = position + velocity
        if position > MAX_POSITION:
            position = MAX_POSITION
        if position < MIN_POSITION:
            position = MIN_POSITION
        if position == MIN_POSITION and velocity < 0:
            velocity = 0.0
        terminated = position >= CONTINUOUS_GOAL_POSITION and velocity >= 0
    else:
        # float32 state: every operation with a Python float happens in float32
        velocity = np.float64(_F32(velocity + np.float64(_F32(dv))))
        if _F32(velocity) > _F32(MAX_SPEED):
            velocity = MAX_SPEED
        if _F32(velocity) < _F32(-MAX_SPEED):
            velocity = -MAX_SPEED
        position = np.float64(_F32(position + np.float64(_F32(velocity))))
        if _F32(position) > _F32(MAX_POSITION):
            position = MAX_POSITION
        if _F32(position) < _F32(MIN_POSITION):
            position = MIN_POSITION
        if _F32(position) == _F32(MIN_POSITION) and velocity < 0:
            velocity = 0.0
        terminated = _F32(position) >= _F32(CONTINUOUS_GOAL_POSITION) and _F32(velocity) >= _F32(0.0)
    reward = 100.0 if terminated else 0.0
    reward -= libm_pow(np.float64(a), 2) * 0.1
    state[0] = np.float64(_F32(position))
    state[1] = np.float64(_F32(velocity))
    state[2] += 1.0
    return reward, terminated


@njit(cache=True, nogil=True, error_model="numpy")
def observe(state, obs):
    obs[0] = np.float32(state[0])
    obs[1] = np.float32(state[1])
