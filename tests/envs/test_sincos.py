"""The inline sin/cos of small angles (genome.envs.sincos) against the C library, bit for bit."""

import math

import numpy as np
import pytest
from numba import njit

from genome.envs.sincos import LIMIT, TINY, sincos, sincos_inline


@njit(cache=True)
def _sincos_many(xs, out, inline_count):
    for i in range(xs.shape[0]):
        s, c = sincos(xs[i])
        out[i, 0] = s
        out[i, 1] = c
        if TINY <= abs(xs[i]) <= LIMIT:
            _, _, exact = sincos_inline(xs[i])
            if exact:
                inline_count[0] += 1


def _check(xs):
    out = np.empty((xs.shape[0], 2))
    count = np.zeros(1, dtype=np.int64)
    _sincos_many(xs, out, count)
    for k, f in enumerate((math.sin, math.cos)):
        expected = np.array([f(x) if math.isfinite(x) else math.nan for x in xs])
        finite = np.isfinite(expected)
        # bit patterns, so that -0.0 and 0.0 differ too
        np.testing.assert_array_equal(out[finite, k].view(np.int64), expected[finite].view(np.int64))
        assert np.isnan(out[~finite, k]).all()
    return count[0]


def test_bit_identical_to_the_c_library_on_the_inline_range():
    rng = np.random.default_rng(0)
    xs = rng.uniform(-LIMIT, LIMIT, 400_000)
    inline = _check(xs)
    # most calls must take the inline path (the C library is only asked near midpoints)
    assert inline > 0.85 * xs.shape[0]


def test_bit_identical_on_small_magnitudes():
    rng = np.random.default_rng(1)
    xs = np.exp(rng.uniform(math.log(TINY / 4), math.log(LIMIT), 200_000)) * rng.choice([-1.0, 1.0], 200_000)
    _check(xs)


def test_bit_identical_at_the_edges_and_outside():
    edges = [0.0, -0.0, TINY, -TINY, np.nextafter(TINY, 0), LIMIT, -LIMIT, np.nextafter(LIMIT, 1), 0.126, np.nextafter(0.126, 0),
             12 * 2 * math.pi / 360, 0.3, -1.0, 3.0, 1e6, -1e300, 5e-324, math.inf, -math.inf, math.nan]
    _check(np.array(edges, dtype=np.float64))
    _check(np.random.default_rng(2).uniform(-50, 50, 20_000))


@pytest.mark.parametrize("x", [0.0, -0.0])
def test_signed_zero(x):
    s, c = njit(lambda v: sincos(v))(x)
    assert math.copysign(1.0, s) == math.copysign(1.0, x) and c == 1.0
