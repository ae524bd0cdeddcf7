"""Chromatic, masked and binary chromatic families and their REINFORCE controller."""

import json
import subprocess
import sys

import genome
import numpy as np
import pytest

from genome.build import build
from genome.config import BernoulliNESConfig, Config, EnvConfig, GAConfig, OpenAIESConfig, PolicyConfig, RunConfig
from genome.errors import ConfigError
from genome.strategies.controller import ControlledStrategy, sample_choices, softmax
from genome.strategies.openai_es import OpenAIES
from tests.resume import assert_resume_is_byte_identical

GYM_CARTPOLE = EnvConfig(id="CartPole-v1", kwargs={"sutton_barto_reward": False})


def cfg(family="chromatic", hidden=(), env=EnvConfig(id="CartPole-v1"), generations=3, controller="reinforce", **run):
    strategy = BernoulliNESConfig(population=8) if family == "binary_chromatic" else OpenAIESConfig(population=8, sigma=0.1, lr=0.05)
    return Config(env=env, policy=PolicyConfig(family=family, hidden=list(hidden), partitions=3, controller=controller, controller_lr=0.5),
                  strategy=strategy, run=RunConfig(**{"generations": generations, "target": "none", "eval_episodes": 3, "center_episodes": 2,
                                                      "workers": 1, **run}))


@pytest.mark.parametrize("family, hidden", [("chromatic", ()), ("chromatic", (4,)), ("masked", (4,)), ("binary_chromatic", (8,))])
def test_members_expand_to_their_base_networks(family, hidden):
    setup = build(cfg(family, hidden))
    fam, strat = setup.family, setup.strategy
    members = strat.ask(strat.init(5))
    g = members.genomes()
    assert g.shape == (8, fam.n_params + fam.n_edges)
    base = fam.expand(g)
    choices = g[:, fam.n_params :].astype(int)
    assert choices.max() < fam.n_choices
    for m in range(8):
        if family == "masked":
            np.testing.assert_array_equal(base[m, : fam.n_edges], np.float32(g[m, : fam.n_edges] * choices[m]))
        else:
            np.testing.assert_array_equal(base[m, : fam.n_edges], g[m, choices[m]])
        np.testing.assert_array_equal(base[m, fam.n_edges :], g[m, fam.n_shared : fam.n_params])
    # a chunk regenerates the same members
    np.testing.assert_array_equal(members.genomes(3, 6), g[3:6])


def test_sampled_choices_follow_the_controller_probabilities():
    logits = np.log(np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]))
    out = np.empty((20000, 2), dtype=np.int64)
    sample_choices(softmax(logits), np.uint64(3), 0, 0, out)
    for e, p in enumerate(softmax(logits)):
        freq = np.bincount(out[:, e], minlength=3) / out.shape[0]
        np.testing.assert_allclose(freq, p, atol=0.015)


def test_reinforce_step_matches_the_formula():
    inner = OpenAIES(2, population=4, sigma=0.1, lr=0.01)
    strat = ControlledStrategy(inner, n_edges=3, n_choices=2, lr=0.3, entropy=0.05, decay=0.5)
    state = strat.init(1)
    members = strat.ask(state)
    fitness = np.array([1.0, 3.0, np.nan, 2.0])
    new, _ = strat.tell(state, members, fitness)
    # by hand: failed member out; first step's baseline is the mean
    c = members.choices()[[0, 1, 3]]
    r = fitness[[0, 1, 3]]
    adv = (r - r.mean()) / r.std()
    p = softmax(state.logits)
    grad = np.zeros_like(p)
    for a, cm in zip(adv, c):
        onehot = np.zeros_like(p)
        onehot[np.arange(3), cm] = 1
        grad += a * (onehot - p)
    grad /= 3
    logp = np.log(p)
    h = -(p * logp).sum(axis=1, keepdims=True)
    grad += 0.05 * (-p * (logp + h))
    np.testing.assert_allclose(new.logits, state.logits + 0.3 * grad, rtol=1e-12)
    assert new.baseline == pytest.approx(r.mean())


def test_the_controller_learns_a_rewarded_choice():
    # fitness = how many edges chose color 2: the most likely coloring must become all 2s
    strat = ControlledStrategy(OpenAIES(2, population=20, sigma=0.1, lr=0.01), n_edges=10, n_choices=4, lr=1.0)
    state = strat.init(0)
    for _ in range(60):
        members = strat.ask(state)
        state, metrics = strat.tell(state, members, (members.choices() == 2).sum(axis=1).astype(float))
    assert (strat.best_choices(state) == 2).all()
    assert metrics["controller/max_prob_mean"] > 0.5


def test_frozen_controller_is_one_fixed_random_partition():
    strat = build(cfg(controller="frozen")).strategy
    state = strat.init(0)
    a = strat.ask(state).choices()
    assert (a == a[0]).all() and np.unique(a[0]).size > 1
    state2, _ = strat.tell(state, strat.ask(state), np.arange(8.0))
    np.testing.assert_array_equal(state2.logits, state.logits)


def test_controller_init_favours_the_frozen_random_coloring():
    inner = OpenAIES(2, population=4, sigma=0.1, lr=0.01)
    frozen = ControlledStrategy(inner, n_edges=50, n_choices=5, controller="frozen")
    favoured = ControlledStrategy(inner, n_edges=50, n_choices=5, init=2.0)
    state = favoured.init(3)
    np.testing.assert_array_equal(favoured.best_choices(state), frozen.best_choices(frozen.init(3)))
    p = softmax(state.logits).max(axis=1)
    np.testing.assert_allclose(p, np.e**2 / (np.e**2 + 4), atol=0.01)  # initial logits are N(0, 0.01^2)
    with pytest.raises(ConfigError, match="controller_init"):
        ControlledStrategy(inner, 50, 5, init=-1.0)


def test_alternate_schedule_trains_one_part_per_phase():
    strat = ControlledStrategy(OpenAIES(3, population=4, sigma=0.1, lr=0.1), n_edges=3, n_choices=2, lr=1.0, schedule="alternate", period=1)
    s0 = strat.init(0)
    s1, _ = strat.tell(s0, strat.ask(s0), np.arange(4.0))  # phase: weights
    assert not np.array_equal(s1.inner.theta, s0.inner.theta) and np.array_equal(s1.logits, s0.logits)
    s2, _ = strat.tell(s1, strat.ask(s1), np.arange(4.0))  # phase: controller
    assert np.array_equal(s2.inner.theta, s1.inner.theta) and not np.array_equal(s2.logits, s1.logits)


@pytest.mark.parametrize("family, hidden", [("chromatic", ()), ("masked", (4,)), ("binary_chromatic", (8,))])
def test_families_train_on_native_and_gymnasium_cartpole(family, hidden, tmp_path):
    native = genome.train(cfg(family, hidden), run_dir=tmp_path / "native")
    gym = genome.train(cfg(family, hidden, env=GYM_CARTPOLE, workers=2))
    assert gym.summary["weight_params"] >= 1 and gym.policy.act_obs(np.zeros(4, np.float32)) in (0, 1)
    # the saved policy is the expanded base network: it acts on raw observations
    assert native.policy.act_obs(np.zeros(4, np.float32)) in (0, 1)
    s = native.summary
    assert s["family"] == family and s["weight_params"] >= 1 and s["storage_bits"] > 0
    arch = np.load(tmp_path / "native" / "architecture.npz", allow_pickle=False)
    assert arch["layer_0"].shape[0] == (2 if not hidden else hidden[0])


def test_chromatic_resume_is_byte_identical(tmp_path):
    assert_resume_is_byte_identical(cfg("chromatic", (4,), generations=6, checkpoint_every=3), tmp_path, first=3)
    assert (tmp_path / "part" / "architecture.npz").read_bytes() == (tmp_path / "whole" / "architecture.npz").read_bytes()


def test_report_prints_the_papers_table_and_plots(tmp_path):
    genome.train(cfg("chromatic", (4,)), run_dir=tmp_path / "chrom")
    genome.train(cfg("masked", (4,)), run_dir=tmp_path / "mask")
    out = subprocess.run([sys.executable, "-m", "genome.cli", "report", str(tmp_path / "chrom"), str(tmp_path / "mask"), "--json",
                          "--plot", str(tmp_path / "c.png")], capture_output=True, text=True, check=True).stdout
    rows = json.loads(out.splitlines()[0])
    assert [r["family"] for r in rows] == ["chromatic", "masked"]
    assert rows[0]["architecture"] == "H4" and rows[0]["partitions"] == 3 and rows[0]["weight_params"] <= 3
    assert 0 < rows[0]["compression"] < 1
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = subprocess.run([sys.executable, "-m", "genome.cli", "report", str(tmp_path / "nothing")], capture_output=True, text=True)
    assert bad.returncode == 2 and "not a finished genome run" in bad.stderr


def test_chromatic_with_the_ga_is_a_clear_error():
    with pytest.raises(ConfigError, match="not ga"):
        build(cfg().replace(strategy=GAConfig()))
