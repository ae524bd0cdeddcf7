import numpy as np
import pytest

from genome.strategies import BernoulliNES, FixedMembers
from genome.strategies.bernoulli_nes import BernoulliMembers, sigmoid
from genome.strategies.shaping import centered_ranks


def test_mirrored_pairs_are_complementary_at_half():
    members = BernoulliMembers(np.full(1000, 0.5), seed=1, generation=0, count=8)
    x = members.genomes()
    for m in range(0, 8, 2):
        assert np.array_equal(x[m + 1], 1 - x[m])


def test_bits_follow_their_probabilities():
    p = np.linspace(0.05, 0.95, 19)
    x = BernoulliMembers(p, seed=3, generation=7, count=20000).genomes()
    np.testing.assert_allclose(x.mean(axis=0), p, atol=0.015)


def test_any_member_range_regenerates_the_same_genomes():
    p = np.random.default_rng(0).uniform(size=300)
    full = BernoulliMembers(p, 5, 2, 64).genomes()
    again = BernoulliMembers(p, 5, 2, 64)
    parts = np.concatenate([again.genomes(0, 7), again.genomes(7, 40), again.genomes(40, 64)])
    assert np.array_equal(full, parts)
    assert not np.array_equal(full, BernoulliMembers(p, 5, 3, 64).genomes())  # generation matters
    assert not np.array_equal(full, BernoulliMembers(p, 6, 2, 64).genomes())  # seed matters


def reference_update(theta, x, fitness, lr, eps, theta_max, entropy=0.0):
    """The Bernoulli NES update (README, "How it works") written with explicit loops."""
    p = 1 / (1 + np.exp(-theta))
    f = centered_ranks(fitness)
    n, d = x.shape
    g = np.zeros(d)
    for k in range(n):
        g += f[k] * (x[k] - p)
    g = g / n / (p * (1 - p) + eps)
    return np.clip(theta + lr * (g - entropy * theta), -theta_max, theta_max)


@pytest.mark.parametrize("entropy", [0.0, 0.05])
def test_tell_matches_the_reference_update(entropy):
    rng = np.random.default_rng(0)
    es = BernoulliNES(50, population=16, lr=2.0, eps=0.1, theta_max=3.0, entropy=entropy)
    state = es.init(seed=0)
    state = state.__class__(theta=rng.normal(size=50), generation=4, seed=0)
    members = es.ask(state)
    fitness = rng.normal(size=16)
    new, metrics = es.tell(state, members, fitness)
    expected = reference_update(state.theta, members.genomes(), fitness, 2.0, 0.1, 3.0, entropy)
    np.testing.assert_allclose(new.theta, expected, rtol=1e-6, atol=1e-9)
    assert new.generation == 5
    assert np.all(np.abs(new.theta) <= 3.0)
    assert 0 <= metrics["search/entropy_bits_mean"] <= 1


def test_solves_onemax():
    """Maximize the number of ones: the center must become (almost) all ones."""
    es = BernoulliNES(200, population=64, lr=1.0, eps=0.1, theta_max=3.0)
    state = es.init(seed=1)
    for _ in range(60):
        members = es.ask(state)
        state, _ = es.tell(state, members, members.genomes().sum(axis=1).astype(float))
    assert es.center(state).sum() >= 195
    assert sigmoid(state.theta).min() >= sigmoid(-3.0) - 1e-12  # the floor holds


def test_state_round_trip_and_validation():
    es = BernoulliNES(10, population=4)
    state = es.init(seed=9)
    again = es.state_from_arrays(es.state_to_arrays(state))
    assert np.array_equal(again.theta, state.theta) and again.generation == state.generation and again.seed == 9
    with pytest.raises(ValueError, match="10"):
        BernoulliNES(11, population=4).state_from_arrays(es.state_to_arrays(state))
    with pytest.raises(ValueError, match="population"):
        BernoulliNES(10, population=1)
    with pytest.raises(ValueError, match="fitness"):
        es.tell(state, es.ask(state), np.zeros(3))


def test_fixed_members():
    g = np.arange(12, dtype=np.uint8).reshape(3, 4)
    m = FixedMembers(g)
    assert m.count == 3 and np.array_equal(m.genomes(1, 3), g[1:3])
