"""User environments through the public API (genome.NativeEnv): the examples in
examples/native_envs/ against their originals, training from a file outside the package,
the one-line errors, the Gymnasium wrapper, and runs that stay a function of config and seed."""

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import genome
from genome.config import load
from genome.envs.custom import NativeEnv
from genome.errors import ConfigError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "native_envs"


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    """The examples copied to a folder outside the repository, the working directory."""
    for f in EXAMPLES.glob("*.py"):
        shutil.copy(f, tmp_path / f.name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def kernels(reference: str):
    from genome.envs.custom import load_object

    env = load_object(reference)
    return env, env.reset.py_func, env.step.py_func, env.observe.py_func


def test_frozen_lake_matches_gymnasium_step_by_step(user_dir):
    env, reset, step, observe = kernels("frozen_lake.py:FrozenLake")
    original = gym.make("FrozenLake-v1", is_slippery=False)
    rng = np.random.default_rng(0)
    steps = 0
    for episode in range(200):
        o_ref, _ = original.reset(seed=episode)
        state, obs = np.zeros(env.state_size), np.zeros(1, np.float32)
        reset(state, np.zeros(0))
        observe(state, obs)
        assert obs[0] == o_ref
        for _ in range(100):
            a = int(rng.integers(4))
            o_ref, r_ref, term_ref, trunc_ref, _ = original.step(a)
            r, term = step(state, a, np.float32(0))
            observe(state, obs)
            steps += 1
            assert (obs[0], r, term) == (o_ref, r_ref, term_ref)
            if term or trunc_ref:
                break
    assert steps > 1000


def reference_catch(column: int, actions: list[int]):
    """bsuite's Catch (bsuite/environments/catch.py) step by step: boards and rewards."""
    rows, cols = 10, 5
    ball_x, ball_y, paddle_x = column, 0, cols // 2

    def board():
        b = np.zeros((rows, cols), np.float32)
        b[ball_y, ball_x] = 1.0
        b[rows - 1, paddle_x] = 1.0
        return b.reshape(-1)

    out = [(board(), 0.0, False)]
    for a in actions:
        paddle_x = int(np.clip(paddle_x + (-1, 0, 1)[a], 0, cols - 1))
        ball_y += 1
        if ball_y == rows - 1:
            out.append((board(), 1.0 if paddle_x == ball_x else -1.0, True))
            break
        out.append((board(), 0.0, False))
    return out


def test_catch_follows_bsuite_rules(user_dir):
    env, reset, step, observe = kernels("catch.py:Catch")
    rng = np.random.default_rng(1)
    rewards = []
    for episode in range(50):
        u = rng.random(1)
        actions = list(rng.integers(0, 3, 9))
        expected = reference_catch(int(u[0] * 5), actions)
        state, obs = np.zeros(env.state_size), np.zeros(50, np.float32)
        reset(state, u)
        observe(state, obs)
        np.testing.assert_array_equal(obs, expected[0][0])
        for a, (board, reward, done) in zip(actions, expected[1:]):
            r, term = step(state, int(a), np.float32(0))
            observe(state, obs)
            np.testing.assert_array_equal(obs, board)
            assert (r, term) == (reward, done)
        rewards.append(expected[-1][1])
    assert set(rewards) == {-1.0, 1.0}


def test_a_user_module_outside_the_package_trains_to_its_threshold_on_three_seeds(user_dir):
    cmd = [sys.executable, "-m", "genome.cli", "train", "frozen_lake.py:FrozenLake", "--set", "policy.encoder=onehot",
           "--set", "policy.bits_per_dim=16", "--set", "policy.hidden=[]", "--name", "lake", "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("solved: FrozenLake4x4-v1")
    assert (user_dir / "outputs" / "lake" / "policy.gbn").is_file()
    for seed in (1, 2):
        s = genome.train("frozen_lake.py:FrozenLake", seed=seed, encoder="onehot", bits_per_dim=16, hidden=[]).summary
        assert s["solved"] and s["eval_mean"] >= 1.0
    # the independent evaluation resolves the environment from the run's config.toml
    from genome.evaluate import evaluate_policy

    policy = genome.load_policy(user_dir / "outputs" / "lake")
    assert policy.env_id == "frozen_lake.py:FrozenLake"
    assert evaluate_policy(policy, policy.env_id, episodes=10)["mean"] == 1.0


def test_the_user_cartpole_copy_gives_the_built_in_runs_bits(user_dir):
    user = genome.train("cartpole.py:CartPole", generations=5, target="none", eval_episodes=5).policy.to_bytes()
    builtin = genome.train("cartpole", generations=5, target="none", eval_episodes=5).policy.to_bytes()
    assert user == builtin


def test_continuous_point_mass_trains_with_a_real_family(user_dir):
    s = genome.train("point_mass.py:PointMass", family="linear", action_head="clip", obs_norm=False, population=50,
                     sigma=0.5, lr=0.2, episodes=8, generations=60).summary
    assert s["solved"] and s["eval_mean"] >= 0.0


@pytest.mark.parametrize("family", ["mlp", "lstm", "binary_rnn"])
def test_every_family_runs_on_a_user_environment_and_resumes_exactly(user_dir, family, tmp_path):
    from genome.config import apply_overrides
    from tests.resume import assert_resume_is_byte_identical

    cfg, _ = load("catch.py:Catch")
    cfg = apply_overrides(cfg, {"policy": {"family": family, "hidden": [6], "bits_per_dim": 1},
                                "strategy": {"population": 10}, "run": {"generations": 4, "target": "none", "eval_episodes": 5, "checkpoint_every": 2}})
    assert_resume_is_byte_identical(cfg, tmp_path, first=2)


def test_same_bits_for_any_thread_count_and_in_worker_processes(user_dir):
    runs = [genome.train("catch.py:Catch", bits_per_dim=1, hidden=[8], generations=3, target="none", eval_episodes=5, threads=t).policy.to_bytes()
            for t in (1, 2)]
    assert runs[0] == runs[1]
    spawned = genome.train("catch.py:Catch", bits_per_dim=1, hidden=[8], generations=3, target="none", eval_episodes=5, executor="processes",
                           workers=1).policy.to_bytes()  # a worker process loads the environment from its name
    assert spawned == runs[0]


def test_gymnasium_wrapper_passes_check_env(user_dir):
    from gymnasium.utils.env_checker import check_env

    from genome.envs import native_spec

    spec = native_spec("point_mass.py:PointMass")
    env = gym.make(spec.gym_id).unwrapped
    check_env(env, skip_render_check=True)
    obs, _ = env.reset(seed=3)
    assert obs.shape == (2,) and env.action_space.shape == (1,)


BROKEN = {
    "arity": ("def step(state, action):\n    return 0.0, False", "step must take 3 arguments (state, action, value), it takes 2"),
    "returns": ("def step(state, action, value):\n    return 1.0", "step must return (reward, terminated)"),
    "state": ("def step(state, action, value):\n    state[5] = 1.0\n    return 0.0, False", "step indexed past its buffers"),
    "nan": ("def step(state, action, value):\n    return 0.0, False\ndef observe(state, obs):\n    obs[0] = np.nan", "observe returned non-finite values"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_environment_is_a_one_line_error_and_leaves_nothing(tmp_path, monkeypatch, case):
    code, message = BROKEN[case]
    src = textwrap.dedent('''
        import numpy as np
        from numba import njit
        import genome

        def reset(state, u):
            state[0] = u[0]

        def step(state, action, value):
            return 0.0, False

        def observe(state, obs):
            obs[0] = state[0]
    ''') + "\n" + code + textwrap.dedent('''

        Env = genome.NativeEnv(id="Broken-v0", reset=reset, step=step, observe=observe, obs_low=[-1.0], obs_high=[1.0],
                               state_size=1, n_uniforms=1, n_actions=2, max_episode_steps=10)
    ''')
    (tmp_path / "broken.py").write_text(src)
    monkeypatch.chdir(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "genome.cli", "train", "broken.py:Env", "--name", "run"], capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Broken-v0" in lines[0], proc.stderr
    assert not (tmp_path / "outputs" / "run").exists()


def test_spec_errors_name_the_field(user_dir):
    from genome.envs.custom import check

    env, *_ = kernels("catch.py:Catch")
    bad = [
        (dict(obs_high=[1.0] * 3), "obs_high must have 50 values"),
        (dict(action_low=[-1.0], action_high=[1.0]), "give either n_actions"),
        (dict(state_size=0), "state_size must be an integer >= 1"),
        (dict(id="a/b"), "id must be a name"),
        (dict(max_episode_steps=1.5), "max_episode_steps must be an integer"),
    ]
    for change, message in bad:
        with pytest.raises(ConfigError, match=message):
            check(NativeEnv(**{**env.__dict__, **change}), "catch.py:Catch")
    with pytest.raises(ConfigError, match="has no 'Nope'"):
        load("catch.py:Nope")
    with pytest.raises(ConfigError, match="no such file"):
        load("missing.py:Env")
