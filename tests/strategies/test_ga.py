"""The Deep Neuroevolution GA: seed chains (cache = replay, bit for bit), truncation
selection, the validated elite, OneMax and a sphere."""

import numpy as np
import pytest

from genome import rng
from genome.strategies import GA, STRATEGIES
from genome.strategies.ga import Decoder, GAMembers


def bits_init(n):
    return lambda seed: (rng.uniforms(np.uint64(rng.make_key(np.uint64(seed), rng.INIT, 0, 0)), n) < 0.5).astype(np.uint8)


def zeros_init(n):
    return lambda seed: np.zeros(n)


def run(ga, fitness_fn, generations, seed=0):
    state = ga.init(seed)
    for _ in range(generations):
        members = ga.ask(state)
        f = fitness_fn(members.genomes())
        extra = ga.validation(state, members, f)
        validation = None
        if extra is not None:
            cand, _ = extra
            validation = (cand, fitness_fn(cand.genomes()))  # deterministic fitness: validation = fitness
        state, metrics = ga.tell(state, members, f, validation)
    return state, metrics


@pytest.mark.parametrize("kind", ["bits", "reals"])
def test_decoding_a_chain_from_scratch_matches_the_cached_path(kind):
    n = 300
    init = bits_init(n) if kind == "bits" else zeros_init(n)
    ga = GA(n, kind, init, population=12, truncation=3, elites=2, sigma=0.1, flip_prob=0.05, tag=("test", kind))
    state, _ = run(ga, lambda g: g.astype(float).sum(axis=1), 6)
    members = ga.ask(state)
    cached = members.genomes()
    fresh = Decoder(kind, init, 0.1, 0.05)
    for m in range(members.count):
        chain = members.chain(m)
        assert 1 <= chain.shape[0] <= state.generation + 1  # one seed per generation of ancestry (an elite can be older)
        assert np.array_equal(fresh.decode(chain, cache=False).astype(cached.dtype), cached[m])
    # a child is its parent plus one mutation; the elite is copied unmutated
    assert np.array_equal(cached[0], ga.center(state))
    for m in range(1, members.count):
        assert np.array_equal(members.chain(m)[:-1], members.parents[members.parent[m]])


def test_onemax_is_solved_with_bit_flips():
    n = 64
    ga = GA(n, "bits", bits_init(n), population=40, truncation=8, elites=3, flip_prob=1 / n)
    state, metrics = run(ga, lambda g: g.sum(axis=1).astype(float), 80)
    assert ga.center(state).sum() == n and metrics["ga/elite_validation_mean"] == n


def test_sphere_is_climbed_with_gaussian_mutations():
    c = np.linspace(-1, 1, 10)
    ga = GA(10, "reals", zeros_init(10), population=40, truncation=6, elites=3, sigma=0.05)
    state, _ = run(ga, lambda g: -((g - c) ** 2).sum(axis=1), 80)
    assert np.linalg.norm(ga.center(state) - c) < 0.2 * np.linalg.norm(c)


def test_selection_and_the_elite():
    n = 20
    ga = GA(n, "reals", zeros_init(n), population=10, truncation=3, elites=2, sigma=0.1)
    state = ga.init(5)
    members = ga.ask(state)
    assert (members.parent == -1).all() and members.wire_bytes() == 10 * 12  # no parents yet
    f = np.array([3.0, np.nan, 9.0, 1.0, 9.0, 0.0, 2.0, 8.0, 5.0, 4.0])
    cand, request = ga.validation(state, members, f)
    assert request.episodes == 30 and request.purpose == rng.VALIDATE and request.generation == 0 and not request.stratified
    assert list(cand.seeds) == list(members.seeds[[2, 4]])  # ties by index; no elite yet
    state2, _ = ga.tell(state, members, f, (cand, np.array([7.0, 7.5])))
    assert np.array_equal(state2.elite, members.chain(4))  # best by validation, not by training fitness
    assert [list(c) for c in state2.parents] == [list(members.chain(m)) for m in (2, 4, 7)]
    nxt = ga.ask(state2)
    assert not nxt.mutated[0] and np.array_equal(nxt.chain(0), state2.elite)
    assert set(nxt.parent) <= set(range(len(nxt.parents))) and len(nxt.parents) == 3  # the elite is among the parents
    # the current elite is candidate 0, and keeps its place on a tie
    f2 = np.arange(10.0)
    cand2, _ = ga.validation(state2, nxt, f2)
    assert np.array_equal(cand2.chain(0), state2.elite)
    state3, _ = ga.tell(state2, nxt, f2, (cand2, np.array([7.5, 7.5, 1.0])))
    assert np.array_equal(state3.elite, state2.elite)
    again = ga.state_from_arrays(ga.state_to_arrays(state3))
    assert again.generation == 2 and np.array_equal(again.elite, state3.elite)
    assert all(np.array_equal(a, b) for a, b in zip(again.parents, state3.parents))


def test_the_wire_carries_chains_and_pairs_not_weights():
    n = 100_000  # a big network: the description stays a few hundred bytes
    ga = GA(n, "reals", zeros_init(n), population=50, truncation=5, elites=2, sigma=0.01)
    state, _ = run(ga, lambda g: -np.abs(g).sum(axis=1), 3)
    members = ga.ask(state)
    assert isinstance(members, GAMembers) and members.wire_bytes() < 2000 < n
    assert STRATEGIES["ga"] is GA and GA.genome_kinds == ("bits", "reals")


def test_elite_running_mean_pools_the_elites_validation_episodes():
    """With elite_running_mean the elite's score is the mean of all its validation episodes,
    ``(n s + V v) / (n + V)``: one bad sample no longer costs it its place."""
    n = 20
    f = np.arange(10.0)
    for pooled in (False, True):
        ga = GA(n, "reals", zeros_init(n), population=10, truncation=3, elites=2, sigma=0.1,
                validation_episodes=10, elite_running_mean=pooled)
        state = ga.init(1)
        members = ga.ask(state)
        cand, _ = ga.validation(state, members, f)
        state, _ = ga.tell(state, members, f, (cand, np.array([900.0, 100.0])))  # the elite: 900 on 10 episodes
        assert state.elite_score == 900.0 and state.elite_episodes == 10
        elite = state.elite
        nxt = ga.ask(state)
        cand, _ = ga.validation(state, nxt, f)
        state, metrics = ga.tell(state, nxt, f, (cand, np.array([300.0, 500.0, 200.0])))  # an unlucky sample of the elite
        if pooled:  # (10 * 900 + 10 * 300) / 20 = 600 > 500: kept, now on 20 episodes
            assert np.array_equal(state.elite, elite) and state.elite_score == 600.0 and state.elite_episodes == 20
            assert metrics["ga/elite_validation_mean"] == 600.0
            again = ga.state_from_arrays(ga.state_to_arrays(state))
            assert again.elite_episodes == 20 and again.elite_score == 600.0
            older = {k: v for k, v in ga.state_to_arrays(state).items() if k != "elite_episodes"}  # a checkpoint from before the option
            assert ga.state_from_arrays(older).elite_episodes == 0
        else:  # the paper's rule: this generation's sample only, 300 < 500
            assert np.array_equal(state.elite, cand.chain(1)) and state.elite_score == 500.0 and state.elite_episodes == 10
    # a newcomer starts a fresh count
    ga = GA(n, "reals", zeros_init(n), population=10, truncation=3, elites=2, validation_episodes=10, elite_running_mean=True)
    state = ga.init(1)
    members = ga.ask(state)
    cand, _ = ga.validation(state, members, f)
    state, _ = ga.tell(state, members, f, (cand, np.array([100.0, 50.0])))
    nxt = ga.ask(state)
    cand, _ = ga.validation(state, nxt, f)
    state, _ = ga.tell(state, nxt, f, (cand, np.array([100.0, 300.0, 200.0])))
    assert np.array_equal(state.elite, cand.chain(1)) and state.elite_episodes == 10 and state.elite_score == 300.0
