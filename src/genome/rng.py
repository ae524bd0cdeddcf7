"""Counter-based randomness: every random number is a pure function of counters.

A *key* is a splitmix64 hash of ``(run seed, purpose, a, b)`` (for example
``(seed, SAMPLE, generation, pair)``); the ``i``-th number under a key is
``splitmix64(key + (i + 1) * GAMMA)``, the ``i``-th output of a splitmix64 stream
started at ``key``. Any process can regenerate any member's genome or any episode's
start state without shared state, so results never depend on how work is split
among threads, processes or machines (docs/architecture.md). All functions are numba-jitted
and callable from kernels and from Python.
"""

from __future__ import annotations

import numpy as np
from numba import njit

GAMMA = np.uint64(0x9E3779B97F4A7C15)

# Purposes: one independent stream family per use.
SAMPLE = 1  #: member genomes (Bernoulli bits, Gaussian noise)
START = 2  #: training episodes' start states
EVAL = 3  #: evaluation episodes' start states (held out from training)
ENCODER = 4  #: observations gathered to fit encoder edges
CENTER = 5  #: the center network's per-generation check
REPORT = 6  #: `genome eval` episodes
INIT = 7  #: initial parameters of policy families
VALIDATE = 9  #: the GA's re-evaluation of elite candidates (8 is the GA's parent choices)


@njit(cache=True, inline="always", nogil=True)
def splitmix64(x):
    """The splitmix64 finalizer (Steele, Lea & Flood 2014): a bijective 64-bit mix."""
    z = np.uint64(x)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always", nogil=True)
def make_key(seed, purpose, a, b):
    """Key of the stream for ``(seed, purpose, a, b)``; all arguments are integers >= 0."""
    h = splitmix64(np.uint64(seed) + GAMMA)
    h = splitmix64(h ^ (np.uint64(purpose) * GAMMA))
    h = splitmix64(h ^ (np.uint64(a) + GAMMA))
    return splitmix64(h ^ (np.uint64(b) * GAMMA + np.uint64(1)))


@njit(cache=True, inline="always", nogil=True)
def random_u64(key, i):
    """The ``i``-th 64-bit number of the stream ``key``."""
    return splitmix64(key + (np.uint64(i) + np.uint64(1)) * GAMMA)


@njit(cache=True, inline="always", nogil=True)
def random_uniform(key, i):
    """The ``i``-th uniform float64 in ``[0, 1)`` of the stream ``key`` (53 random bits)."""
    return np.float64(random_u64(key, i) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, nogil=True)
def uniforms(key, n):
    """``n`` consecutive uniforms of stream ``key`` as an array (for Python callers and tests)."""
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        out[i] = random_uniform(key, i)
    return out


@njit(cache=True, inline="always", nogil=True)
def random_normal(key, i):
    """The ``i``-th standard normal of the stream ``key`` (Box-Muller on uniforms ``2i`` and
    ``2i + 1``; the first uniform is mapped to ``(0, 1]`` so the logarithm stays finite)."""
    u1 = 1.0 - random_uniform(key, 2 * i)
    u2 = random_uniform(key, 2 * i + 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(6.283185307179586 * u2)


@njit(cache=True, nogil=True)
def normals(key, n):
    """``n`` consecutive standard normals of stream ``key`` (for Python callers and tests)."""
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        out[i] = random_normal(key, i)
    return out
