"""The generic Gymnasium path: any env id, worker processes, failures isolated per member."""

import json

import numpy as np
import pytest

import genome
from genome import rng
from genome.evaluate import evaluate_policy
from genome.config import Config, EnvConfig, PolicyConfig, RunConfig, BernoulliNESConfig
from genome.executors.processes import ProcessExecutor
from genome.problems import EpisodeRequest
from genome.strategies.bernoulli_nes import BernoulliMembers
from genome.build import build

FLAKY = "tests.problems.flaky_env:Flaky-v0"


def tiny(env_id, **kw):
    run = dict(generations=2, target="none", eval_episodes=2, center_episodes=1, workers=2)
    run.update(kw.pop("run", {}))
    return genome.train(
        Config(
            env=EnvConfig(id=env_id, **kw.pop("env", {})),
            policy=PolicyConfig(hidden=[16], encoder_samples=300, **kw.pop("policy", {})),
            strategy=BernoulliNESConfig(population=8),
            run=RunConfig(**run),
        ),
        **kw,
    )


@pytest.mark.parametrize(
    "env_id, kwargs",
    [
        ("LunarLander-v3", {}),  # Box2D, discrete actions
        ("LunarLander-v3", {"continuous": True}),  # Box actions
        ("InvertedPendulum-v5", {}),  # MuJoCo
        ("ALE/Pong-v5", {"obs_type": "ram"}),  # ALE RAM: 1024 raw bits
    ],
)
def test_any_gymnasium_env_trains_with_a_tiny_budget(env_id, kwargs, tmp_path):
    r = tiny(env_id, env={"kwargs": kwargs, "max_episode_steps": 60}, run_dir=tmp_path / "run")
    s = r.summary
    assert s["generations"] == 2 and s["frames"] > 0 and np.isfinite(s["eval_mean"])
    policy = genome.load_policy(tmp_path / "run")
    assert policy.env_id == env_id and policy.env_kwargs == kwargs
    stats = evaluate_policy(policy, env_id, episodes=2, seed=1)
    assert stats["episodes"] == 2 and np.isfinite(stats["mean"])


def test_image_observations_use_the_image_encoder():
    setup = build(Config(env=EnvConfig(id="ALE/Pong-v5", kwargs={"obs_type": "grayscale"}), policy=PolicyConfig(hidden=[8], image_size=[21, 16])))
    assert setup.family.encoder.name == "image" and setup.family.encoder.n_bits == 21 * 16


def healthy_twin(setup):
    """The same problem without misbehaviour, sharing the encoder (its edges come from the
    warm-up episodes, which a misbehaving env cuts short)."""
    twin = members_and_problem("none")[0].problem
    twin.set_family(setup.problem.family)
    return twin


def members_and_problem(mode, marker="", episodes=1, population=12):
    cfg = Config(
        env=EnvConfig(id=FLAKY, kwargs={"mode": mode, "marker": marker}, step_limit=50),
        policy=PolicyConfig(hidden=[8], encoder_samples=200),
        strategy=BernoulliNESConfig(population=population),
    )
    setup = build(cfg)
    members = BernoulliMembers(np.full(setup.family.n_params, 0.5), 1, 0, population)
    return setup, members, EpisodeRequest(episodes, rng.START, 0, common_starts=False)


@pytest.mark.parametrize("mode, reason", [("raise", "step raised RuntimeError: simulated crash"), ("nan_reward", "non-finite reward"), ("nan_obs", "non-finite observation"), ("endless", "step limit of 50")])
def test_misbehaving_envs_fail_only_their_members(mode, reason):
    setup, members, request = members_and_problem(mode)
    result = setup.problem.evaluate(members.genomes(), 0, request)
    healthy = healthy_twin(setup).evaluate(members.genomes(), 0, request)
    assert result.failures and all(reason in r for r in result.failures.values())
    failed = sorted(result.failures)
    assert np.all(np.isnan(result.fitness[failed]))
    ok = [m for m in range(members.count) if m not in result.failures]
    assert ok and np.array_equal(result.returns[ok], healthy.returns[ok])  # the others are untouched


def test_workers_give_the_same_numbers_as_in_process():
    setup, members, request = members_and_problem("raise", episodes=2)
    local = setup.problem.evaluate(members.genomes(), 0, request)
    with ProcessExecutor(workers=2) as pool:
        remote = pool.evaluate(setup.problem, members, request)
    assert np.array_equal(local.returns, remote.returns, equal_nan=True)
    assert np.array_equal(local.frames, remote.frames) and local.failures == remote.failures
    assert np.allclose(local.obs_sum, remote.obs_sum) and np.array_equal(local.obs_count, remote.obs_count)


def test_a_dead_worker_is_replaced_and_its_members_re_evaluated(tmp_path):
    marker = tmp_path / "died-once"
    setup, members, request = members_and_problem("exit", marker=str(marker))
    with ProcessExecutor(workers=2) as pool:
        result = pool.evaluate(setup.problem, members, request)
        assert pool.restarts >= 1  # both workers may die before either writes the marker
    assert marker.exists() and not result.failures
    reference = healthy_twin(setup).evaluate(members.genomes(), 0, request)
    assert np.array_equal(result.returns, reference.returns)


def test_a_hanging_env_times_out_and_fails_its_members_not_the_run():
    setup, members, request = members_and_problem("hang", population=4)
    healthy, healthy_members, _ = members_and_problem("none", population=4)
    with ProcessExecutor(workers=2, timeout=120.0) as pool:
        # warm both workers first (start, imports, kernels): the 2 s limit is for the episodes
        assert not pool.evaluate(healthy.problem, healthy_members, request).failures
        pool.timeout = 2.0
        result = pool.evaluate(setup.problem, members, request)
    assert result.failures and all("timed out after 2 s" in r for r in result.failures.values())
    assert len(result.failures) < members.count  # the other chunk finished


def test_failures_are_recorded_and_the_run_goes_on(tmp_path):
    r = genome.train(
        Config(
            env=EnvConfig(id=FLAKY, kwargs={"mode": "raise"}, common_starts=False),
            policy=PolicyConfig(hidden=[8], encoder_samples=200),
            strategy=BernoulliNESConfig(population=12),
            run=RunConfig(generations=2, target="none", eval_episodes=3, center_episodes=1, workers=1),
        ),
        run_dir=tmp_path / "run",
    )
    assert r.summary["failures"] > 0 and r.summary["generations"] == 2
    lines = [json.loads(line) for line in (tmp_path / "run" / "failures.jsonl").read_text().splitlines()]
    assert lines and all("simulated crash" in x["reason"] for x in lines)


def test_running_statistics_move_the_edges_and_resume_exactly(tmp_path):
    kw = dict(env={"kwargs": {}, "max_episode_steps": 40}, run={"workers": 1, "generations": 4})
    whole = tiny("LunarLander-v3", run_dir=tmp_path / "whole", **kw)
    first = tiny("LunarLander-v3", run_dir=tmp_path / "part", **dict(kw, run={"workers": 1, "generations": 2}))
    assert first.policy.encoder != whole.policy.encoder  # edges follow the statistics
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "genome.cli", "train", "--resume", str(tmp_path / "part"), "--generations", "4", "--quiet"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "part" / "policy.gbn").read_bytes() == (tmp_path / "whole" / "policy.gbn").read_bytes()


def test_a_solved_run_saves_the_encoder_its_test_used(tmp_path):
    """The running edges move on after every generation; the saved policy must still carry
    the edges the center passed its stopping test with (generation 0 here: the warm-up's)."""
    from genome.encoders.auto import thermometer_from_stats

    kw = dict(env={"kwargs": {}, "max_episode_steps": 40}, run={"workers": 1, "generations": 5, "target": -1e9})
    solved = tiny("LunarLander-v3", **kw)
    assert solved.summary["solved"] and solved.summary["generations"] == 1
    cfg = Config(env=EnvConfig(id="LunarLander-v3", max_episode_steps=40), policy=PolicyConfig(hidden=[16], encoder_samples=300),
                 strategy=BernoulliNESConfig(population=8), run=RunConfig(workers=1))
    setup = build(cfg)
    assert solved.policy.encoder == thermometer_from_stats(setup.stats, cfg.policy.bits_per_dim)


def test_bad_environment_input_is_a_config_error():
    with pytest.raises(genome.ConfigError, match="cannot make environment"):
        build(Config(env=EnvConfig(id="LunarLander-v3", kwargs={"no_such_kwarg": 1})))
    with pytest.raises(genome.ConfigError, match="unsupported observation space"):
        build(Config(env=EnvConfig(id="Blackjack-v1")))


def test_discrete_observations_are_one_hot(tmp_path):
    setup = build(Config(env=EnvConfig(id="FrozenLake-v1"), policy=PolicyConfig(hidden=[8])))
    enc = setup.family.encoder
    assert enc.name == "onehot" and enc.n_bits == 16
    assert enc.encode_bits([5]).tolist() == [1 if i == 5 else 0 for i in range(16)]
    r = tiny("FrozenLake-v1", run={"workers": 1})
    assert r.summary["generations"] == 2


def test_multibinary_observations_are_the_bits():
    setup = build(Config(env=EnvConfig(id="tests.problems.flaky_env:Bits-v0"), policy=PolicyConfig(hidden=[8])))
    enc = setup.family.encoder
    assert enc.name == "sign" and enc.n_bits == 6
    assert enc.encode_bits(np.array([1, 0, 1, 1, 0, 0], np.int8)).tolist() == [1, 0, 1, 1, 0, 0]
    result = genome.train(
        Config(env=EnvConfig(id="tests.problems.flaky_env:Bits-v0"), policy=PolicyConfig(hidden=[8], bias_bits=2),
               strategy=BernoulliNESConfig(population=32), run=RunConfig(generations=25, target="none", eval_episodes=20, workers=1))
    )
    assert result.summary["eval_mean"] >= 9.0  # learned to copy the first bit (10 steps per episode)
