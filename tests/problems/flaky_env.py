"""A Gymnasium environment that misbehaves on purpose, for the robustness tests.

``mode`` picks the failure; it strikes episodes whose reset seed is divisible by 3, at
step 3 ("hang" and "exit" only inside worker processes, so the test process survives). ``gymnasium.make("tests.problems.flaky_env:Flaky-v0", mode=...)`` imports this
module first, so worker processes can make it too.
"""

import multiprocessing
import os
import time

import gymnasium as gym
import numpy as np


class FlakyEnv(gym.Env):
    def __init__(self, mode: str = "none", marker: str = ""):
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.mode, self.marker = mode, marker
        self.t, self.bad = 0, False

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        self.bad = seed is not None and seed % 3 == 0
        self.x = self.np_random.normal(size=2).astype(np.float32)
        return self.x, {}

    def step(self, action):
        # a worker process of the pool or of Ray (tests/conftest.py sets GENOME_TEST_PID)
        in_worker = multiprocessing.current_process().name != "MainProcess" or os.environ.get("GENOME_TEST_PID", str(os.getpid())) != str(os.getpid())
        self.t += 1
        obs, reward = (self.x + 0.1 * self.t).astype(np.float32), float(action) + 0.5 * self.x[0]
        if self.bad and self.t == 3:
            if self.mode == "raise":
                raise RuntimeError("simulated crash in step")
            if self.mode == "nan_reward":
                reward = float("nan")
            if self.mode == "nan_obs":
                obs = np.array([np.nan, 0], np.float32)
            if self.mode == "hang" and in_worker:
                time.sleep(3600)
        if self.mode == "exit" and in_worker and self.t == 2 and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os._exit(3)  # the worker process dies, once
        endless = self.mode == "endless" and self.bad
        return obs, reward, self.t >= 20 and not endless, False, {}


gym.register("Flaky-v0", entry_point=FlakyEnv)


class BitsEnv(gym.Env):
    """MultiBinary(6) observations: reward 1 when the action equals the first bit."""

    def __init__(self):
        self.observation_space = gym.spaces.MultiBinary(6)
        self.action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        self.obs = self.np_random.integers(0, 2, 6).astype(np.int8)
        return self.obs, {}

    def step(self, action):
        self.t += 1
        reward = float(action == self.obs[0])
        self.obs = self.np_random.integers(0, 2, 6).astype(np.int8)
        return self.obs, reward, False, self.t >= 10, {}


gym.register("Bits-v0", entry_point=BitsEnv)


class FramesEnv(gym.Env):
    """Image observations ``(2, 36, 36)`` uint8 (the smallest the Nature-DQN trunk takes):
    reward 1 when the action names the brighter half of the first frame."""

    def __init__(self):
        self.observation_space = gym.spaces.Box(0, 255, (2, 36, 36), np.uint8)
        self.action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        self.obs = self.np_random.integers(0, 256, (2, 36, 36)).astype(np.uint8)
        return self.obs, {}

    def step(self, action):
        self.t += 1
        brighter = int(self.obs[0, :, 18:].sum() > self.obs[0, :, :18].sum())
        reward = float(action == brighter)
        self.obs = self.np_random.integers(0, 256, (2, 36, 36)).astype(np.uint8)
        return self.obs, reward, False, self.t >= 5, {}


gym.register("Frames-v0", entry_point=FramesEnv)
