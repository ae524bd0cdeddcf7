"""Natural evolution strategies over a separable Bernoulli distribution.

Wierstra et al. 2014, "Natural Evolution Strategies", JMLR 15, for the natural gradient;
here applied to one logit per bit of a binary network.

With logits ``theta`` and ``p = sigmoid(theta)``, each generation:

1. sample ``N`` genomes ``x_k ~ Bernoulli(p)`` from ``(seed, generation, pair)``, mirrored:
   with uniforms ``u``, member ``2m`` takes ``u < p`` and member ``2m+1`` takes ``1 - u < p``;
2. evaluate them (fitness ``R_k``, maximized) and shape to centered ranks ``f_k``;
3. natural gradient in logit space (score ``x - p``, Fisher ``p(1-p)``):
   ``g = (1/N) sum_k f_k (x_k - p) / (p(1-p) + eps)``;
4. ``theta <- clip(theta + lr * (g - entropy * theta), -theta_max, theta_max)``.

The logit bound keeps every bit's probability within ``[sigmoid(-theta_max),
sigmoid(theta_max)]`` so exploration cannot collapse (the predecessor's logits saturated).
``entropy`` is the natural-gradient form of an entropy bonus: for a Bernoulli with logit
``theta``, ``dH/dtheta / (p(1-p)) = -theta``, a pull of every logit toward 0.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numba import njit, prange

from genome.config import BernoulliNESConfig
from genome.parallel import PRANGE_ONLY
from genome.rng import SAMPLE, make_key, random_uniform
from genome.strategies.base import Members, Strategy
from genome.strategies.shaping import centered_ranks


@njit(cache=True, boundscheck=False, nogil=True, parallel=PRANGE_ONLY)
def sample_mirrored(probs, seed, generation, start, out):
    """Members ``start .. start + out.shape[0]``: bit ``i`` of member ``m`` is ``u_i < p_i`` for
    even ``m`` and ``1 - u_i < p_i`` for odd ``m``, with ``u`` the stream of pair ``m // 2``."""
    n = probs.shape[0]
    for r in prange(out.shape[0]):
        m = start + r
        key = make_key(seed, SAMPLE, generation, m >> 1)
        mirror = (m & 1) == 1
        for i in range(n):
            u = random_uniform(key, i)
            if mirror:
                u = 1.0 - u
            out[r, i] = 1 if u < probs[i] else 0


@njit(cache=True, boundscheck=False, nogil=True, parallel=PRANGE_ONLY)
def weighted_bit_sums(weights, bits, out):
    """``out[i] = sum_k weights[k] * bits[k, i]`` summed in member order, so the result is
    the same bits whatever the thread count (BLAS gives no such guarantee)."""
    n, d = bits.shape
    for i in prange(d):
        acc = 0.0
        for k in range(n):
            if bits[k, i]:
                acc += weights[k]
        out[i] = acc


class BernoulliMembers(Members):
    """Members of one generation, regenerated on demand from ``(probs, seed, generation)``."""

    def __init__(self, probs: np.ndarray, seed: int, generation: int, count: int):
        self.probs = np.ascontiguousarray(probs, dtype=np.float64)
        self.seed = int(seed)
        self.generation = int(generation)
        self.count = int(count)
        self._all: np.ndarray | None = None

    def genomes(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        stop = self.count if stop is None else stop
        if self._all is not None:
            return self._all[start:stop]
        out = np.empty((stop - start, self.probs.shape[0]), dtype=np.uint8)
        sample_mirrored(self.probs, self.seed, self.generation, start, out)
        if start == 0 and stop == self.count:
            self._all = out  # the trainer's tell() reuses what the local executor sampled
        return out

    def __getstate__(self):  # ship parameters to workers, never the sampled members
        state = self.__dict__.copy()
        state["_all"] = None
        return state


@dataclass(frozen=True)
class BernoulliNESState:
    theta: np.ndarray
    generation: int
    seed: int


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free and exact enough


def bernoulli_entropy_bits(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-12, 1 - 1e-12)
    return -(q * np.log2(q) + (1 - q) * np.log2(1 - q))


class BernoulliNES(Strategy):
    """Bernoulli NES with mirrored sampling, centered ranks and a logit bound."""

    name = "bernoulli_nes"
    genome_kinds = ("bits",)

    @classmethod
    def from_config(cls, family, config) -> "BernoulliNES":
        return cls(family.n_params, **config.strategy_kwargs())

    def __init__(
        self,
        n_params: int,
        population: int = 256,
        lr: float = 10.0,
        eps: float = 0.1,
        theta_max: float = 3.0,
        entropy: float = 0.0,
        init_theta: float = 0.0,
    ):
        BernoulliNESConfig(population=population, lr=lr, eps=eps, theta_max=theta_max, entropy=entropy).check()
        self.n_params = int(n_params)
        self.population = int(population)
        self.lr = float(lr)
        self.eps = float(eps)
        self.theta_max = float(theta_max)
        self.entropy = float(entropy)
        self.init_theta = float(init_theta)

    def init(self, seed: int) -> BernoulliNESState:
        return BernoulliNESState(theta=np.full(self.n_params, self.init_theta), generation=0, seed=int(seed))

    def ask(self, state: BernoulliNESState) -> BernoulliMembers:
        return BernoulliMembers(sigmoid(state.theta), state.seed, state.generation, self.population)

    def _tell(self, state: BernoulliNESState, members: Members, fitness: np.ndarray):
        p = sigmoid(state.theta)
        f = centered_ranks(fitness)
        weighted = np.empty(self.n_params)
        weighted_bit_sums(f, members.genomes(0, members.count), weighted)  # sum_k f_k x_k
        g = (weighted - p * f.sum()) / members.count / (p * (1.0 - p) + self.eps)
        theta = np.clip(state.theta + self.lr * (g - self.entropy * state.theta), -self.theta_max, self.theta_max)
        new_p = sigmoid(theta)
        metrics = {
            "search/entropy_bits_mean": float(bernoulli_entropy_bits(new_p).mean()),
            "search/prob_spread": float(np.abs(new_p - 0.5).mean()),
            "search/saturated_fraction": float(np.mean(np.abs(theta) >= self.theta_max)),
            "search/grad_norm": float(np.linalg.norm(g)),
            "search/lr": self.lr,
        }
        return replace(state, theta=theta), metrics

    def histogram(self, state) -> np.ndarray:
        """The logits, for TensorBoard's ``search/logits`` histogram."""
        return state.theta

    def center(self, state: BernoulliNESState) -> np.ndarray:
        """The most likely genome: bit ``i`` is 1 iff ``theta_i > 0``."""
        return (state.theta > 0).astype(np.uint8)

    def state_to_arrays(self, state: BernoulliNESState) -> dict[str, np.ndarray]:
        return {"theta": state.theta, "generation": np.array(state.generation), "seed": np.array(state.seed)}

    def state_from_arrays(self, arrays: dict[str, np.ndarray]) -> BernoulliNESState:
        theta = np.asarray(arrays["theta"], dtype=np.float64)
        if theta.shape != (self.n_params,):
            raise ValueError(f"checkpoint has {theta.shape[0]} logits, this configuration needs {self.n_params}")
        return BernoulliNESState(theta=theta, generation=int(arrays["generation"]), seed=int(arrays["seed"]))
