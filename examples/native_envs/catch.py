"""bsuite's Catch (Osband et al. 2020, "Behaviour Suite for Reinforcement Learning",
``bsuite/environments/catch.py``) as a genome native environment.

A ball falls from a random column of the top row of a 10 x 5 board, one row per step; the
agent moves a paddle along the bottom row (left, stay, right). Reward +1 if the paddle is
under the ball when it reaches the bottom row, else -1; the episode then ends (9 steps).
The observation is the board: 50 values, 1 where the ball or the paddle is.

    genome train catch.py:Catch --set policy.family=linear --set env.episodes=10 \
        --set strategy.population=50 --set strategy.sigma=0.1 --set strategy.lr=0.05

A real linear policy (50 -> 3) solves it in 7-15 generations on seeds 0-2. The binary
MLP (`--set policy.bits_per_dim=1 --set policy.hidden=[32]`, Bernoulli NES) solved seeds 0
and 2 in 321-443 generations but seed 1 stayed at 0.72 (it misses one column) for 500
generations with every variant tried (hidden [], [64] or [32, 32], 10 episodes, lr 3,
entropy 0.1, theta_max 2).
"""

import numpy as np
from numba import njit

import genome

ROWS, COLUMNS = 10, 5
BALL_X, BALL_Y, PADDLE_X = 0, 1, 2  # the state


@njit
def reset(state, u):
    state[BALL_X] = np.floor(u[0] * COLUMNS)  # a uniform column (bsuite: rng.randint(columns))
    state[BALL_Y] = 0.0
    state[PADDLE_X] = COLUMNS // 2


@njit
def step(state, action, value):
    state[PADDLE_X] = min(max(state[PADDLE_X] + (action - 1), 0.0), COLUMNS - 1.0)  # actions 0, 1, 2: left, stay, right
    state[BALL_Y] += 1.0
    if state[BALL_Y] == ROWS - 1:
        return (1.0 if state[PADDLE_X] == state[BALL_X] else -1.0), True
    return 0.0, False


@njit
def observe(state, obs):
    obs[:] = 0.0
    obs[int(state[BALL_Y]) * COLUMNS + int(state[BALL_X])] = 1.0
    obs[(ROWS - 1) * COLUMNS + int(state[PADDLE_X])] = 1.0


Catch = genome.NativeEnv(
    id="Catch-v0", reset=reset, step=step, observe=observe,
    obs_low=[0.0] * (ROWS * COLUMNS), obs_high=[1.0] * (ROWS * COLUMNS),
    state_size=3, n_uniforms=1, n_actions=3, max_episode_steps=ROWS - 1, reward_threshold=0.99,
)
