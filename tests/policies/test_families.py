"""Every policy family end to end: trains on a native and a Gymnasium environment, round-trips
through the policy file, evaluates, and exports to C that agrees with Python."""

import numpy as np
import pytest

import genome
from genome import rng
from genome.build import build
from genome.config import Config, EnvConfig, OpenAIESConfig, PolicyConfig, RunConfig
from genome.envs.native import MAX_OBS, MAX_STATE, MAX_UNIFORMS, env_observe, env_reset, env_step
from genome.evaluate import evaluate_policy
from genome.policy import Policy, load_policy
from genome.problems import EpisodeRequest

from tests.test_export_and_render import CC, FLOATS, compile_policy, observations

REAL = ["linear", "mlp", "toeplitz", "circulant"]
# a Gymnasium environment that is not native: CartPole with a kwarg runs through gymnasium.make
GYM_CARTPOLE = EnvConfig(id="CartPole-v1", kwargs={"sutton_barto_reward": False})


def cfg(family, env=EnvConfig(id="CartPole-v1"), generations=3, head="auto", **run):
    run = {"workers": 1, **run}
    return Config(env=env, policy=PolicyConfig(family=family, hidden=[] if family == "linear" else [6], action_head=head),
                  strategy=OpenAIESConfig(population=10, sigma=0.1, lr=0.05),
                  run=RunConfig(generations=generations, target="none", eval_episodes=5, center_episodes=2, **run))


@pytest.mark.parametrize("family", REAL)
@pytest.mark.parametrize("where", ["native", "gymnasium"])
def test_every_real_family_trains_saves_and_evaluates(family, where, tmp_path):
    env = EnvConfig(id="CartPole-v1") if where == "native" else GYM_CARTPOLE
    result = genome.train(cfg(family, env), run_dir=tmp_path / "run")
    s = result.summary
    assert s["family"] == family and s["strategy"] == "openai_es" and s["generations"] == 3 and s["frames"] > 0
    assert s["size_bits"] == 32 * s["n_params"]
    policy = load_policy(tmp_path / "run")
    assert policy.family == family and policy.network == result.policy
    # the saved normalizer is the one the run gathered (observations were seen: not the identity)
    assert not np.all(policy.network.normalizer.mean == 0)
    stats = evaluate_policy(policy, "CartPole-v1", episodes=3)
    assert stats["episodes"] == 3 and stats["mean"] >= 8


def reference_rollout(env, net, key, max_steps):
    """The dense fused rollout written as a plain Python loop over the native env kernels."""
    state, obs = np.zeros(MAX_STATE + 1), np.zeros(MAX_OBS, np.float32)
    u = rng.uniforms(np.uint64(key), MAX_UNIFORMS)
    env_reset(env.kernel, state, u)
    total, t, seen = 0.0, 0, []
    while True:
        env_observe(env.kernel, state, obs)
        seen.append(obs[: env.obs_size].astype(np.float64))
        action = net.act_obs(obs[: env.obs_size])
        a, value = (action, np.float32(0)) if isinstance(action, int) else (0, action[0])
        reward, terminated = env_step(env.kernel, state, a, value)
        total += reward
        t += 1
        if terminated or t >= max_steps:
            return total, t, np.array(seen)


@pytest.mark.parametrize("env_id,family,head", [("CartPole-v1", "mlp", "auto"), ("Pendulum-v1", "toeplitz", "tanh"), ("Acrobot-v1", "circulant", "auto"),
                                               ("MountainCarContinuous-v0", "linear", "clip"), ("Pendulum-v1", "linear", "bins")])
def test_fused_dense_rollout_matches_a_python_loop(env_id, family, head):
    setup = build(cfg(family, EnvConfig(id=env_id), head=head))
    fam = setup.family
    genomes = np.random.default_rng(0).normal(size=(3, fam.n_params)).astype(np.float32)
    request = EpisodeRequest(2, rng.START, 4, common_starts=False)
    result = setup.problem.evaluate(genomes, 5, request)
    for m in range(3):
        net = fam.decode(genomes[m])
        seen = []
        for e in range(2):
            key = rng.make_key(setup.problem.seed, rng.START, 4, (5 + m) * 2 + e)
            total, steps, obs = reference_rollout(setup.native, net, key, setup.problem.max_episode_steps)
            assert result.returns[m, e] == total and result.frames[m, e] == steps
            seen.append(obs)
        seen = np.concatenate(seen)
        assert result.obs_count[m] == len(seen)
        np.testing.assert_allclose(result.obs_sum[m], seen.sum(axis=0), rtol=1e-12)
        np.testing.assert_allclose(result.obs_sumsq[m], (seen**2).sum(axis=0), rtol=1e-12)


@pytest.mark.skipif(CC is None, reason="no C compiler on this machine")
@pytest.mark.parametrize("env_id,family,head", [("CartPole-v1", "mlp", "auto"), ("CartPole-v1", "toeplitz", "auto"), ("Pendulum-v1", "circulant", "tanh"),
                                               ("MountainCarContinuous-v0", "linear", "clip"), ("Pendulum-v1", "mlp", "bins")])
def test_exported_c_agrees_with_python(env_id, family, head, tmp_path):
    setup = build(cfg(family, EnvConfig(id=env_id), head=head))
    fam = setup.family
    genome_ = np.random.default_rng(3).normal(size=fam.n_params).astype(np.float32)
    from genome.encoders.auto import RunningStats

    stats = RunningStats.empty(fam.n_inputs)
    stats.add_samples(np.random.default_rng(4).normal(size=(50, fam.n_inputs)) * 2 + 1)
    net = fam.with_stats(stats).decode(genome_)
    policy = Policy(net, env_id)
    lib = compile_policy(net, tmp_path)
    obs = observations(fam.n_inputs, 3000, scale=2.0)
    obs = obs[np.all(np.isfinite(obs), axis=1)]
    if net.head.kind == 0:
        lib.genome_act.argtypes = [FLOATS]
        assert [lib.genome_act(o.ctypes.data_as(FLOATS)) for o in obs] == [policy.act(o) for o in obs]
    else:
        lib.genome_act_continuous.argtypes = [FLOATS, FLOATS]
        out = np.empty(net.head.action_dim, np.float32)
        for o in obs:
            lib.genome_act_continuous(o.ctypes.data_as(FLOATS), out.ctypes.data_as(FLOATS))
            np.testing.assert_allclose(out, policy.act(o), atol=1e-5)


@pytest.mark.parametrize("family", REAL)
def test_resume_is_byte_identical_for_every_family(family, tmp_path):
    c = cfg(family, generations=6, checkpoint_every=2)
    whole = genome.train(c, run_dir=tmp_path / "whole")
    genome.train(c.replace(run=RunConfig(**{**c.run.__dict__, "generations": 3})), run_dir=tmp_path / "part")
    from genome.trainer import Trainer

    resumed = Trainer(c, run_dir=tmp_path / "part")
    resumed.restore()
    assert resumed.state.generation == 3
    again = resumed.run()
    assert (tmp_path / "part" / "policy.gbn").read_bytes() == (tmp_path / "whole" / "policy.gbn").read_bytes()
    assert again.summary["frames"] == whole.summary["frames"]


def test_results_do_not_depend_on_threads_or_workers(tmp_path):
    native = [genome.train(cfg("mlp", generations=3, threads=t)).policy.to_bytes() for t in (1, 2)]
    assert native[0] == native[1]
    gym = [genome.train(cfg("mlp", GYM_CARTPOLE, generations=2, workers=w)).policy.to_bytes() for w in (1, 2)]
    assert gym[0] == gym[1]


def test_a_binary_strategy_cannot_train_real_genomes():
    from genome.config import BernoulliNESConfig
    from genome.errors import ConfigError

    with pytest.raises(ConfigError, match="bernoulli_nes cannot train policy.family = linear"):
        build(Config(policy=PolicyConfig(family="linear", hidden=[]), strategy=BernoulliNESConfig()))
    with pytest.raises(ConfigError, match="no hidden layers"):
        build(Config(policy=PolicyConfig(family="linear", hidden=[5]), strategy=OpenAIESConfig()))


def test_cli_eval_render_and_export_a_real_valued_run(tmp_path):
    import json
    import subprocess
    import sys

    import imageio.v2 as imageio

    def cli(*args):
        proc = subprocess.run([sys.executable, "-m", "genome.cli", *args], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    cli("train", "pendulum-es", "--out", str(tmp_path), "--name", "run", "--generations", "2", "--quiet")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    # training episodes: 2 generations of 100 members x 4 episodes (frames count the
    # center checks and tests too)
    assert summary["family"] == "mlp" and summary["episodes"] == 2 * 100 * 4
    stats = json.loads(cli("eval", str(tmp_path / "run"), "--episodes", "3", "--json"))
    assert stats["episodes"] == 3 and -2000 < stats["mean"] <= 0
    cli("render", str(tmp_path / "run"), "--out", str(tmp_path / "ep.gif"))
    assert len(imageio.mimread(tmp_path / "ep.gif", memtest=False)) > 5
    out = cli("export", str(tmp_path / "run"), "--out", str(tmp_path / "p.c"))
    assert "genome_act_continuous" in out and "double acc" in (tmp_path / "p.c").read_text()


@pytest.mark.parametrize("common_starts", [True, False])
def test_a_members_episodes_split_over_workers_give_the_same_numbers(common_starts):
    """The pool spreads one member's many episodes (the center's stopping test) over its
    workers; every episode keeps its start state."""
    from genome.executors.processes import ProcessExecutor
    from genome.strategies import FixedMembers

    setup = build(cfg("mlp", GYM_CARTPOLE))
    genomes = np.random.default_rng(0).normal(size=(1, setup.family.n_params)).astype(np.float32)
    request = EpisodeRequest(9, rng.EVAL, 3, common_starts)
    alone = setup.problem.evaluate(genomes, 0, request)
    with ProcessExecutor(2) as pool:
        split = pool.evaluate(setup.problem, FixedMembers(genomes), request)
    assert np.array_equal(alone.returns, split.returns) and np.array_equal(alone.frames, split.frames)
    # statistics add up (slices sum in another order; only training members' statistics,
    # never split by episode, feed the normalizer)
    np.testing.assert_allclose(split.obs_sum, alone.obs_sum, rtol=1e-12)
    assert len(set(alone.returns[0])) > 1  # distinct start states, not one episode repeated


def test_reward_shift_applies_to_training_returns_only():
    """CartPole pays 1 per step: shifted by 1, every member's training fitness is 0, while the
    center's check sees the true return."""
    c = cfg("linear", generations=2)
    shifted = genome.train(c.replace(env=EnvConfig(id="CartPole-v1", reward_shift=1.0)))
    assert all(h["fitness/max"] == 0.0 and h["center/return"] > 0 for h in shifted.history)
    assert shifted.summary["eval_mean"] > 0


def test_center_every_checks_the_center_every_n_generations():
    r = genome.train(cfg("linear", generations=5, center_every=2))
    checked = [h["generation"] for h in r.history if h["center/return"] == h["center/return"]]
    assert checked == [0, 2, 4]


@pytest.mark.parametrize("family,env", [("mlp", EnvConfig(id="CartPole-v1")), ("mlp", GYM_CARTPOLE)])  # binary: tests/problems/test_fused.py
def test_paired_starts_share_a_start_within_each_pair(family, env):
    from genome.config import BernoulliNESConfig

    c = cfg(family, env)
    if family == "binary_mlp":
        c = c.replace(strategy=BernoulliNESConfig(population=8))
    setup = build(c)
    one = setup.strategy.ask(setup.strategy.init(0)).genomes(0, 1)
    same = np.repeat(one, 8, axis=0)  # eight copies of one policy: only the start states differ
    r = setup.problem.evaluate(same, 2, EpisodeRequest(1, rng.START, 0, common_starts=False, paired_starts=True)).returns[:, 0]
    assert all(r[2 * k] == r[2 * k + 1] for k in range(4)) and len(set(r)) > 1
    common = setup.problem.evaluate(same, 2, EpisodeRequest(1, rng.START, 0)).returns[:, 0]
    assert len(set(common)) == 1
