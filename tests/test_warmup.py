import subprocess
import sys

import numba
import numpy as np
import pytest
from numba.core import event

from genome import build as build_mod
from genome import warmup
from genome.build import build
from genome.config import RunConfig, load_preset, to_toml


def _kernel_types(setup):
    """numba types of what the fused binary rollout receives from the encoder and head."""
    enc = setup.family.encoder
    bit_offsets, chunk_starts, edge_counts, edges, onehot = enc.kernel_tables()
    tables = (tuple(int(v) for v in bit_offsets), tuple(int(v) for v in chunk_starts), tuple(int(v) for v in edge_counts), edges, onehot)
    return numba.typeof(tables), numba.typeof(setup.family.head.arrays()), setup.family.layout.sizes


@pytest.mark.parametrize("preset", ["cartpole", "acrobot", "mountaincar", "mountaincar-continuous", "pendulum"])
def test_the_stand_in_problem_gives_the_rollout_the_same_argument_types(preset, monkeypatch):
    """compile_ahead compiles the rollout for a stand-in whose encoder saw zero observations;
    the run's encoder sees random-policy ones. The kernel is specialized on the types, so
    they must agree, or the run would compile a second rollout."""
    cfg = load_preset(preset)

    def observations(env, seed, purpose, n_obs, out):
        out[:] = np.random.default_rng(seed).normal(size=out.shape) * 3.0  # values differ, shapes do not

    monkeypatch.setattr(build_mod, "random_observations", observations)
    stand_in, real = build(cfg, observe=False), build(cfg)
    assert _kernel_types(stand_in) == _kernel_types(real)
    if preset == "cartpole":  # its velocities are unbounded: edges from the observations, so values differ
        assert not np.array_equal(stand_in.family.encoder.kernel_tables()[3], real.family.encoder.kernel_tables()[3])


def test_first_compile_listener_fires_once_and_only_for_a_compilation():
    calls = []
    listener = warmup._FirstCompile(lambda: calls.append(1))

    @numba.njit
    def add_one(x):
        return x + 1

    add_one(1)  # compiled before the listener is installed
    with event.install_listener("numba:compile", listener):
        add_one(2)  # already compiled: no event
        assert calls == []
        add_one(2.5)  # a new specialization compiles
        add_one(np.float32(1))  # and another: the action still ran once
    assert calls == [1]


def test_compile_ahead_starts_no_helper_when_the_rollout_is_compiled():
    from genome import rng
    from genome.problems import EpisodeRequest

    cfg = load_preset("cartpole")
    setup = build(cfg)  # this process runs the rollout once, so it is compiled (or loaded)
    setup.problem.evaluate(setup.strategy.ask(setup.strategy.init(0)).genomes(0, 2), 0, EpisodeRequest(1, rng.START, 0))
    notices = []
    assert warmup.compile_ahead(cfg, notices.append) is None
    assert notices == []


def test_compile_ahead_skips_gymnasium_environments_and_process_executors():
    gym_cfg = load_preset("lunarlander")
    assert warmup.compile_ahead(gym_cfg) is None
    procs = load_preset("cartpole")
    procs = procs.replace(run=RunConfig(executor="processes"))
    assert warmup.compile_ahead(procs) is None


@pytest.mark.parametrize("preset", ["cartpole", "cartpole-es"])
def test_the_helper_process_runs_a_generation_without_rollouts_and_removes_its_config(preset, tmp_path):
    cfg = load_preset(preset)
    path = tmp_path / "run.toml"
    path.write_text(to_toml(cfg))
    done = subprocess.run([sys.executable, "-m", "genome.warmup", str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert not path.exists()


@pytest.mark.parametrize("family, hidden", [("chromatic", ()), ("masked", (4,)), ("binary_chromatic", (8,)), ("toeplitz", (8,))])
def test_compile_ahead_handles_every_family(family, hidden):
    from genome.config import default_strategy, from_dict

    cfg = from_dict({"env": {"id": "CartPole-v1"}, "policy": {"family": family, "hidden": list(hidden)},
                     "strategy": {"name": default_strategy(family), "population": 4}})
    helper = warmup.compile_ahead(cfg)  # may compile (a new network shape) and start the helper
    if helper is not None:
        assert helper.wait(timeout=300) == 0


def test_the_switch_turns_compile_ahead_off(monkeypatch):
    monkeypatch.delenv(warmup.SWITCH, raising=False)
    assert warmup.enabled()
    monkeypatch.setenv(warmup.SWITCH, "0")
    assert not warmup.enabled()
    monkeypatch.setenv(warmup.SWITCH, "1")
    assert warmup.enabled()
