"""Gymnasium's FrozenLake-v1 on its 4 x 4 map, not slippery (Gymnasium's
``toy_text/frozen_lake.py`` with ``is_slippery=False``), as a genome native environment:
the same observations, rewards and terminations step by step as
``gymnasium.make("FrozenLake-v1", is_slippery=False)`` (tests/envs/test_native_envs.py
checks them against Gymnasium's own).

    SFFF      S start, F frozen, H hole (the episode ends), G goal (reward 1, the end)
    FHFH      actions: 0 left, 1 down, 2 right, 3 up (a move into the edge stays put)
    FFFH      observation: the position index 4 row + col
    HFFG

    genome train frozen_lake.py:FrozenLake --set policy.encoder=onehot --set policy.bits_per_dim=16 --set policy.hidden=[]
"""

import numpy as np
from numba import njit

import genome

MAP = "SFFF" "FHFH" "FFFH" "HFFG"
SIZE = 4
HOLES = np.array([c == "H" for c in MAP])
GOAL = MAP.index("G")


@njit
def reset(state, u):
    state[0] = 0.0  # the start, top left


@njit
def step(state, action, value):
    row, col = int(state[0]) // SIZE, int(state[0]) % SIZE
    if action == 0:
        col = max(col - 1, 0)
    elif action == 1:
        row = min(row + 1, SIZE - 1)
    elif action == 2:
        col = min(col + 1, SIZE - 1)
    else:
        row = max(row - 1, 0)
    s = row * SIZE + col
    state[0] = s
    if s == GOAL:
        return 1.0, True
    return 0.0, HOLES[s]


@njit
def observe(state, obs):
    obs[0] = state[0]


FrozenLake = genome.NativeEnv(
    id="FrozenLake4x4-v1", reset=reset, step=step, observe=observe,
    obs_low=[0.0], obs_high=[SIZE * SIZE - 1.0], state_size=1, n_uniforms=0, n_actions=4,
    max_episode_steps=100, reward_threshold=1.0,
)
