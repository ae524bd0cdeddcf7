"""Encoders against plain-numpy references."""

import struct

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from genome import DitheredThermometerEncoder, OneHotEncoder, RawBitsEncoder, SignEncoder, ThermometerEncoder
from genome.encoders import ENCODER_KINDS, ENCODERS

finite = st.floats(-1e6, 1e6, allow_nan=False, width=32)


def ref_thermometer(edges, obs):
    return np.concatenate([(np.float32(obs[d]) >= e).astype(np.uint8) for d, e in enumerate(edges)])


def ref_onehot(edges, obs):
    out = []
    for d, e in enumerate(edges):
        onehot = np.zeros(len(e) + 1, np.uint8)
        onehot[int(np.sum(np.float32(obs[d]) >= e))] = 1
        out.append(onehot)
    return np.concatenate(out)


@st.composite
def edges_and_obs(draw):
    dims = draw(st.integers(1, 6))
    edges = [np.sort(np.array(draw(st.lists(finite, min_size=1, max_size=20)), dtype=np.float32)) for _ in range(dims)]
    batch = draw(st.integers(1, 4))
    obs = np.array([[draw(st.one_of(finite, st.sampled_from([float(e) for e in edges[d]]))) for d in range(dims)] for _ in range(batch)], dtype=np.float32)
    return edges, obs


@given(edges_and_obs())
def test_thermometer_matches_reference(case):
    edges, obs = case
    enc = ThermometerEncoder(edges)
    bits = enc.encode_bits(obs)
    for row, o in zip(bits, obs):
        np.testing.assert_array_equal(row, ref_thermometer(edges, o))
    np.testing.assert_array_equal(enc.encode_bits(obs[0]), ref_thermometer(edges, obs[0]))


@given(edges_and_obs())
def test_onehot_matches_reference(case):
    edges, obs = case
    enc = OneHotEncoder(edges)
    bits = enc.encode_bits(obs)
    assert enc.n_bits == sum(len(e) + 1 for e in edges)
    for row, o in zip(bits, obs):
        np.testing.assert_array_equal(row, ref_onehot(edges, o))


@given(edges_and_obs(), st.sampled_from([ThermometerEncoder, DitheredThermometerEncoder, OneHotEncoder]))
def test_passed_edges_count_the_bits(case, kind):
    """``passed_edges`` (the bits' count per dimension, which ``binary_planes`` reads) equals
    the sum of a thermometer's bits, and a one-hot's bucket, including NaN and infinities."""
    edges, obs = case
    obs = obs.copy()
    obs[0, 0] = np.nan
    if obs.shape[1] > 1:
        obs[0, 1] = np.inf
    if obs.shape[0] > 1:
        obs[1, 0] = -np.inf
    enc = kind(edges)
    bits = enc.encode_bits(obs).astype(np.int64)
    per_dim = np.add.reduceat(bits, enc.bit_offsets[:-1], axis=1)
    if kind is OneHotEncoder:  # the index of the one set bit, where the NaN sets none
        per_dim = np.array([[int(np.argmax(bits[r, a:b])) if bits[r, a:b].any() else 0
                             for a, b in zip(enc.bit_offsets[:-1], enc.bit_offsets[1:])] for r in range(bits.shape[0])])
    counted = enc.passed_edges(obs)
    assert counted.dtype == np.int64 and counted.shape == obs.shape
    np.testing.assert_array_equal(counted, per_dim)
    last = obs.shape[0] - 1  # one observation, not a batch
    np.testing.assert_array_equal(enc.passed_edges(obs[last]), per_dim[[last]])


@given(st.lists(finite, min_size=1, max_size=70), st.integers(0, 2**32 - 1))
def test_sign_matches_reference(center, seed):
    center = np.array(center, np.float32)
    obs = np.random.default_rng(seed).normal(size=(3, center.size)).astype(np.float32) * 1e3
    obs[0] = center  # x == center counts as >=
    enc = SignEncoder(center)
    np.testing.assert_array_equal(enc.encode_bits(obs), (obs >= center).astype(np.uint8))


@given(st.integers(1, 200), st.integers(0, 2**32 - 1))
def test_raw_bits_match_numpy_unpackbits(n_bytes, seed):
    obs = np.random.default_rng(seed).integers(0, 256, size=(2, n_bytes), dtype=np.uint8)
    enc = RawBitsEncoder(n_bytes)
    np.testing.assert_array_equal(enc.encode_bits(obs), np.unpackbits(obs, axis=1, bitorder="little"))


def test_docstring_examples():
    assert ThermometerEncoder.uniform([-1.0], [1.0], 3).encode_bits([0.1]).tolist() == [1, 1, 0]
    assert OneHotEncoder.uniform([-1.0], [1.0], 4).encode_bits([0.1]).tolist() == [0, 0, 1, 0]
    assert SignEncoder([0.0, 0.0]).encode_bits([0.3, -2.0]).tolist() == [1, 0]
    assert RawBitsEncoder(2).encode_bits(np.array([5, 128], np.uint8)).tolist() == [1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]


def test_nan_sets_no_bit_and_inf_behaves():
    enc = ThermometerEncoder.uniform([0.0], [1.0], 4)
    assert enc.encode_bits([np.nan]).tolist() == [0, 0, 0, 0]
    assert enc.encode_bits([np.inf]).tolist() == [1, 1, 1, 1]
    assert enc.encode_bits([-np.inf]).tolist() == [0, 0, 0, 0]


def test_from_space_uses_finite_bounds_and_samples_for_unbounded():
    env = gym.make("CartPole-v1")
    space = env.observation_space  # velocity dims are unbounded (float32 max)
    with pytest.raises(ValueError, match=r"dimensions \[1, 3\] are unbounded; pass samples="):
        ThermometerEncoder.from_space(space, 16)
    rng = np.random.default_rng(0)
    samples = rng.normal(size=(1000, 4))
    enc = ThermometerEncoder.from_space(space, 16, samples=samples)
    assert enc.n_bits == 64
    np.testing.assert_allclose(enc.edges[0], np.linspace(-4.8, 4.8, 18)[1:-1], rtol=1e-6)
    np.testing.assert_allclose(enc.edges[1], np.quantile(samples[:, 1], np.arange(1, 17) / 17), rtol=1e-5)
    assert enc.bounds[0] is not None and enc.bounds[1] is None


def test_from_samples_quantiles_put_equal_mass_in_each_bucket():
    samples = np.random.default_rng(1).exponential(size=(20000, 2))
    enc = OneHotEncoder.from_samples(samples, 5)
    counts = enc.encode_bits(samples).reshape(-1, 2, 5).sum(axis=0)
    np.testing.assert_allclose(counts / samples.shape[0], 0.2, atol=0.01)


def test_raw_bits_from_space_requires_bytes():
    assert RawBitsEncoder.from_space(gym.spaces.Box(0, 255, (128,), np.uint8)).n_bits == 1024
    with pytest.raises(ValueError, match="uint8"):
        RawBitsEncoder.from_space(gym.spaces.Box(0, 1, (4,), np.float32))


@pytest.mark.parametrize("bad", [np.zeros(3), np.zeros((2, 5))])
def test_wrong_observation_shape(bad):
    with pytest.raises(ValueError, match="expects observations of 4 values"):
        ThermometerEncoder.uniform([0] * 4, [1] * 4, 2).encode(bad)


def test_bad_edges_and_bounds():
    with pytest.raises(ValueError, match="sorted"):
        ThermometerEncoder([[1.0, 0.0]])
    with pytest.raises(ValueError, match="finite"):
        ThermometerEncoder([[np.nan]])
    with pytest.raises(ValueError, match="low < high"):
        ThermometerEncoder.uniform([1.0], [1.0], 4)


def ref_dither_levels(obs32):
    """Plain-Python 32-bit FNV-1a over the float32 bit patterns, then MurmurHash3's fmix32."""
    h = 2166136261
    for x in obs32:
        h = ((h ^ struct.unpack("<I", struct.pack("<f", x))[0]) * 16777619) % 2**32
    out = []
    for d in range(len(obs32)):
        v = h ^ (((d + 1) * 0x9E3779B9) % 2**32)
        v ^= v >> 16
        v = (v * 0x85EBCA6B) % 2**32
        v ^= v >> 13
        v = (v * 0xC2B2AE35) % 2**32
        v ^= v >> 16
        out.append(v >> 28)
    return out


@given(edges_and_obs())
def test_dithered_thermometer_matches_reference(case):
    """Bits = the plain thermometer of the observation minus its hash-chosen shifts."""
    from genome.encoders.kernels import dither_levels

    edges, obs = case
    enc = DitheredThermometerEncoder(edges)
    bits = enc.encode_bits(obs)
    for row, o in zip(bits, obs):
        levels = ref_dither_levels(o)
        assert dither_levels(o.reshape(1, -1))[0].tolist() == levels
        gaps = [np.float32(float(e[len(e) // 2]) - float(e[len(e) // 2 - 1]) if len(e) >= 2 else 0.0) for e in edges]
        gaps = [struct.unpack("<f", struct.pack("<I", struct.unpack("<I", struct.pack("<f", g))[0] & 0xFFFFFF00))[0] for g in gaps]
        shift = [np.float32(g * (2 * m - 15) / 32) for g, m in zip(gaps, levels)]
        np.testing.assert_array_equal(row, ref_thermometer(edges, np.array([np.float32(o[d]) - shift[d] for d in range(len(o))], np.float32)))


def test_dithered_thermometer_is_linear_in_expectation():
    """Over many observations near x, the mean code is the linear interpolation between the
    edges around x (a plain thermometer's is the step)."""
    edges = [np.linspace(-1.0, 1.0, 9)] * 2  # gap 0.25
    rng = np.random.default_rng(0)
    for x, expected, step in [(0.0, 4.5, 5), (0.05, 4.7, 5), (0.1, 4.9, 5), (-0.2, 3.7, 4)]:
        obs = (np.array([x, 0.0]) + rng.normal(size=(20000, 2)) * 1e-4).astype(np.float32)
        obs[:, 0] = x  # dimension 0 fixed: the jitter of dimension 1 varies the hash
        mean = DitheredThermometerEncoder(edges).encode_bits(obs)[:, :9].sum(axis=1).mean()
        assert abs(mean - expected) < 0.03, (x, mean)
        assert np.all(ThermometerEncoder(edges).encode_bits(obs)[:, :9].sum(axis=1) == step)


def test_dither_needs_float_observations_and_the_gymnasium_path():
    import genome
    from genome.errors import ConfigError

    with pytest.raises(ConfigError, match="policy.dither runs on the Gymnasium path"):
        genome.train("cartpole", generations=1, policy={"dither": True})
    with pytest.raises(ConfigError, match="policy.dither shifts a binary family's"):
        genome.train("cartpole-es", generations=1, policy={"dither": True})


def test_registries_are_consistent():
    assert set(ENCODERS) == {"thermometer", "onehot", "sign", "rawbits", "image"}
    assert all(ENCODER_KINDS[cls.kind] is cls for cls in ENCODERS.values())


def test_dithered_expected_signs_average_the_code_over_the_shifts():
    """expected_signs (one vectorized comparison per bit and level) equals the mean of the
    encoder's own ±1 code over the DITHER_LEVELS shifted observations, NaN and inf included."""
    from genome.bits import unpack_bits
    from genome.encoders.interval import DitheredThermometerEncoder, ThermometerEncoder
    from genome.encoders.kernels import DITHER_LEVELS

    gen = np.random.default_rng(4)
    edges = [np.sort(gen.normal(size=k)) for k in (15, 3, 70)]
    enc = DitheredThermometerEncoder(edges)
    plain = ThermometerEncoder(edges)
    obs = gen.normal(size=(40, 3)).astype(np.float32) * 2
    obs[0, 0], obs[1, 1], obs[2, 2] = np.nan, np.inf, -np.inf
    mean = sum(unpack_bits(plain.encode(obs - enc.shifts[:, m][None, :]), plain.n_bits) for m in range(DITHER_LEVELS))
    np.testing.assert_array_equal(enc.expected_signs(obs), mean * (2.0 / DITHER_LEVELS) - 1.0)
    np.testing.assert_array_equal(plain.expected_signs(obs), unpack_bits(plain.encode(obs), plain.n_bits) * 2.0 - 1.0)


def test_uniform_edges_are_found_again_and_match_the_spread():
    """Evenly spaced running edges are lo + k step with an exact product (the C export stores
    two floats per dimension); uniform_steps recovers them, and refuses uneven ones."""
    from genome.encoders.auto import RunningStats, thermometer_from_stats
    from genome.encoders.interval import uniform_edges, uniform_steps

    rng = np.random.default_rng(0)
    for _ in range(500):
        n = int(rng.integers(1, 300))
        # |lo| / step up to ~10^4 (a dimension's |mean| / std up to ~10^3); far beyond, uniform_steps
        # may give up and the C export stores the edges
        lo, step = float(rng.normal() * 10 ** rng.uniform(-3, 2)), float(abs(rng.normal()) * 10 ** rng.uniform(-2, 1)) + 1e-3
        e = uniform_edges(lo, step, n)
        assert e.dtype == np.float32 and np.all(np.diff(e) >= 0)
        found = uniform_steps(e)
        assert found is not None and np.array_equal(found[0] + np.arange(n, dtype=np.float32) * found[1], e)
    assert uniform_steps(np.sort(rng.normal(size=20)).astype(np.float32)) is None
    assert uniform_steps(np.array([1.0, np.nan], np.float32)) is None
    assert uniform_steps(np.full(5, 2.5, np.float32)) == (np.float32(2.5), np.float32(0.0))
    stats = RunningStats.empty(3)
    stats.add_samples(rng.normal([0.0, 5.0, -2.0], [1.0, 0.1, 3.0], size=(1000, 3)))
    enc = thermometer_from_stats(stats, 27, spread=2.0)
    for d, edges in enumerate(enc.edges):
        assert uniform_steps(edges) is not None
        np.testing.assert_allclose(edges, stats.mean[d] + stats.std[d] * np.linspace(-2, 2, 27), rtol=1e-5, atol=2e-5 * stats.std[d])


def test_evenly_spaced_edges_are_stored_as_two_floats():
    """A thermometer's evenly spaced running edges go into the file as lo and step (11 bytes a
    dimension, any edge count) and come back bit for bit, dithered too; a corrupted step is
    a clear error; edges that are not evenly spaced still store every edge."""
    from genome.encoders.auto import RunningStats, thermometer_from_stats
    from genome.encoders.interval import _STEPPED
    from genome.errors import ModelFormatError
    from genome.io import Reader

    rng = np.random.default_rng(1)
    stats = RunningStats.empty(4)
    stats.add_samples(rng.normal([0.0, 5.0, -2.0, 0.3], [1.0, 0.1, 3.0, 1e-3], size=(500, 4)))
    for dither in (False, True):
        enc = thermometer_from_stats(stats, 255, spread=2.0, dither=dither)
        data = enc.payload()
        assert len(data) == 4 + 4 * 11 and data[4] == _STEPPED
        back = type(enc).from_payload(Reader(data, "test"))
        assert back == enc and all(np.array_equal(a, b) for a, b in zip(back.edges, enc.edges))
    bad = bytearray(data)
    bad[9:13] = np.array([np.nan], "<f4").tobytes()  # dimension 0's step
    with pytest.raises(ModelFormatError, match="dimension 0 has edges"):
        type(enc).from_payload(Reader(bytes(bad), "test"))
    quantiles = ThermometerEncoder.from_samples(rng.normal(size=(200, 2)), 9)
    assert len(quantiles.payload()) == 4 + 2 * (3 + 4 * 9)
    assert ThermometerEncoder.from_payload(Reader(quantiles.payload(), "test")) == quantiles
