"""A controller that searches an architecture alongside an evolution strategy: the chromatic
and masked families (Song, Choromanski et al. 2020, "Reinforcement Learning with Chromatic
Networks for Compact Architecture Search", arXiv:1907.06511).

The controller holds one categorical distribution per edge of the network, ``p_e =
softmax(L_e)`` over ``K`` choices (``K = M`` colors for a chromatic network: edge ``e``
takes the shared weight ``w[c_e]``; ``K = 2`` for a masked one: edge ``e`` is off or on).
Each generation:

1. The inner strategy (OpenAI-ES over real shared weights, Bernoulli NES over bits)
   proposes its members. Every member ``m`` -- both halves of an antithetic pair too, as
   the paper's released code does -- samples its own choices ``c_m ~ p`` from the
   counter-based generator keyed by ``(seed, CONTROL, generation, m)``. A member's genome
   is ``[inner genome | c_m]``; the family expands it to a network.
2. The same rollouts train both: the inner strategy steps on the members' fitness, and the
   controller takes a REINFORCE step (Williams 1992) with a moving-average baseline ``b``
   and an entropy bonus ``beta``::

       A_m = (R_m - b) / std(R)          b <- decay * b + (1 - decay) * mean(R)
       L  += lr * ( 1/N sum_m A_m (onehot(c_m) - p)  +  beta * dH/dL )
       dH/dL_ek = -p_ek (log p_ek + H_e)

   (failed members, NaN fitness, are left out).
3. ``schedule = "alternate"`` instead trains one of the two per phase of ``period``
   generations (the paper's description): the shared weights first, then the controller.

``controller = "frozen"``: no sampling and no controller step; every member uses the
most likely choices of the initial logits -- a fixed random partition (the paper's
baseline). The trained policy is the inner center with the controller's most likely
choices. The initial logits are ``N(0, 0.01^2)`` from ``(seed, INIT)``, so the most likely
coloring starts as a uniform random one; ``init = c > 0`` adds ``c`` to that choice's
logit on every edge, so the search starts near the same random coloring (each edge keeps
it with probability ``e^c / (e^c + K - 1)``) and the sampled colorings stay close to the
most likely one, the one the final policy uses.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numba import njit

from genome import rng
from genome.errors import ConfigError
from genome.strategies.base import Members, Strategy

CONTROL = 10  #: purpose of the controller's per-member samples


@njit(cache=True, nogil=True, boundscheck=False)
def sample_choices(probs, seed, generation, start, out):
    """Row ``r`` of ``out``: member ``start + r``'s choice per edge, by inverse CDF of the
    ``e``-th uniform of stream ``(seed, CONTROL, generation, member)``."""
    n_edges, k = probs.shape
    for r in range(out.shape[0]):
        key = rng.make_key(seed, CONTROL, generation, start + r)
        for e in range(n_edges):
            u = rng.random_uniform(key, e)
            c = 0
            acc = probs[e, 0]
            while u >= acc and c < k - 1:
                c += 1
                acc += probs[e, c]
            out[r, e] = c


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


class ControlledMembers(Members):
    """The inner strategy's members, each with its sampled choices appended."""

    def __init__(self, inner: Members, probs: np.ndarray | None, fixed: np.ndarray | None, seed: int, generation: int, dtype):
        self.inner, self.probs, self.fixed = inner, probs, fixed
        self.seed, self.generation, self.dtype = int(seed), int(generation), dtype
        self.count = inner.count

    def choices(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        stop = self.count if stop is None else stop
        if self.fixed is not None:
            return np.broadcast_to(self.fixed, (stop - start, self.fixed.shape[0])).astype(np.int64)
        out = np.empty((stop - start, self.probs.shape[0]), dtype=np.int64)
        sample_choices(self.probs, np.uint64(self.seed), self.generation, start, out)
        return out

    def genomes(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        stop = self.count if stop is None else stop
        inner = self.inner.genomes(start, stop)
        return np.concatenate([inner, self.choices(start, stop).astype(self.dtype)], axis=1)


@dataclass(frozen=True)
class ControlledState:
    inner: object  #: the inner strategy's state
    logits: np.ndarray  #: (edges, choices) float64
    baseline: float  #: moving average of the returns (NaN before the first step)
    generation: int
    seed: int


class ControlledStrategy(Strategy):
    """An inner strategy over the shared parameters + a per-edge REINFORCE controller."""

    tracks_best = True

    def __init__(self, inner: Strategy, n_edges: int, n_choices: int, controller: str = "reinforce", lr: float = 0.1,
                 entropy: float = 0.0, decay: float = 0.9, schedule: str = "joint", period: int = 10, init: float = 0.0):
        if controller not in ("reinforce", "frozen"):
            raise ConfigError(f"policy.controller must be 'reinforce' or 'frozen', got {controller!r}")
        if schedule not in ("joint", "alternate"):
            raise ConfigError(f"policy.controller_schedule must be 'joint' or 'alternate', got {schedule!r}")
        if lr < 0 or entropy < 0 or init < 0 or not 0 <= decay < 1 or period < 1:
            raise ConfigError("policy.controller_lr, policy.controller_entropy and policy.controller_init must be >= 0, "
                              "policy.controller_decay in [0, 1), policy.controller_period >= 1")
        self.inner = inner
        self.name = inner.name
        self.genome_kinds = inner.genome_kinds
        self.n_edges, self.n_choices = int(n_edges), int(n_choices)
        self.controller, self.lr, self.entropy, self.decay = controller, float(lr), float(entropy), float(decay)
        self.schedule, self.period, self.init_logit = schedule, int(period), float(init)
        self.dtype = np.uint8 if inner.genome_kinds == ("bits",) else np.float32

    @classmethod
    def from_config(cls, family, config):  # built by genome.build around an inner strategy
        raise NotImplementedError

    def init(self, seed: int) -> ControlledState:
        key = np.uint64(rng.make_key(np.uint64(seed), rng.INIT, 99, 0))
        logits = 0.01 * rng.normals(key, self.n_edges * self.n_choices).reshape(self.n_edges, self.n_choices)
        logits[np.arange(self.n_edges), np.argmax(logits, axis=1)] += self.init_logit  # the same random coloring, favoured
        return ControlledState(self.inner.init(seed), logits, float("nan"), 0, int(seed))

    def best_choices(self, state: ControlledState) -> np.ndarray:
        """The most likely choice per edge (ties: the lowest index)."""
        return np.argmax(state.logits, axis=1)

    def _phase(self, generation: int) -> str:
        if self.schedule == "joint":
            return "both"
        return "weights" if (generation // self.period) % 2 == 0 else "controller"

    def ask(self, state: ControlledState) -> ControlledMembers:
        inner = self.inner.ask(state.inner)
        if self.controller == "frozen":
            return ControlledMembers(inner, None, self.best_choices(state), state.seed, state.generation, self.dtype)
        return ControlledMembers(inner, softmax(state.logits), None, state.seed, state.generation, self.dtype)

    def _tell(self, state: ControlledState, members: ControlledMembers, fitness: np.ndarray):
        phase = self._phase(state.generation)
        metrics: dict[str, float] = {}
        inner_state = state.inner
        if phase in ("both", "weights"):
            inner_state, metrics = self.inner.tell(state.inner, members.inner, fitness)
        else:  # the shared parameters stay; the inner generation moves on (fresh noise)
            inner_state = replace(state.inner, generation=state.inner.generation + 1)
        logits, baseline = state.logits, state.baseline
        ok = np.isfinite(fitness)
        if self.controller == "reinforce" and phase in ("both", "controller") and ok.sum() > 1:
            r = fitness[ok]
            b = float(r.mean()) if baseline != baseline else baseline
            sd = float(r.std())
            adv = (r - b) / (sd if sd > 0 else 1.0)
            p = softmax(logits)
            choices = members.choices()[ok]
            grad = -adv.sum() * p  # sum_m A_m (onehot(c_m) - p)
            rows = np.arange(self.n_edges)
            for a, c in zip(adv, choices):
                grad[rows, c] += a
            grad /= r.size
            logp = np.log(np.maximum(p, 1e-300))
            h = -(p * logp).sum(axis=1, keepdims=True)
            grad += self.entropy * (-p * (logp + h))
            logits = logits + self.lr * grad
            baseline = self.decay * b + (1 - self.decay) * float(r.mean())
        p = softmax(logits)
        metrics = {**metrics,
                   "controller/entropy_mean": float(-(p * np.log(np.maximum(p, 1e-300))).sum(axis=1).mean()),
                   "controller/max_prob_mean": float(p.max(axis=1).mean()),
                   "controller/choices_used": float(np.unique(np.argmax(logits, axis=1)).size),
                   "controller/baseline": baseline}
        return replace(state, inner=inner_state, logits=logits, baseline=baseline), metrics

    def center(self, state: ControlledState) -> np.ndarray:
        """The inner center with the most likely choices appended."""
        inner = self.inner.center(state.inner)
        return np.concatenate([inner, self.best_choices(state).astype(inner.dtype)])

    def state_to_arrays(self, state: ControlledState) -> dict[str, np.ndarray]:
        inner = {f"inner/{k}": v for k, v in self.inner.state_to_arrays(state.inner).items()}
        return {**inner, "logits": state.logits, "baseline": np.array(state.baseline),
                "generation": np.array(state.generation), "seed": np.array(state.seed)}

    def state_from_arrays(self, arrays: dict[str, np.ndarray]) -> ControlledState:
        logits = np.asarray(arrays["logits"], np.float64)
        if logits.shape != (self.n_edges, self.n_choices):
            raise ValueError(f"checkpoint has a controller of shape {logits.shape}, this configuration needs {(self.n_edges, self.n_choices)}")
        inner = self.inner.state_from_arrays({k[len("inner/"):]: v for k, v in arrays.items() if k.startswith("inner/")})
        return ControlledState(inner, logits, float(arrays["baseline"]), int(arrays["generation"]), int(arrays["seed"]))
