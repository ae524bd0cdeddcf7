import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from genome.strategies.shaping import centered_ranks

values = st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(float("nan")), st.sampled_from([0.0, 1.0, 500.0])), min_size=2, max_size=60)


@given(values)
def test_centered_ranks_properties(fitness):
    f = np.array(fitness)
    r = centered_ranks(f)
    assert r.shape == f.shape
    assert np.all(r >= -0.5) and np.all(r <= 0.5)
    assert abs(r.sum()) < 1e-9  # centered
    clean = np.where(np.isnan(f), -np.inf, f)
    for i in range(len(f)):
        for j in range(len(f)):
            if clean[i] > clean[j]:
                assert r[i] > r[j]
            elif clean[i] == clean[j]:
                assert r[i] == r[j]  # ties share their rank


def test_known_values_and_nan_ranks_last():
    np.testing.assert_allclose(centered_ranks([3.0, 1.0, 2.0]), [0.5, -0.5, 0.0])
    np.testing.assert_allclose(centered_ranks([np.nan, 1.0, 2.0]), [-0.5, 0.0, 0.5])
    np.testing.assert_allclose(centered_ranks([5.0, 5.0, 1.0, 9.0]), [0.0, 0.0, -0.5, 0.5])
    assert centered_ranks([7.0]).tolist() == [0.0]
