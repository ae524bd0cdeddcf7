"""OpenAI evolution strategy (Salimans, Ho, Chen, Sidor & Sutskever 2017,
"Evolution Strategies as a Scalable Alternative to Reinforcement Learning", arXiv:1703.03864),
as in their evolution-strategies-starter code.

Mean ``theta`` (float64), noise scale ``sigma``. Each generation, with ``n = population / 2``
pairs:

1. ``eps_i ~ N(0, I)`` for pair ``i``, regenerated from the counter-based generator keyed by
   ``(seed, SAMPLE, generation, i)``; member ``2i`` is ``theta + sigma eps_i``, member
   ``2i + 1`` is ``theta - sigma eps_i`` (antithetic pairs). A member travels as
   ``(pair index, sign)``: there is no noise table (the starter's is 250 M float32 = 1 GB in
   every worker's memory), and a worker receives only ``theta``, ``sigma``, the seed and
   the generation -- 8 bytes per parameter per generation, whatever the population.
2. Fitness ``R`` (maximized; NaN ranks last) is shaped to centered ranks ``f`` in
   ``[-0.5, 0.5]`` over all ``2n`` returns.
3. ``g = sum_i (f_2i - f_2i+1) eps_i / (2n)``. Sigma convention (the starter's): ``g`` has no
   ``1/sigma`` factor -- it is absorbed into the step size (evosax's OpenES divides by sigma,
   so its ``lr`` is ``sigma`` times ours).
4. The optimizer follows ``-g + l2 * theta`` (minimizes): Adam (Kingma & Ba 2015, bias
   correction folded into the step: ``a = lr sqrt(1 - b2^t) / (1 - b1^t)``, ``theta -= a m
   / (sqrt(v) + 1e-8)``) or SGD with momentum (``v = mu v + (1 - mu) grad``,
   ``theta -= lr v``), as the starter's ``optimizers.py``.

Augmented Random Search (Mania, Guy & Recht 2018, arXiv:1803.07055) is a configuration
of the same strategy: ``shaping = "none"`` (raw returns), ``top_directions = b`` (only the
``b`` pairs with the largest ``max(R_2i, R_2i+1)`` enter ``g``, which then divides by ``2b``),
``normalize_step = true`` (``g`` is divided by the standard deviation of the ``2b``
returns used), ``optimizer = "sgd"`` with ``momentum = 0`` and ``l2 = 0``, a zero-initialized
``linear`` family with observation normalization. ARS's update
``theta += alpha / (b sigma_R) sum_k (r_k+ - r_k-) delta_k`` is then ``lr = 2 alpha`` here
(V1: no normalization, V2: with it; ``-t``: top directions).

The noise scale may decay: generation ``g`` uses ``max(sigma * sigma_decay^g, sigma_min)``
(``sigma_decay = 1``, the default, keeps it fixed; evosax's OpenES has the same pair) --
large steps to find a gait, small ones to refine it. The step size may decay the same way:
``max(lr * lr_decay^g, lr_min)`` (evosax's ``lrate_decay`` / ``lrate_limit``).

Orthogonal directions (``orthogonal = true``; Choromanski, Rowland, Sindhwani, Turner &
Weller 2018, "Structured Evolution with Compact Architectures for Scalable Policy
Optimization", ICML, arXiv:1804.02395): the pairs' Gaussian ``eps_i`` are orthogonalized in
pair order by Gram-Schmidt, in blocks of ``n_params`` pairs (a block cannot hold more
orthogonal directions than there are parameters), and each keeps the length of its Gaussian
draw (chi with ``n_params`` degrees of freedom), so every ``eps_i`` is still marginally
``N(0, I)`` while the directions of a block never overlap. A member then depends on its whole
block: a worker rebuilds the generation's ``n x n_params`` directions (``O(n^2 n_params)``
per generation, cheap for the linear and compact policies it is meant for).

The center is the mean ``theta``. The weighted noise sum is computed in pair order for every
parameter, so it is the same bits whatever the thread count.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numba import njit, prange

from genome.config import OpenAIESConfig
from genome.parallel import PRANGE_ONLY
from genome.rng import SAMPLE, make_key, random_normal
from genome.strategies.base import Members, Strategy
from genome.strategies.shaping import centered_ranks

ADAM_EPSILON = 1e-8


@njit(cache=True, boundscheck=False, nogil=True, parallel=PRANGE_ONLY)
def sample_antithetic(theta, sigma, seed, generation, start, out):
    """Members ``start .. start + out.shape[0]``: ``theta + sigma eps_{m//2}`` for even ``m``,
    ``theta - sigma eps_{m//2}`` for odd ``m``, as float32."""
    n = theta.shape[0]
    for r in prange(out.shape[0]):
        m = start + r
        key = make_key(seed, SAMPLE, generation, m >> 1)
        sign = -sigma if (m & 1) == 1 else sigma
        for j in range(n):
            out[r, j] = np.float32(theta[j] + sign * random_normal(key, j))


@njit(cache=True, boundscheck=False, nogil=True, parallel=PRANGE_ONLY)
def weighted_noise_sum(weights, seed, generation, out):
    """``out[j] = sum_i weights[i] * eps_i[j]``, summed in pair order for every ``j``."""
    n_pairs = weights.shape[0]
    keys = np.empty(n_pairs, dtype=np.uint64)
    for i in range(n_pairs):
        keys[i] = make_key(seed, SAMPLE, generation, i)
    for j in prange(out.shape[0]):
        acc = 0.0
        for i in range(n_pairs):
            if weights[i] != 0.0:
                acc += weights[i] * random_normal(keys[i], j)
        out[j] = acc


@njit(cache=True, boundscheck=False, nogil=True)
def orthogonal_noise(seed, generation, out):
    """The ``orthogonal = true`` directions: row ``i`` of ``out`` ``(n_pairs, n_params)`` is
    ``eps_i`` from ``(seed, SAMPLE, generation, i)``, then orthogonalized (modified
    Gram-Schmidt, in pair order) against the earlier rows of its block of ``n_params`` rows
    and rescaled to its Gaussian length."""
    n_pairs, n = out.shape
    unit = np.empty((min(n_pairs, n), n))
    for i in range(n_pairs):
        key = make_key(seed, SAMPLE, generation, i)
        row = out[i]
        length = 0.0
        for j in range(n):
            row[j] = random_normal(key, j)
            length += row[j] * row[j]
        first = i - i % n  # the block's first row
        for k in range(first, i):
            u = unit[k - first]
            dot = 0.0
            for j in range(n):
                dot += row[j] * u[j]
            for j in range(n):
                row[j] -= dot * u[j]
        norm = 0.0
        for j in range(n):
            norm += row[j] * row[j]
        scale = 1.0 / np.sqrt(norm)
        u = unit[i - first]
        for j in range(n):
            u[j] = row[j] * scale
            row[j] = u[j] * np.sqrt(length)


@njit(cache=True, boundscheck=False, nogil=True)
def sample_rows(theta, sigma, eps, start, out):
    """Members ``start ..``: ``theta + sigma eps[m//2]`` for even ``m``, minus for odd, float32."""
    for r in range(out.shape[0]):
        m = start + r
        sign = -sigma if (m & 1) == 1 else sigma
        for j in range(theta.shape[0]):
            out[r, j] = np.float32(theta[j] + sign * eps[m >> 1, j])


@njit(cache=True, boundscheck=False, nogil=True)
def weighted_rows_sum(weights, eps, out):
    """``out[j] = sum_i weights[i] * eps[i, j]``, summed in pair order for every ``j``."""
    out[:] = 0.0
    for i in range(weights.shape[0]):
        if weights[i] != 0.0:
            for j in range(out.shape[0]):
                out[j] += weights[i] * eps[i, j]


class GaussianMembers(Members):
    """Antithetic members of one generation, regenerated from ``(theta, sigma, seed, generation)``."""

    def __init__(self, theta: np.ndarray, sigma: float, seed: int, generation: int, count: int, orthogonal: bool = False):
        self.theta = np.ascontiguousarray(theta, dtype=np.float64)
        self.sigma = float(sigma)
        self.seed = int(seed)
        self.generation = int(generation)
        self.count = int(count)
        self.orthogonal = bool(orthogonal)

    def genomes(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        stop = self.count if stop is None else stop
        out = np.empty((stop - start, self.theta.shape[0]), dtype=np.float32)
        if self.orthogonal:
            sample_rows(self.theta, self.sigma, directions(self.seed, self.generation, self.count // 2, self.theta.shape[0]), start, out)
        else:
            sample_antithetic(self.theta, self.sigma, self.seed, self.generation, start, out)
        return out


def directions(seed: int, generation: int, n_pairs: int, n_params: int) -> np.ndarray:
    """The orthogonal directions ``(n_pairs, n_params)`` of a generation (:func:`orthogonal_noise`)."""
    out = np.empty((n_pairs, n_params))
    orthogonal_noise(seed, generation, out)
    return out


@dataclass(frozen=True)
class OpenAIESState:
    theta: np.ndarray  #: the mean (float64)
    m: np.ndarray  #: adam: first moment; sgd: velocity
    v: np.ndarray  #: adam: second moment (unused by sgd)
    t: int  #: optimizer steps taken
    generation: int
    seed: int


class OpenAIES(Strategy):
    """OpenAI-ES: antithetic Gaussian pairs, centered ranks, Adam or SGD+momentum, L2 decay."""

    name = "openai_es"
    genome_kinds = ("reals",)

    def __init__(
        self,
        n_params: int,
        population: int = 100,
        sigma: float = 0.02,
        lr: float = 0.01,
        optimizer: str = "adam",
        momentum: float = 0.9,
        beta1: float = 0.9,
        beta2: float = 0.999,
        l2: float = 0.005,
        shaping: str = "centered_ranks",
        top_directions: int = 0,
        normalize_step: bool = False,
        orthogonal: bool = False,
        sigma_decay: float = 1.0,
        sigma_min: float = 0.0,
        lr_decay: float = 1.0,
        lr_min: float = 0.0,
        initial=None,
    ):
        OpenAIESConfig(population=population, sigma=sigma, lr=lr, optimizer=optimizer, momentum=momentum, beta1=beta1, beta2=beta2, l2=l2,
                       shaping=shaping, top_directions=top_directions, normalize_step=normalize_step, orthogonal=orthogonal,
                       sigma_decay=sigma_decay, sigma_min=sigma_min, lr_decay=lr_decay, lr_min=lr_min).check()
        self.n_params = int(n_params)
        self.population = int(population)
        self.sigma, self.lr, self.l2 = float(sigma), float(lr), float(l2)
        self.optimizer = optimizer
        self.momentum, self.beta1, self.beta2 = float(momentum), float(beta1), float(beta2)
        self.shaping, self.top_directions, self.normalize_step = shaping, int(top_directions), bool(normalize_step)
        self.orthogonal = bool(orthogonal)
        self.sigma_decay, self.sigma_min = float(sigma_decay), float(sigma_min)
        self.lr_decay, self.lr_min = float(lr_decay), float(lr_min)
        #: ``initial(seed) -> genome``, the family's initializer (zeros when None)
        self.initial = initial

    @classmethod
    def from_config(cls, family, config) -> "OpenAIES":
        return cls(family.n_params, **config.strategy_kwargs(), initial=family.initial_genome)

    def init(self, seed: int) -> OpenAIESState:
        theta = np.zeros(self.n_params) if self.initial is None else np.asarray(self.initial(seed), np.float64).copy()
        zeros = np.zeros(self.n_params)
        return OpenAIESState(theta=theta, m=zeros, v=zeros.copy(), t=0, generation=0, seed=int(seed))

    def sigma_at(self, generation: int) -> float:
        """The noise scale of a generation: ``max(sigma * sigma_decay^generation, sigma_min)``."""
        if self.sigma_decay == 1.0:
            return self.sigma
        return max(self.sigma * self.sigma_decay**generation, self.sigma_min)

    def lr_at(self, generation: int) -> float:
        """The step size of a generation: ``max(lr * lr_decay^generation, lr_min)``."""
        if self.lr_decay == 1.0:
            return self.lr
        return max(self.lr * self.lr_decay**generation, self.lr_min)

    def ask(self, state: OpenAIESState) -> GaussianMembers:
        return GaussianMembers(state.theta, self.sigma_at(state.generation), state.seed, state.generation, self.population, self.orthogonal)

    def _tell(self, state: OpenAIESState, members: Members, fitness: np.ndarray):
        n_pairs = members.count // 2
        f = centered_ranks(fitness) if self.shaping == "centered_ranks" else np.where(np.isfinite(fitness), fitness, np.nan)
        weights = f[0::2] - f[1::2]
        used = np.arange(n_pairs)
        if self.top_directions:
            # the b pairs whose better member did best (a failed member counts as -inf)
            best = np.fmax(np.nan_to_num(fitness[0::2], nan=-np.inf), np.nan_to_num(fitness[1::2], nan=-np.inf))
            used = np.sort(np.argsort(-best, kind="stable")[: self.top_directions])
            weights = np.where(np.isin(np.arange(n_pairs), used), weights, 0.0)
        if self.shaping == "none":
            weights = np.nan_to_num(weights, nan=0.0)  # a pair with a failed member gives no direction
        g = np.empty(self.n_params)
        if self.orthogonal:
            weighted_rows_sum(weights, directions(state.seed, state.generation, n_pairs, self.n_params), g)
        else:
            weighted_noise_sum(weights, state.seed, state.generation, g)
        g /= 2 * used.size
        if self.normalize_step:
            r = np.concatenate([f[2 * used], f[2 * used + 1]])
            r = r[np.isfinite(r)]
            sd = float(r.std()) if r.size > 1 else 0.0
            g /= sd if sd > 0 else 1.0
        grad = -g + self.l2 * state.theta
        t = state.t + 1
        lr = self.lr_at(state.generation)
        if self.optimizer == "adam":
            m = self.beta1 * state.m + (1 - self.beta1) * grad
            v = self.beta2 * state.v + (1 - self.beta2) * grad * grad
            a = lr * np.sqrt(1 - self.beta2**t) / (1 - self.beta1**t)
            step = -a * m / (np.sqrt(v) + ADAM_EPSILON)
        else:
            m = self.momentum * state.m + (1 - self.momentum) * grad
            v = state.v
            step = -lr * m
        theta = state.theta + step
        norm = float(np.linalg.norm(theta))
        metrics = {
            "search/grad_norm": float(np.linalg.norm(g)),
            "search/theta_norm": norm,
            "search/update_ratio": float(np.linalg.norm(step)) / max(norm, 1e-12),
            "search/sigma": self.sigma_at(state.generation),
            "search/lr": lr,
            "search/pairs": float(n_pairs),
        }
        return replace(state, theta=theta, m=m, v=v, t=t), metrics

    def center(self, state: OpenAIESState) -> np.ndarray:
        """The mean ``theta`` as a float32 genome."""
        return state.theta.astype(np.float32)

    def state_to_arrays(self, state: OpenAIESState) -> dict[str, np.ndarray]:
        return {"theta": state.theta, "m": state.m, "v": state.v, "t": np.array(state.t),
                "generation": np.array(state.generation), "seed": np.array(state.seed)}

    def state_from_arrays(self, arrays: dict[str, np.ndarray]) -> OpenAIESState:
        theta = np.asarray(arrays["theta"], dtype=np.float64)
        if theta.shape != (self.n_params,):
            raise ValueError(f"checkpoint has {theta.shape[0]} parameters, this configuration needs {self.n_params}")
        return OpenAIESState(theta=theta, m=np.asarray(arrays["m"], np.float64), v=np.asarray(arrays["v"], np.float64),
                             t=int(arrays["t"]), generation=int(arrays["generation"]), seed=int(arrays["seed"]))
