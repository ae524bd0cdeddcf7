import numba
import numpy as np
import pytest

import genome
from genome.evaluate import episode_returns
from genome.errors import ConfigError


def test_cartpole_preset_solves_and_the_policy_passes_an_independent_check():
    result = genome.train("cartpole", seed=0)
    s = result.summary
    assert s["solved"] and s["eval_mean"] >= 475 and s["stop_reason"] == "solved"
    assert s["frames"] > 0 and s["generations"] > 0
    returns = episode_returns(genome.Policy(result.policy, "CartPole-v1"), "CartPole-v1", 20, seed=99, backend="gymnasium")
    assert returns.mean() >= 475


def test_same_seed_same_bits_and_thread_count_does_not_matter():
    kw = dict(seed=3, generations=4, target="none", center_episodes=2, eval_episodes=3)
    a = genome.train("cartpole", **kw)
    b = genome.train("cartpole", **kw)
    before = numba.get_num_threads()
    try:
        c = genome.train("cartpole", threads=1, **kw)
    finally:
        numba.set_num_threads(before)
    assert a.policy.to_bytes() == b.policy.to_bytes() == c.policy.to_bytes()
    assert [h["fitness/mean"] for h in a.history] == [h["fitness/mean"] for h in c.history]
    d = genome.train("cartpole", **dict(kw, seed=4))
    assert d.policy.to_bytes() != a.policy.to_bytes()


def test_budgets_stop_the_run():
    r = genome.train("cartpole", generations=2, target="none", eval_episodes=2)
    assert r.summary["generations"] == 2 and r.summary["stop_reason"] == "generations" and not r.summary["solved"]
    r = genome.train("cartpole", generations=0, max_frames=1, target="none", eval_episodes=2)
    assert r.summary["generations"] == 1 and r.summary["stop_reason"] == "max_frames"


def test_the_stopping_test_can_demand_a_margin_in_standard_errors():
    # a random start policy already averages >= 5 on CartPole, with spread between episodes
    kw = dict(generations=3, target=5.0, eval_episodes=20, center_episodes=2)
    plain = genome.train("cartpole", **kw)
    assert plain.summary["solved"] and plain.summary["generations"] == 1
    strict = genome.train("cartpole", target_se=1e9, **kw)  # a test with any spread cannot pass
    assert not strict.summary["solved"] and strict.summary["stop_reason"] == "generations"


@pytest.mark.parametrize("name", ["acrobot", "mountaincar", "mountaincar-continuous", "pendulum"])
def test_every_native_preset_builds_and_runs_a_generation(name):
    # one test per preset: each compiles its environment's rollout, and the test workers share them out
    r = genome.train(name, generations=1, target="none", eval_episodes=2, center_episodes=1, population=8)
    assert r.summary["generations"] == 1
    assert np.isfinite(r.summary["eval_mean"])


def test_api_errors():
    with pytest.raises(ConfigError, match="unknown override"):
        genome.train("cartpole", sed=1)
    with pytest.raises(ConfigError, match="unknown preset or environment 'NoSuchEnv-v0'"):
        genome.train("NoSuchEnv-v0", generations=1)


@pytest.mark.parametrize("seed,generations,frames,digest", [
    # measured with the code before real-valued families existed (commit 9605686): the
    # redesign must leave binary NES runs exactly as they were
    (0, 36, 1010351, "ce4f5648a01789e2"),
    (1, 35, 733534, "08fd2c1f26e0388c"),
])
def test_binary_cartpole_runs_are_unchanged(seed, generations, frames, digest):
    import hashlib

    r = genome.train("cartpole", seed=seed)
    w, b = r.policy.to_dense()
    h = hashlib.sha256(b"".join(x.tobytes() for x in w) + b"".join(x.astype(np.int64).tobytes() for x in b)).hexdigest()
    assert (r.summary["generations"], r.summary["frames"], h[:16]) == (generations, frames, digest)


def test_a_slow_first_generation_says_the_kernels_are_compiling(monkeypatch):
    import io
    import time

    from genome import trainer as trainer_mod
    from genome.config import Config, RunConfig
    from genome.runlog import Progress

    monkeypatch.setattr(trainer_mod, "COMPILE_NOTICE_AFTER", 0.05)
    out = io.StringIO()
    t = trainer_mod.Trainer(Config(run=RunConfig(generations=2, target="none", eval_episodes=2, center_episodes=1)), progress=Progress("plain", stream=out, every=100))
    evaluate = t.executor.evaluate

    def slow(*args):  # as if numba were compiling
        time.sleep(0.5)
        return evaluate(*args)

    t.executor.evaluate = slow
    t.run()
    t.close()
    assert out.getvalue().count("compiling the CartPole-v1 rollout for the binary_mlp family (first run only") == 1
