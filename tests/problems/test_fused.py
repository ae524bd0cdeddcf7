"""The fused rollout kernel against a plain Python loop over the Gymnasium API."""

import gymnasium as gym
import numpy as np
import pytest

import genome  # noqa: F401
from genome import rng
from genome.config import Config, EnvConfig, PolicyConfig
from genome.encoders.kernels import WORD_ONEHOT, WORD_THERMOMETER, WORD_THERMOMETER16, word_kind
from genome.envs.native import MAX_UNIFORMS, NATIVE_ENVS, env_reset
from genome.problems import EpisodeRequest
from genome.build import build

SETTINGS = {
    "CartPole-v1": {},
    "Acrobot-v1": {},
    "MountainCar-v0": {},
    "MountainCarContinuous-v0": {"action_head": "tanh"},
    "Pendulum-v1": {"action_head": "bins", "action_bins": 5},
}


def setup_for(env_id, hidden=(65, 7), **policy):
    policy = {"bits_per_dim": 9, **policy}
    cfg = Config(env=EnvConfig(id=env_id), policy=PolicyConfig(hidden=list(hidden), encoder_samples=2000, **policy))
    return build(cfg)


def python_episode(setup, genome_bits, key):
    """One episode driven from Python: policy.act(obs) on the genome/<id> Gymnasium env,
    started from the same counter-based uniforms as the fused kernel."""
    policy = setup.family.decode(genome_bits)
    env = gym.make(f"genome/{setup.native.env_id}").unwrapped
    env.reset(seed=0)
    env_reset(setup.native.kernel, env._state, rng.uniforms(np.uint64(key), MAX_UNIFORMS))
    obs = env._obs.copy()
    from genome.envs.native import env_observe

    env_observe(setup.native.kernel, env._state, obs)
    total, steps = 0.0, 0
    for _ in range(setup.native.max_episode_steps):
        obs, reward, terminated, _, _ = env.step(policy.act_obs(obs))
        total += reward
        steps += 1
        if terminated:
            break
    return total, steps


# [64]: every layer fits one word (the register path, as in the presets); [65, 7]: the
# general path with activations in memory (CartPole only: each shape is a compilation).
# One-word networks compile their encoder's kind only (encoders/kernels.py, word_kind):
# 9 thermometer bits per dimension (<= 16 edges) everywhere, more edges and one-hot once.
@pytest.mark.parametrize("env_id, hidden, encoder, kind", [(e, (64,), {}, WORD_THERMOMETER16) for e in NATIVE_ENVS] + [
    ("CartPole-v1", (65, 7), {}, WORD_THERMOMETER16),
    ("MountainCar-v0", (64,), {"bits_per_dim": 30}, WORD_THERMOMETER),
    ("CartPole-v1", (64,), {"encoder": "onehot"}, WORD_ONEHOT),
])
def test_fused_rollout_matches_python_loop(env_id, hidden, encoder, kind):
    setup = setup_for(env_id, hidden, **SETTINGS[env_id], **encoder)
    genomes = np.random.default_rng(1).integers(0, 2, size=(3, setup.family.n_params)).astype(np.uint8)
    _, _, edge_counts, _, onehot = setup.family.encoder.kernel_tables()
    assert word_kind(edge_counts, onehot) == kind
    request = EpisodeRequest(episodes=2, purpose=rng.START, generation=5, common_starts=False)
    result = setup.problem.evaluate(genomes, 10, request)
    for m in range(3):
        for e in range(2):
            key = rng.make_key(setup.problem.seed, rng.START, 5, (10 + m) * 2 + e)
            total, steps = python_episode(setup, genomes[m], key)
            assert result.frames[m, e] == steps
            assert result.returns[m, e] == pytest.approx(total, abs=1e-6)


def test_results_do_not_depend_on_the_split_or_thread_count():
    import numba

    setup = setup_for("CartPole-v1")
    genomes = np.random.default_rng(2).integers(0, 2, size=(40, setup.family.n_params)).astype(np.uint8)
    request = EpisodeRequest(episodes=3, purpose=rng.START, generation=1, common_starts=False)
    whole = setup.problem.evaluate(genomes, 0, request)
    # 11 x 3 = 33 tasks: a last chunk of one task (one lane idle); 1 x 3: one short chunk
    parts = [setup.problem.evaluate(genomes[a:b], a, request) for a, b in [(0, 11), (11, 12), (12, 40)]]
    assert np.array_equal(whole.returns, np.concatenate([p.returns for p in parts]))
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = setup.problem.evaluate(genomes, 0, request)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(whole.returns, single.returns) and np.array_equal(whole.frames, single.frames)


def test_common_starts_share_start_states():
    setup = setup_for("CartPole-v1")
    g = np.random.default_rng(3).integers(0, 2, size=(1, setup.family.n_params)).astype(np.uint8)
    twice = np.repeat(g, 2, axis=0)
    common = setup.problem.evaluate(twice, 0, EpisodeRequest(4, rng.START, 0, True))
    assert np.array_equal(common.returns[0], common.returns[1])
    # a different member index gives different start states without common starts
    a = setup.problem.evaluate(g, 0, EpisodeRequest(4, rng.START, 0, False))
    b = setup.problem.evaluate(g, 1, EpisodeRequest(4, rng.START, 0, False))
    assert not np.array_equal(a.frames, b.frames)
    # paired starts: members 2k and 2k + 1 share theirs, pairs differ
    eight = np.repeat(g, 8, axis=0)
    paired = setup.problem.evaluate(eight, 2, EpisodeRequest(1, rng.START, 0, False, True)).returns[:, 0]
    assert all(paired[2 * k] == paired[2 * k + 1] for k in range(4)) and len(set(paired)) > 1
