"""MuJoCo's warnings go through Python's ``warnings`` once per process, and nothing is
written into the user's working directory (MuJoCo's own handler writes MUJOCO_LOG.TXT)."""

import subprocess
import sys

import pytest

pytest.importorskip("mujoco")

EPISODE = """
from genome.problems.gym_env import make_env
for _ in range(3):  # HalfCheetah-v5's XML warns about settotalmass each time it is loaded
    env = make_env("HalfCheetah-v5", {}, max_episode_steps=50)
    env.reset(seed=0)
    done = False
    while not done:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        done = terminated or truncated
    env.close()
print("episodes done")
"""


def test_a_halfcheetah_episode_leaves_the_working_directory_empty(tmp_path):
    proc = subprocess.run([sys.executable, "-c", EPISODE], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "episodes done" in proc.stdout
    assert list(tmp_path.iterdir()) == []  # no MUJOCO_LOG.TXT
    assert proc.stderr.count("MujocoWarning: compiler attribute 'settotalmass' is deprecated") == 1
    assert "WARNING: compiler attribute" not in proc.stderr + proc.stdout  # MuJoCo's own printout is gone
