"""Every forward kernel against the plain-numpy reference, over many shapes."""

import numpy as np
import pytest
from numba import njit
from hypothesis import given
from hypothesis import strategies as st

from genome import BinaryNetwork, BinaryPopulation
from genome.bits import pack_bits
from genome.nets import kernels
from tests.reference import reference_argmax, reference_forward, reference_pack

# Widths the issue names explicitly, plus small and awkward ones.
EDGE_WIDTHS = [1, 2, 63, 64, 65, 127, 128, 129, 1000, 1100]
width = st.one_of(st.sampled_from(EDGE_WIDTHS), st.integers(1, 200))


def random_dense(rng, sizes, bias_spread):
    weights = [rng.choice(np.array([-1, 1], np.int8), size=(sizes[i + 1], sizes[i])) for i in range(len(sizes) - 1)]
    biases = [rng.integers(-bias_spread(sizes[i]), bias_spread(sizes[i]) + 1, size=sizes[i + 1]) for i in range(len(sizes) - 1)]
    return weights, biases


@st.composite
def networks(draw, max_depth=4):
    depth = draw(st.integers(1, max_depth))
    sizes = [draw(width) for _ in range(depth + 1)]
    seed = draw(st.integers(0, 2**32 - 1))
    # biases from 0 up to beyond +-n_in, so "always fires" / "never fires" units occur
    spread = draw(st.sampled_from([lambda n: 0, lambda n: 3, lambda n: n + 2]))
    rng = np.random.default_rng(seed)
    weights, biases = random_dense(rng, sizes, spread)
    batch = draw(st.integers(1, 6))
    x = rng.integers(0, 2, size=(batch, sizes[0]))
    return weights, biases, x


@given(networks())
def test_forward_matches_reference_on_bits(case):
    weights, biases, x = case
    net = BinaryNetwork.from_dense(weights, biases)
    expected = reference_forward(weights, biases, x)
    np.testing.assert_array_equal(net.forward(x), expected)
    np.testing.assert_array_equal(net.forward(x[0]), expected[0])
    np.testing.assert_array_equal(net.act(x), reference_argmax(expected))
    assert net.act(x[0]) == reference_argmax(expected[0])[0]


@given(networks())
def test_forward_matches_reference_on_packed_input(case):
    weights, biases, x = case
    net = BinaryNetwork.from_dense(weights, biases)
    packed = reference_pack(x)
    np.testing.assert_array_equal(net.forward(packed), reference_forward(weights, biases, x))


@given(networks(max_depth=3), st.integers(0, 2**32 - 1))
def test_padding_bits_never_change_a_result(case, seed):
    weights, biases, x = case
    net = BinaryNetwork.from_dense(weights, biases)
    packed = reference_pack(x)
    n = x.shape[1]
    if n % 64:
        garbage = np.random.default_rng(seed).integers(0, 2**63, size=packed.shape[0], dtype=np.int64).astype(np.uint64)
        packed[:, -1] |= (garbage << np.uint64(n % 64))
    np.testing.assert_array_equal(net.forward(packed), reference_forward(weights, biases, x))


@given(networks(max_depth=3))
def test_parallel_batch_kernel_matches_reference(case):
    weights, biases, x = case
    net = BinaryNetwork.from_dense(weights, biases)
    rows = np.repeat(x, 700, axis=0)  # > one CHUNK_ROWS so several tasks run
    out = np.empty((rows.shape[0], net.n_outputs), np.int32)
    lay = net.layout
    kernels.forward_batch_parallel(net.weights, net.thresholds, lay.sizes_array, lay.w_offsets, lay.t_offsets, pack_bits(rows), out)
    # rows repeats x: so does the reference (computed once per distinct row, not 700 times)
    np.testing.assert_array_equal(out, np.repeat(reference_forward(weights, biases, x), 700, axis=0))


@given(st.lists(width, min_size=2, max_size=4), st.integers(1, 5), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_population_kernel_each_member_uses_its_own_weights(sizes, members, batch, seed):
    rng = np.random.default_rng(seed)
    dense = [random_dense(rng, sizes, lambda n: 2) for _ in range(members)]
    pop = BinaryPopulation.from_networks([BinaryNetwork.from_dense(w, b) for w, b in dense])
    x = rng.integers(0, 2, size=(members, batch, sizes[0]))
    expected = np.stack([reference_forward(w, b, x[m]) for m, (w, b) in enumerate(dense)])
    np.testing.assert_array_equal(pop.forward(pack_bits(x)), expected)
    np.testing.assert_array_equal(pop.forward(pack_bits(x[:, 0])), expected[:, 0])
    lay = pop.layout
    out = np.empty_like(expected, dtype=np.int32)
    kernels.forward_population_parallel(pop.weights, pop.thresholds, lay.sizes_array, lay.w_offsets, lay.t_offsets, pack_bits(x), out)
    np.testing.assert_array_equal(out, expected)


def test_hidden_tie_maps_to_plus_one_and_action_ties_go_to_lowest_index():
    # hidden unit: s = 0 exactly (one agreeing, one disagreeing input) -> +1
    w1 = np.array([[1, -1]], np.int8)
    w2 = np.array([[1], [1], [-1]], np.int8)
    net = BinaryNetwork.from_dense([w1, w2], [np.zeros(1, int), np.zeros(3, int)])
    scores = net.forward([1, 1])
    np.testing.assert_array_equal(scores, [1, 1, -1])  # hidden unit was +1
    assert net.act([1, 1]) == 0  # tie between 0 and 1 -> 0


def test_one_bit_tie_hidden_unit_with_negative_bias():
    # s = 1*x + b with b = -1: x=+1 -> s=0 -> fires (+1); x=-1 -> s=-2 -> -1
    net = BinaryNetwork.from_dense([np.array([[1]], np.int8), np.array([[1]], np.int8)], [np.array([-1]), np.array([0])])
    assert net.forward([1]).tolist() == [1]
    assert net.forward([0]).tolist() == [-1]


def test_random_network_is_reproducible_from_seed():
    a = BinaryNetwork.random([10, 20, 3], rng=5, bias_range=2)
    b = BinaryNetwork.random([10, 20, 3], rng=5, bias_range=2)
    assert a == b


def test_popcount_intrinsic_matches_python():
    from numba import njit

    @njit
    def pc(x):
        return kernels.popcount(x)

    for v in [0, 1, 2**63, 2**64 - 1, 0x5555555555555555, 123456789]:
        assert pc(np.uint64(v)) == bin(v).count("1")


@pytest.mark.parametrize("bad", [np.zeros((2, 3, 4)), np.array([0, 2, 1]), np.zeros(5), np.array(["a", "b", "c"])])
def test_bad_input_is_a_clear_value_error(bad):
    net = BinaryNetwork.random([3, 2], rng=0)
    with pytest.raises(ValueError, match="input"):
        net.forward(bad)


@njit(cache=True)
def _forward_word_rows(weights, thresholds, sizes, w_offsets, t_offsets, words, out):
    for r in range(words.shape[0]):
        kernels.forward_word(weights, thresholds, sizes, w_offsets, t_offsets, words[r], out[r])


narrow = st.one_of(st.sampled_from([1, 2, 63, 64]), st.integers(1, 64))


@given(st.lists(narrow, min_size=2, max_size=5), st.integers(0, 2**32 - 1))
def test_register_forward_of_narrow_networks_matches_reference(sizes, seed):
    """``forward_word`` (every layer <= 64 bits, activations in registers) against the
    reference, with garbage in the input word's padding bits."""
    rng = np.random.default_rng(seed)
    weights, biases = random_dense(rng, sizes, lambda n: n + 2)
    net = BinaryNetwork.from_dense(weights, biases)
    x = rng.integers(0, 2, size=(7, sizes[0]))
    words = reference_pack(x)[:, 0].copy()
    if sizes[0] % 64:
        words |= rng.integers(0, 2**63, size=7, dtype=np.int64).astype(np.uint64) << np.uint64(sizes[0] % 64)
    out = np.empty((7, sizes[-1]), dtype=np.int32)
    lay = net.layout
    _forward_word_rows(net.weights, net.thresholds, lay.sizes_array, lay.w_offsets, lay.t_offsets, words, out)
    np.testing.assert_array_equal(out, reference_forward(weights, biases, x))


@given(st.lists(narrow, min_size=2, max_size=4), st.integers(1, 13), st.integers(0, 2**32 - 1))
def test_narrow_batch_and_population_kernels_match_reference_for_every_row_count(sizes, rows, seed):
    # narrow networks take the four-rows-in-flight path; 1..13 rows cover its remainder loop
    rng = np.random.default_rng(seed)
    weights, biases = random_dense(rng, sizes, lambda n: n + 2)
    net = BinaryNetwork.from_dense(weights, biases)
    lay = net.layout
    x = rng.integers(0, 2, size=(rows, sizes[0]))
    expected = reference_forward(weights, biases, x)
    words = reference_pack(x).copy()  # (rows, 1), garbage in the padding bits
    if sizes[0] % 64:
        words[:, 0] |= rng.integers(0, 2**63, size=rows, dtype=np.int64).astype(np.uint64) << np.uint64(sizes[0] % 64)
    out = np.empty((rows, sizes[-1]), dtype=np.int32)
    kernels.forward_batch(net.weights, net.thresholds, lay.sizes_array, lay.w_offsets, lay.t_offsets, words, out)
    np.testing.assert_array_equal(out, expected)
    pop = BinaryPopulation.from_networks([net, net])
    pout = np.empty((2, rows, sizes[-1]), dtype=np.int32)
    kernels.forward_population(pop.weights, pop.thresholds, lay.sizes_array, lay.w_offsets, lay.t_offsets, np.ascontiguousarray(np.stack([words, words])), pout)
    np.testing.assert_array_equal(pout[0], expected)
    np.testing.assert_array_equal(pout[1], expected)


@njit(cache=True)
def _both_blocks(weights, thresholds, xs):
    sizes = (64, 64, 1)
    wt, nt = kernels.transpose_blocks(weights, thresholds, sizes, (0, 64), (0, 64))
    out = np.empty((xs.shape[0], 2), np.uint64)
    for r in range(xs.shape[0]):
        out[r, 0] = kernels.block64_word(weights, 0, xs[r], thresholds, 0)
        out[r, 1] = kernels.block64_word_t(wt, 0, xs[r], nt, 0)
    return out


@pytest.mark.parametrize("seed", range(5))
def test_transposed_bytewise_block_equals_the_wide_compare(seed):
    """``block64_word_t`` (popcounts packed into bytes, transposed weight storage) gives the
    same activation word as ``block64_word`` -- thresholds at and beyond both ends included
    (below -1 nothing fires, from 64 on everything does)."""
    rng = np.random.default_rng(seed)
    weights = np.concatenate([rng.integers(0, 2**63, size=64, dtype=np.int64).astype(np.uint64) * np.uint64(3),
                              np.zeros(1, np.uint64)])
    thresholds = np.concatenate([rng.choice(np.array([-40, -2, -1, 0, 1, 31, 32, 33, 63, 64, 65, 500], np.int32), size=64),
                                 np.zeros(1, np.int32)])
    xs = np.concatenate([rng.integers(0, 2**63, size=200, dtype=np.int64).astype(np.uint64) * np.uint64(3),
                         np.array([0, 2**64 - 1], np.uint64), weights[:8]])
    out = _both_blocks(weights, thresholds, xs)
    np.testing.assert_array_equal(out[:, 0], out[:, 1])
    counts = np.array([[bin(int(x) ^ int(w)).count("1") for w in weights[:64]] for x in xs[:5]])
    expected = [sum(1 << j for j in range(64) if counts[r, j] <= thresholds[j]) for r in range(5)]
    assert [int(v) for v in out[:5, 1]] == expected
