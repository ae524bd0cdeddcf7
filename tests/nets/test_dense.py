"""Real-valued layers: index maps against their definitions, the forward kernel against numpy."""

import numpy as np
import pytest

from genome.errors import ConfigError
from genome.nets.dense import DenseStructure, dense_forward, dense_forward_indexed, normalize_into, structure


def reference_matrix(kind, t, n_out, n_in):
    W = np.empty((n_out, n_in), np.float32)
    for i in range(n_out):
        for j in range(n_in):
            if kind == "dense":
                W[i, j] = t[i * n_in + j]
            elif kind == "toeplitz":
                W[i, j] = t[i - j + n_in - 1]  # constant along diagonals
            else:
                W[i, j] = t[(i - j) % max(n_in, n_out)]  # top-left block of a circulant
    return W


@pytest.mark.parametrize("kind", ["dense", "toeplitz", "circulant"])
@pytest.mark.parametrize("n_out,n_in", [(3, 5), (5, 3), (4, 4), (1, 7)])
def test_layer_matrices_follow_their_definitions(kind, n_out, n_in):
    s = DenseStructure((n_in, n_out), (kind,), (True,))
    genome = np.random.default_rng(0).normal(size=s.n_params).astype(np.float32)
    (W,), (b,) = s.matrices(genome)
    n_w = s.n_weight_params
    assert np.array_equal(W, reference_matrix(kind, genome[:n_w], n_out, n_in))
    assert np.array_equal(b, genome[n_w:])
    if kind == "toeplitz":
        assert n_w == n_in + n_out - 1 and all(np.all(np.diagonal(W, k) == np.diagonal(W, k)[0]) for k in range(-n_out + 1, n_in))
    if kind == "circulant":
        assert n_w == max(n_in, n_out)


def test_parameter_counts_match_the_chromatic_paper():
    # HalfCheetah (17 -> 41 -> 6): Toeplitz 103, circulant 82, unstructured 943 weights
    assert structure(17, [41], 6, "toeplitz", False).n_weight_params == 103
    assert structure(17, [41], 6, "circulant", False).n_weight_params == 82
    assert structure(17, [41], 6, "dense", False).n_weight_params == 17 * 41 + 41 * 6 == 943
    s = structure(17, [41], 6, "dense", False)
    assert s.n_params == 943 + 41  # hidden bias, no output bias


def reference_forward(s, genome, x):
    Ws, bs = s.matrices(genome)
    h = np.asarray(x, np.float64)
    for layer, (W, b) in enumerate(zip(Ws, bs)):
        h = W.astype(np.float64) @ h + b.astype(np.float64)
        if layer < len(Ws) - 1:
            h = np.tanh(h)
    return h


@pytest.mark.parametrize("kind", ["dense", "toeplitz", "circulant"])
@pytest.mark.parametrize("hidden", [[], [7], [9, 3]])
def test_forward_matches_numpy(kind, hidden):
    s = structure(5, hidden, 3, kind, True)
    rng = np.random.default_rng(1)
    genomes = rng.normal(size=(4, s.n_params)).astype(np.float32)
    flat = s.expand(genomes)
    width = max(s.sizes)
    obs = rng.normal(size=(10, 5)).astype(np.float32) * 3
    mean, std = rng.normal(size=5), rng.uniform(0.5, 2, size=5)
    members = rng.integers(0, 4, size=10)
    out = np.empty((10, 3))
    dense_forward_indexed(flat, s.sizes_array, members, obs, mean, std, 2.0, out)
    for r in range(10):
        x = np.clip((obs[r].astype(np.float64) - mean) / std, -2.0, 2.0)
        xs = np.empty(width)
        normalize_into(obs[r], mean, std, 2.0, xs)
        assert np.array_equal(xs[:5], x)
        ref = reference_forward(s, genomes[members[r]], x)
        np.testing.assert_allclose(out[r], ref, rtol=1e-12, atol=1e-12)
        buf = np.empty(width)
        buf[:5] = x
        np.testing.assert_array_equal(dense_forward(flat[members[r]], s.sizes_array, buf, np.empty(width))[:3], out[r])


def test_bad_structures_and_genomes_are_one_line_errors():
    with pytest.raises(ConfigError, match="layer kind"):
        DenseStructure((3, 2), ("fourier",), (False,))
    with pytest.raises(ConfigError, match="shape"):
        structure(3, [], 2, "dense", False).expand(np.zeros((2, 5)))


def test_normalization_reads_only_the_observation_dimensions():
    """The scratch buffer is as wide as the widest layer; only the first ``dims`` entries
    are normalized and the rest is left alone (a bug once read mean/std past their end)."""
    x = np.full(64, 7.0)
    normalize_into(np.array([1.0, -2.0, 30.0], np.float32), np.array([0.0, 1.0, 0.0]), np.array([2.0, 1.0, 1.0]), 5.0, x)
    assert x[:3].tolist() == [0.5, -3.0, 5.0] and np.all(x[3:] == 7.0)
    s = structure(3, [40], 2, "dense", True)  # hidden wider than the observation
    genome = np.random.default_rng(0).normal(size=(1, s.n_params)).astype(np.float32)
    out = np.empty((50, 2))
    obs = np.random.default_rng(1).normal(size=(50, 3)).astype(np.float32) * 3
    dense_forward_indexed(s.expand(genome), s.sizes_array, np.zeros(50, np.int64), obs, np.zeros(3), np.ones(3), 5.0, out)
    for r in range(50):
        np.testing.assert_allclose(out[r], reference_forward(s, genome[0], np.clip(obs[r].astype(np.float64), -5, 5)), rtol=1e-12, atol=1e-12)
