"""OpenAI-ES against its formulas (Salimans et al. 2017 / evolution-strategies-starter) and a sphere."""

import numba
import numpy as np
import pytest

from genome import rng
from genome.errors import ConfigError
from genome.strategies import STRATEGIES, OpenAIES
from genome.strategies.openai_es import weighted_noise_sum
from genome.strategies.shaping import centered_ranks


def eps(seed, generation, pair, n):
    return rng.normals(np.uint64(rng.make_key(seed, rng.SAMPLE, generation, pair)), n)


def test_random_normal_is_standard_normal():
    z = rng.normals(np.uint64(rng.make_key(1, rng.SAMPLE, 0, 0)), 200_000)
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01 and np.all(np.isfinite(z))
    assert abs(np.mean(z**4) - 3) < 0.1  # kurtosis of a normal


def test_members_are_antithetic_pairs_from_the_counter_generator():
    es = OpenAIES(6, population=8, sigma=0.5, initial=lambda seed: np.arange(6, dtype=float))
    state = es.init(3)
    members = es.ask(state)
    g = members.genomes()
    assert g.dtype == np.float32 and g.shape == (8, 6)
    for pair in range(4):
        e = eps(3, 0, pair, 6)
        np.testing.assert_array_equal(g[2 * pair], (state.theta + 0.5 * e).astype(np.float32))
        np.testing.assert_array_equal(g[2 * pair + 1], (state.theta - 0.5 * e).astype(np.float32))
    np.testing.assert_array_equal(members.genomes(3, 7), g[3:7])  # any split regenerates the same members


def test_first_update_follows_the_starter_formulas():
    n, pop, sigma, lr, l2 = 5, 6, 0.1, 0.03, 0.01
    es = OpenAIES(n, population=pop, sigma=sigma, lr=lr, l2=l2, initial=lambda seed: np.linspace(-1, 1, n))
    state = es.init(0)
    members = es.ask(state)
    fitness = np.array([3.0, 1.0, np.nan, 2.0, 5.0, 4.0])
    new, _ = es.tell(state, members, fitness)
    f = centered_ranks(fitness)  # NaN ranks last
    assert f[2] == -0.5
    g = sum((f[2 * i] - f[2 * i + 1]) * eps(0, 0, i, n) for i in range(pop // 2)) / pop
    grad = -g + l2 * state.theta
    m = 0.1 * grad
    v = 0.001 * grad * grad
    a = lr * np.sqrt(1 - 0.999) / (1 - 0.9)
    np.testing.assert_allclose(new.theta, state.theta - a * m / (np.sqrt(v) + 1e-8), rtol=1e-12, atol=1e-15)
    assert new.generation == 1 and new.t == 1


def test_sgd_momentum_update():
    es = OpenAIES(4, population=4, sigma=0.2, lr=0.5, optimizer="sgd", momentum=0.8, l2=0.0)
    state = es.init(1)
    members = es.ask(state)
    new, _ = es.tell(state, members, np.array([1.0, 0.0, 0.0, 1.0]))
    f = centered_ranks(np.array([1.0, 0.0, 0.0, 1.0]))
    g = ((f[0] - f[1]) * eps(1, 0, 0, 4) + (f[2] - f[3]) * eps(1, 0, 1, 4)) / 4
    np.testing.assert_allclose(new.theta, -0.5 * (0.2 * -g), rtol=1e-12)


def test_noise_sum_does_not_depend_on_the_thread_count():
    w = np.random.default_rng(0).normal(size=50)
    out = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(threads)
        o = np.empty(3000)
        weighted_noise_sum(w, 7, 2, o)
        out.append(o)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert np.array_equal(out[0], out[1])


@pytest.mark.parametrize("orthogonal", [False, True])
def test_sphere_is_climbed(orthogonal):
    """Maximize -|x - c|^2 from 0: the distance to c shrinks by an order of magnitude (with
    Gaussian and with orthogonal directions)."""
    c = np.linspace(-2, 2, 20)
    es = OpenAIES(20, population=40, sigma=0.1, lr=0.1, l2=0.0, orthogonal=orthogonal)
    state = es.init(0)
    for _ in range(150):
        members = es.ask(state)
        x = members.genomes().astype(np.float64)
        state, metrics = es.tell(state, members, -((x - c) ** 2).sum(axis=1))
    assert np.linalg.norm(es.center(state) - c) < 0.1 * np.linalg.norm(c)
    assert set(metrics) >= {"search/grad_norm", "search/update_ratio"}


def test_state_round_trip_and_validation():
    es = OpenAIES(10, population=4)
    state, _ = es.tell(es.init(0), es.ask(es.init(0)), np.arange(4.0))
    again = es.state_from_arrays(es.state_to_arrays(state))
    assert all(np.array_equal(getattr(again, k), getattr(state, k)) for k in ("theta", "m", "v")) and again.t == 1
    with pytest.raises(ValueError, match="parameters"):
        OpenAIES(11, population=4).state_from_arrays(es.state_to_arrays(state))
    with pytest.raises(ValueError, match="fitness values"):
        es.tell(state, es.ask(state), np.zeros(3))
    for bad in ({"population": 5}, {"sigma": 0.0}, {"optimizer": "rmsprop"}):
        with pytest.raises(ConfigError):
            OpenAIES(10, **bad)


def test_registry_names_every_strategy():
    assert STRATEGIES["openai_es"] is OpenAIES and OpenAIES.genome_kinds == ("reals",)
    assert STRATEGIES["bernoulli_nes"].genome_kinds == ("bits",)


def test_ars_v2_t_is_a_configuration():
    """Mania et al. 2018, Algorithm 2 (V2-t): top b directions by max(r+, r-), raw returns,
    step divided by the std of the 2b returns used; theta += alpha/(b sigma_R) sum (r+ - r-) delta."""
    n, N, b, alpha, nu = 7, 5, 2, 0.02, 0.03
    es = OpenAIES(n, population=2 * N, sigma=nu, lr=2 * alpha, optimizer="sgd", momentum=0.0, l2=0.0,
                  shaping="none", top_directions=b, normalize_step=True)
    state = es.init(4)
    members = es.ask(state)
    r = np.array([1.0, 5.0, 9.0, 2.0, 3.0, 3.5, 0.0, 8.5, 4.0, 4.0])
    new, _ = es.tell(state, members, r)
    top = [1, 3]  # max(r+, r-) per pair: 5, 9, 3.5, 8.5, 4 -> pairs 1 and 3
    used = np.concatenate([r[[2 * k, 2 * k + 1]] for k in top])
    step = alpha / (b * used.std()) * sum((r[2 * k] - r[2 * k + 1]) * eps(4, 0, k, n) for k in top)
    np.testing.assert_allclose(new.theta, step, rtol=1e-12, atol=1e-15)


def test_orthogonal_directions_keep_their_gaussian_lengths_and_never_overlap_in_a_block():
    """Choromanski et al. 2018: Gram-Schmidt in pair order, blocks of n_params rows, each row
    rescaled to the length of its Gaussian draw."""
    from genome.strategies.openai_es import directions

    n, n_pairs = 6, 9  # blocks of 6 rows and 3 rows
    d = directions(5, 2, n_pairs, n)
    gauss = np.stack([eps(5, 2, i, n) for i in range(n_pairs)])
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), np.linalg.norm(gauss, axis=1), rtol=1e-12)
    for block in (slice(0, 6), slice(6, 9)):
        b = d[block] / np.linalg.norm(d[block], axis=1, keepdims=True)
        np.testing.assert_allclose(b @ b.T, np.eye(b.shape[0]), atol=1e-10)
        # Gram-Schmidt: row k lies in the span of the block's first k+1 Gaussian draws
        q, _ = np.linalg.qr(gauss[block].T)
        np.testing.assert_allclose(np.abs(b @ q), np.eye(b.shape[0]), atol=1e-8)
    assert abs(float(d[0] @ d[6])) > 1e-6  # different blocks are drawn independently


def test_orthogonal_members_and_update_use_the_same_directions():
    from genome.strategies.openai_es import directions

    n, N, b = 5, 4, 2
    es = OpenAIES(n, population=2 * N, sigma=0.1, lr=0.2, optimizer="sgd", momentum=0.0, l2=0.0,
                  shaping="none", top_directions=b, normalize_step=True, orthogonal=True)
    state = es.init(7)
    members = es.ask(state)
    g = members.genomes()
    d = directions(7, 0, N, n)
    for pair in range(N):
        np.testing.assert_array_equal(g[2 * pair], (state.theta + 0.1 * d[pair]).astype(np.float32))
        np.testing.assert_array_equal(g[2 * pair + 1], (state.theta - 0.1 * d[pair]).astype(np.float32))
    np.testing.assert_array_equal(members.genomes(3, 6), g[3:6])
    r = np.array([1.0, 5.0, 9.0, 2.0, 3.0, 3.5, 0.0, 8.5])
    new, _ = es.tell(state, members, r)
    top = [1, 3]
    used = np.concatenate([r[[2 * k, 2 * k + 1]] for k in top])
    step = 0.1 / (b * used.std()) * sum((r[2 * k] - r[2 * k + 1]) * d[k] for k in top)
    np.testing.assert_allclose(new.theta, step, rtol=1e-12, atol=1e-15)


def test_sigma_and_lr_decay_schedules():
    """Generation g uses max(sigma sigma_decay^g, sigma_min) for its members and
    max(lr lr_decay^g, lr_min) for its SGD step."""
    n = 5
    es = OpenAIES(n, population=4, sigma=0.1, lr=0.08, optimizer="sgd", momentum=0.0, l2=0.0, shaping="none",
                  sigma_decay=0.9, sigma_min=0.05, lr_decay=0.5, lr_min=0.03)
    assert [round(es.sigma_at(g), 12) for g in (0, 1, 2, 10)] == [0.1, 0.09, 0.081, 0.05]
    assert [round(es.lr_at(g), 12) for g in (0, 1, 2, 10)] == [0.08, 0.04, 0.03, 0.03]
    state = es.init(2)
    r = np.array([3.0, 1.0, 0.5, 2.0])
    for g in range(3):
        members = es.ask(state)
        assert members.sigma == pytest.approx(es.sigma_at(g))
        new, metrics = es.tell(state, members, r)
        expected = es.lr_at(g) / 4 * ((r[0] - r[1]) * eps(2, g, 0, n) + (r[2] - r[3]) * eps(2, g, 1, n))
        np.testing.assert_allclose(new.theta - state.theta, expected, rtol=1e-12, atol=1e-15)
        assert metrics["search/lr"] == es.lr_at(g)
        state = new
    with pytest.raises(ConfigError, match="lr_decay"):
        OpenAIES(n, lr_decay=1.5)
