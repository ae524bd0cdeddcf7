"""Native environments against Gymnasium's originals, step by step."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import genome  # noqa: F401  (registers genome/<id>)
from genome.envs import NATIVE_ENVS
from genome.envs.native import MAX_STATE, env_observe, env_reset, env_step

ENV_IDS = list(NATIVE_ENVS)


def random_action(space, rng):
    if isinstance(space, gym.spaces.Discrete):
        return int(rng.integers(space.n))
    # beyond the bounds too, so clipping paths are exercised
    return rng.uniform(-1.6 * space.high, 1.6 * space.high).astype(np.float32)


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 12345])
def test_matches_gymnasium_step_by_step(env_id, seed):
    ref = gym.make(env_id)
    mine = gym.make(f"genome/{env_id}")
    rng = np.random.default_rng(seed)
    steps = 0
    for episode in range(4):
        o_ref, _ = ref.reset(seed=seed * 10 + episode)
        o_mine, _ = mine.reset(seed=seed * 10 + episode)
        np.testing.assert_allclose(o_mine, o_ref, rtol=0, atol=1e-6)
        while True:
            a = random_action(ref.action_space, rng)
            o_ref, r_ref, term_ref, trunc_ref, _ = ref.step(a)
            o_mine, r_mine, term_mine, trunc_mine, _ = mine.step(a)
            steps += 1
            assert o_mine.dtype == o_ref.dtype == np.float32
            np.testing.assert_allclose(o_mine, o_ref, rtol=0, atol=1e-6, err_msg=f"step {steps}")
            assert abs(r_mine - r_ref) <= 1e-6, (steps, r_mine, r_ref)
            assert (term_mine, trunc_mine) == (term_ref, trunc_ref), steps
            if term_ref or trunc_ref:
                break
    assert steps >= 50


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_long_random_runs_are_bit_identical(env_id):
    """Thousands of random actions on the unwrapped envs (no time limit): exact agreement."""
    ref = gym.make(env_id).unwrapped
    mine = gym.make(f"genome/{env_id}").unwrapped
    rng = np.random.default_rng(7)
    ref.reset(seed=7)
    mine.reset(seed=7)
    for step in range(3000):
        a = random_action(ref.action_space, rng)
        o_ref, r_ref, term_ref, _, _ = ref.step(a)
        o_mine, r_mine, term_mine, _, _ = mine.step(a)
        assert np.array_equal(o_ref, o_mine) and r_ref == r_mine and term_ref == term_mine, step
        if term_ref:
            ref.reset(seed=step)
            mine.reset(seed=step)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_passes_gymnasium_env_checker(env_id):
    check_env(gym.make(f"genome/{env_id}").unwrapped, skip_render_check=True)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_registered_with_time_limit_and_threshold(env_id):
    spec = gym.spec(f"genome/{env_id}")
    assert spec.max_episode_steps == gym.spec(env_id).max_episode_steps
    assert spec.reward_threshold == gym.spec(env_id).reward_threshold


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_same_trajectory(env_id):
    def rollout():
        env = gym.make(f"genome/{env_id}")
        obs, _ = env.reset(seed=3)
        rng = np.random.default_rng(3)
        out = [obs]
        for _ in range(100):
            obs, *_ = env.step(random_action(env.action_space, rng))
            out.append(obs)
        return np.array(out)

    assert np.array_equal(rollout(), rollout())


def test_kernels_callable_directly():
    spec = NATIVE_ENVS["CartPole-v1"]
    state = np.zeros(MAX_STATE + 1)
    obs = np.zeros(spec.obs_size, np.float32)
    env_reset(spec.kernel, state, np.full(4, 0.5))
    env_observe(spec.kernel, state, obs)
    np.testing.assert_array_equal(obs, 0)
    reward, terminated = env_step(spec.kernel, state, 1, np.float32(0))
    assert reward == 1.0 and not terminated and state[1] > 0  # pushed right


def test_step_before_reset_is_an_error():
    env = gym.make("genome/CartPole-v1").unwrapped
    with pytest.raises(gym.error.ResetNeeded):
        env.step(0)
    env.reset(seed=0)
    with pytest.raises(gym.error.InvalidAction):
        env.step(5)
