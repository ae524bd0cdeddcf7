"""ALE episode starts (genome.rollout.ale_starts): no-op starts drawn from the reset seed,
and plain resets of a deterministic emulator that reach the seeded reset's state."""

import numpy as np
import pytest

pytest.importorskip("ale_py")

from genome.config import from_dict  # noqa: E402
from genome.errors import ConfigError  # noqa: E402
from genome.rollout.gym_problem import make_env  # noqa: E402

DET = {"obs_type": "ram", "repeat_action_probability": 0.0}


def episode(env, seed, actions):
    obs, _ = env.reset(seed=seed)
    traj, total = [obs.copy()], 0.0
    for a in actions:
        obs, r, term, trunc, _ = env.step(int(a))
        traj.append(obs.copy())
        total += r
        if term or trunc:
            break
    return np.array(traj), total


def count_loads(env):
    calls = []
    base = env.unwrapped
    original = base.load_game
    base.load_game = lambda: (calls.append(1), original())[1]
    return calls


@pytest.mark.parametrize("preprocess", ["none", "noop"])
def test_plain_resets_of_a_deterministic_emulator_match_seeded_ones(preprocess):
    actions = np.random.default_rng(0).integers(0, 6, 300)
    fresh = make_env("ALE/Pong-v5", DET, 200, preprocess)
    reference = episode(fresh, 11, actions)
    reused = make_env("ALE/Pong-v5", DET, 200, preprocess)
    loads = count_loads(reused)
    episode(reused, 5, np.random.default_rng(1).integers(0, 6, 500))  # another episode first
    again = episode(reused, 11, actions)
    assert len(loads) == 1  # only the first reset reloaded the ROM
    np.testing.assert_array_equal(again[0], reference[0])
    assert again[1] == reference[1]


def test_sticky_actions_keep_every_reset_seeded():
    env = make_env("ALE/Pong-v5", {"obs_type": "ram"}, 50, "noop")
    loads = count_loads(env)
    a = episode(env, 3, np.zeros(60, int))
    episode(env, 4, np.zeros(60, int))
    b = episode(env, 3, np.zeros(60, int))
    assert len(loads) == 3
    np.testing.assert_array_equal(a[0], b[0])


def test_noop_starts_depend_on_the_seed_only():
    env = make_env("ALE/Pong-v5", DET, 10, "noop")
    starts = {}
    for seed in range(12):
        starts[seed] = env.reset(seed=seed)[0].copy()
    for seed in (3, 7):  # again, in another order: the same start
        np.testing.assert_array_equal(env.reset(seed=seed)[0], starts[seed])
    assert len({s.tobytes() for s in starts.values()}) > 3  # different no-op counts, different starts
    plain = make_env("ALE/Pong-v5", DET, 10, "none")
    assert all(not np.array_equal(plain.reset(seed=s)[0], starts[s]) for s in range(12))  # at least one no-op each


def test_noop_start_steps_match_stepping_noops_by_hand():
    seed = 9
    n = int(np.random.default_rng(seed).integers(1, 31))
    plain = make_env("ALE/Pong-v5", DET, 0, "none")
    obs, _ = plain.reset(seed=seed)
    for _ in range(n):
        obs = plain.step(0)[0]
    np.testing.assert_array_equal(make_env("ALE/Pong-v5", DET, 0, "noop").reset(seed=seed)[0], obs)


def test_preprocess_is_for_atari_only():
    with pytest.raises(ConfigError, match="Atari"):
        from_dict({"env": {"id": "CartPole-v1", "preprocess": "noop"}})
    with pytest.raises(ConfigError, match="Atari"):
        make_env("CartPole-v1", {}, preprocess="noop")
