"""Every entry of the family and strategy registries through the shared interfaces
(docs/architecture.md, "Adding a family, a strategy, an executor"): a new entry is tested
here without new test code."""

import numpy as np
import pytest

from genome.build import FAMILY_BUILDERS, build
from genome.config import FAMILIES, STRATEGY_CONFIGS, Config, EnvConfig, PolicyConfig, from_dict
from genome.nets import fileformat
from genome.policy import Policy
from genome.problems import EpisodeRequest
from genome.strategies import STRATEGIES

import tests.problems.flaky_env  # noqa: F401  (registers Frames-v0, an image environment)

#: a small environment for each family: the conv family needs image frames
ENVS = {"conv": EnvConfig(id="tests.problems.flaky_env:Frames-v0"), "conv_lstm": EnvConfig(id="tests.problems.flaky_env:Frames-v0")}


def family_config(family: str, strategy: str | None = None) -> Config:
    policy = PolicyConfig(family=family, hidden={"conv": [16], "linear": [], "binary_planes": []}.get(family, [4]), bias_bits=2, partitions=3)
    data = {"env": ENVS.get(family, EnvConfig(id="CartPole-v1")).__dict__, "policy": policy.__dict__,
            "run": {"generations": 1, "workers": 1, "target": "none"},
            "strategy": {"population": 12} if strategy is None else {"name": strategy, "population": 12}}
    return from_dict(data)


def test_every_family_has_a_builder_and_a_genome_kind():
    assert set(FAMILY_BUILDERS) == set(FAMILIES)
    assert set(FAMILIES.values()) <= {"bits", "reals"}
    assert set(STRATEGIES) == set(STRATEGY_CONFIGS)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_through_the_shared_interface(family, tmp_path):
    setup = build(family_config(family))
    fam, strategy = setup.family, setup.strategy
    assert fam.genome_kind == FAMILIES[family] and fam.n_params > 0 and fam.size_bits > 0
    state = strategy.init(0)
    members = strategy.ask(state)
    result = setup.problem.evaluate(members.genomes(0, members.count), 0, EpisodeRequest(1, 1, 0))
    assert result.returns.shape == (members.count, 1) and np.all(result.frames > 0)
    state, metrics = strategy.tell(state, members, result.fitness)
    assert state.generation == 1
    if setup.stats is not None and result.obs_sum is not None:
        fam = fam.with_stats(setup.stats)
    net = fam.decode(strategy.center(state))
    data = net.to_bytes()
    assert fileformat.read_network(data, "<memory>") == net
    obs = np.zeros((2, 36, 36), np.uint8) if family in ENVS else np.zeros(fam.n_inputs, np.float32)
    policy = Policy(net)  # carries the state of a policy with memory
    assert policy.act(obs) in (0, 1) and policy.state.shape == (fam.state_size,)


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_every_strategy_asks_and_tells_on_every_genome_kind_it_searches(strategy):
    for family in ("binary_mlp", "linear"):
        if FAMILIES[family] not in STRATEGIES[strategy].genome_kinds:
            continue
        setup = build(family_config(family, strategy))
        st = setup.strategy
        state = st.init(1)
        members = st.ask(state)
        genomes = members.genomes(0, members.count)
        assert genomes.shape == (members.count, setup.family.n_params)
        fitness = np.arange(members.count, dtype=np.float64)
        extra = st.validation(state, members, fitness)
        validation = None if extra is None else (extra[0], np.zeros(extra[0].count))
        new, metrics = st.tell(state, members, fitness, validation)
        assert new.generation == 1 and all(np.isfinite(v) for v in metrics.values())
        arrays = st.state_to_arrays(new)
        again = st.state_from_arrays(arrays)
        assert np.array_equal(st.center(again), st.center(new))
