import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from genome import BinaryNetwork, Layout
from genome.bits import pack_bits, unpack_bits
from tests.reference import reference_pack


@given(st.integers(1, 300), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_pack_matches_reference_and_round_trips(n, rows, seed):
    bits = np.random.default_rng(seed).integers(0, 2, size=(rows, n))
    packed = pack_bits(bits)
    np.testing.assert_array_equal(packed, reference_pack(bits))
    np.testing.assert_array_equal(unpack_bits(packed, n), bits)


@given(st.lists(st.integers(1, 150), min_size=2, max_size=4), st.integers(0, 2**32 - 1))
def test_dense_round_trip(sizes, seed):
    net = BinaryNetwork.random(sizes, rng=seed, bias_range=5)
    weights, biases = net.to_dense()
    assert [w.shape for w in weights] == [(sizes[i + 1], sizes[i]) for i in range(len(sizes) - 1)]
    assert all(w.dtype == np.int8 and set(np.unique(w)) <= {-1, 1} for w in weights)
    again = BinaryNetwork.from_dense(weights, biases)
    assert again == net
    assert again.layer_sizes == tuple(sizes)


def test_layout_counts():
    lay = Layout([65, 70, 2])
    # hidden: 70 units padded to 128, 2 input words each; output: 2 units x 2 words
    assert lay.n_weight_words == 128 * 2 + 2 * 2
    assert lay.n_thresholds == 128 + 2
    assert lay.n_weight_bits == 65 * 70 + 70 * 2


@pytest.mark.parametrize(
    "weights, biases, match",
    [
        ([], None, "at least one layer"),
        ([np.zeros((2, 3), np.int8)], None, "only -1 and \\+1"),
        ([np.ones((2, 3), np.int8), np.ones((2, 4), np.int8)], None, "has 4 inputs"),
        ([np.ones(3, np.int8)], None, "2-D"),
        ([np.ones((2, 3), np.int8)], [np.zeros(3, int)], "shape"),
        ([np.ones((2, 3), np.int8)], [np.zeros(2)], "integers"),
        ([np.ones((2, 3), np.int8)], [np.array([0, 2**40])], "within"),
    ],
)
def test_from_dense_rejects_bad_arrays(weights, biases, match):
    with pytest.raises(ValueError, match=match):
        BinaryNetwork.from_dense(weights, biases)
