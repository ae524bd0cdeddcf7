"""Fitness shaping. Fitness is *maximized* everywhere in genome (returns are rewards)."""

from __future__ import annotations

import numpy as np


def centered_ranks(fitness: np.ndarray) -> np.ndarray:
    """Centered ranks in ``[-0.5, 0.5]``: ``f_k = rank_k / (N - 1) - 0.5`` (ascending).

    Ties share their average rank, so equal returns get equal weight; NaN ranks below
    every number, so one failed member cannot poison an update. One member gets 0.
    """
    x = np.asarray(fitness, dtype=np.float64).reshape(-1)
    n = x.shape[0]
    if n < 2:
        return np.zeros(n)
    x = np.where(np.isnan(x), -np.inf, x)
    order = np.argsort(x, kind="stable")
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = np.arange(n, dtype=np.float64)
    # average ranks over runs of equal values
    sorted_x = x[order]
    boundaries = np.flatnonzero(sorted_x[1:] != sorted_x[:-1]) + 1
    starts = np.concatenate([[0], boundaries])
    stops = np.concatenate([boundaries, [n]])
    for a, b in zip(starts, stops):
        if b - a > 1:
            ranks[order[a:b]] = (a + b - 1) / 2.0
    return ranks / (n - 1) - 0.5
