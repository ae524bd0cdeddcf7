"""env.backend = "envpool": EnvPool's MuJoCo environments against Gymnasium's originals, and
the EnvPool loop against the Gymnasium slot loop."""


import gymnasium as gym
import numpy as np
import pytest

from genome import rng
from genome.build import build
from genome.config import Config, EnvConfig, OpenAIESConfig, PolicyConfig, RunConfig, from_dict
from genome.errors import ConfigError
from genome.problems.envpool import make_pool
from genome.executors.processes import ProcessExecutor
from genome.problems import EpisodeRequest



@pytest.mark.parametrize("env_id", ["Swimmer-v5", "Hopper-v5", "HalfCheetah-v5", "Walker2d-v5"])
def test_envpool_steps_the_same_environment_as_gymnasium(env_id):
    """Zero reset noise gives both the same start state; the same actions then give the same
    observations and rewards (to float32 rounding: EnvPool stores rewards as float32) until
    chaos amplifies the two MuJoCo builds' last-bit differences, and the same termination."""
    pool = make_pool(env_id, {"reset_noise_scale": 0.0}, [7])
    ref = gym.make(env_id, reset_noise_scale=0.0)
    try:
        o, _ = pool.reset()
        g, _ = ref.reset(seed=7)
        np.testing.assert_allclose(o[0], g, atol=1e-12)
        actions = np.random.default_rng(0).uniform(-1, 1, (40, *ref.action_space.shape)).astype(np.float32)
        for t, a in enumerate(actions):
            o, r, term, trunc, _ = pool.step(a[None], np.array([0], dtype=np.int32))
            g, gr, gterm, gtrunc, _ = ref.step(a)
            np.testing.assert_allclose(o[0], g, atol=1e-6, err_msg=f"step {t}")
            assert abs(r[0] - gr) <= 1e-5 * max(1.0, abs(gr))
            assert (bool(term[0]), bool(trunc[0])) == (gterm, gtrunc), f"step {t}"
            if gterm:
                break
    finally:
        pool.close()
        ref.close()


def test_envpool_truncates_at_the_time_limit_and_terminates_like_gymnasium():
    pool = make_pool("Hopper-v5", {"reset_noise_scale": 0.0}, [0, 1], max_episode_steps=15)
    ref = gym.make("Hopper-v5", reset_noise_scale=0.0, max_episode_steps=15)
    try:
        pool.reset()
        ref.reset(seed=0)
        zero = np.zeros((2, 3), dtype=np.float32)
        for t in range(15):  # standing still: no termination, truncated at the 15th step
            _, _, term, trunc, _ = pool.step(zero, np.array([0, 1], dtype=np.int32))
            _, _, gterm, gtrunc, _ = ref.step(zero[0])
            assert list(term) == [gterm] * 2 and list(trunc) == [gtrunc] * 2
        assert gtrunc and not gterm
    finally:
        pool.close()
        ref.close()


def _setup(backend, slots=16, **env):
    cfg = Config(env=EnvConfig(id="Hopper-v5", backend=backend, num_envs=slots, **env), policy=PolicyConfig(family="linear"),
                 strategy=OpenAIESConfig(population=6, sigma=0.5, lr=0.05), run=RunConfig(seed=3))
    setup = build(cfg)
    return setup, setup.strategy.ask(setup.strategy.init(3))


def test_the_envpool_loop_gives_the_gymnasium_loops_returns_without_reset_noise():
    """Same members, same episodes: returns, frames and observation statistics agree (the
    episodes are short and the start state exact, so chaos has no time to act)."""
    request = EpisodeRequest(2, rng.START, 0, common_starts=False)
    kw = {"kwargs": {"reset_noise_scale": 0.0}, "max_episode_steps": 60}
    setup, members = _setup("envpool", slots=5, **kw)
    ours = setup.problem.evaluate(members.genomes(), 0, request)
    ref = _setup("gymnasium", **kw)[0].problem.evaluate(members.genomes(), 0, request)
    np.testing.assert_array_equal(ours.frames, ref.frames)
    np.testing.assert_allclose(ours.returns, ref.returns, rtol=1e-5)
    np.testing.assert_array_equal(ours.obs_count, ref.obs_count)
    np.testing.assert_allclose(ours.obs_sum, ref.obs_sum, rtol=1e-6, atol=1e-6)
    assert ours.frames.min() < 60 < ours.frames.max() + 1  # some members fell (terminated early)


def test_envpool_numbers_do_not_depend_on_chunks_or_workers():
    """Each episode's environment is seeded with that episode's seed, so neither the pool
    size (env.num_envs) nor the split over worker processes changes a number."""
    request = EpisodeRequest(3, rng.START, 4, common_starts=False)
    setup, members = _setup("envpool", slots=16, max_episode_steps=80)
    whole = setup.problem.evaluate(members.genomes(), 0, request)
    small = _setup("envpool", slots=4, max_episode_steps=80)[0].problem.evaluate(members.genomes(), 0, request)
    np.testing.assert_array_equal(whole.returns, small.returns)
    np.testing.assert_allclose(whole.obs_sum, small.obs_sum, rtol=1e-13)  # a member's episodes add up in another order
    with ProcessExecutor(workers=2) as pool:
        remote = pool.evaluate(setup.problem, members, request)
    np.testing.assert_array_equal(whole.returns, remote.returns)
    np.testing.assert_array_equal(whole.frames, remote.frames)
    assert len({tuple(r) for r in whole.returns.round(6)}) == members.count  # every member its own episodes
    assert len(set(whole.returns[0].round(6))) == 3  # and every episode its own start


def test_envpool_input_errors_are_one_line_config_errors():
    with pytest.raises(ConfigError, match="EnvPool cannot make 'tests.problems.flaky_env:Bits-v0'.*does not provide it; use env.backend = 'gymnasium'"):
        build(Config(env=EnvConfig(id="tests.problems.flaky_env:Bits-v0", backend="envpool"), policy=PolicyConfig(hidden=[8])))
    with pytest.raises(ConfigError, match="env.backend must be 'gymnasium' or 'envpool', got 'pool'"):
        from_dict({"env": {"id": "Hopper-v5", "backend": "pool"}})
    with pytest.raises(ConfigError, match="env.preprocess = 'none'"):
        from_dict({"env": {"id": "ALE/Pong-v5", "backend": "envpool", "preprocess": "atari"}, "policy": {"family": "conv"}})


def test_a_batch_of_step_results_ends_fails_or_continues_each_episode():
    """_absorb, the compiled bookkeeping of one step of either Gymnasium loop, against hand-worked rows: an
    ended episode keeps its return, a NaN reward, an episode at the step limit and a NaN
    observation are failures (codes the loop turns into reasons), the rest go on and add
    their observation to their member's statistics."""
    from genome.problems.episodes import BAD_OBS, BAD_REWARD, ENDED, RUNNING, STEP_LIMIT, _absorb

    k = 5
    member, episode = np.array([0, 0, 1, 1, 2]), np.array([0, 1, 0, 1, 0])
    steps = np.array([3, 3, 3, 9, 3])
    ret, active = np.full(k, 10.0), np.ones(k, dtype=bool)
    frames, returns = np.zeros((3, 2), dtype=np.int64), np.zeros((3, 2))
    obs, count, total, total_sq = np.zeros((k, 2)), np.zeros(3), np.zeros((3, 2)), np.zeros((3, 2))
    ids = np.array([4, 0, 1, 2, 3])  # EnvPool's row order need not be env order
    o = np.array([[np.nan, 1.0], [1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]])
    r = np.array([1.0, 1.0, 2.0, np.nan, 1.0])
    terminated, truncated = np.array([False, False, True, False, False]), np.zeros(k, dtype=bool)
    codes = np.zeros(k, dtype=np.int64)
    _absorb(ids, o, r, terminated, truncated, member, episode, steps, ret, active, frames, returns, obs, True, count, total, total_sq, 10, codes)
    assert codes.tolist() == [BAD_OBS, RUNNING, ENDED, BAD_REWARD, STEP_LIMIT]
    assert active.tolist() == [True, False, False, False, False]
    assert returns[0, 1] == 12.0 and ret[0] == 11.0 and steps.tolist() == [4, 4, 4, 10, 4]
    assert frames.sum() == 5 and np.array_equal(obs[0], [1.0, 2.0])
    assert count.tolist() == [1, 0, 0] and np.array_equal(total[0], [1.0, 2.0]) and np.array_equal(total_sq[0], [1.0, 4.0])
