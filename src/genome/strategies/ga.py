"""The Deep Neuroevolution genetic algorithm (Such, Madhavan, Conti, Lehman, Stanley & Clune
2017, "Deep Neuroevolution: Genetic Algorithms Are a Competitive Alternative for Training
Deep Neural Networks for Reinforcement Learning", arXiv:1712.06567).

Each generation of ``N`` members:

1. **Children.** Member 0 is the elite, copied unmutated. Every other member picks a parent
   uniformly among the ``T`` parents (``truncation``) and applies one mutation: real
   genomes ``theta' = theta + sigma eps`` with ``eps ~ N(0, I)``; binary genomes flip each
   bit with probability ``flip_prob``. The first generation is ``N`` fresh genomes: the
   family's initializer with its own seed, mutated once.
2. **Evaluation** of every member (fitness maximized; NaN ranks last).
3. **Elite.** The best ``elites`` children and the current elite are re-evaluated on
   ``validation_episodes`` episodes each; the best by that mean becomes the elite (ties
   keep the current one). It is the strategy's center: the policy the run saves. With
   ``elite_running_mean`` the current elite's score is the mean of all its validation
   episodes so far, this generation's pooled with every earlier one (``n`` episodes:
   ``(n s + V v) / (n + V)``), so a good elite is not lost to one unlucky sample of a
   bimodal return; the children are still scored on their ``V`` fresh episodes. (Not in
   the paper, which re-evaluates the elite afresh each generation.) With
   ``stratified_validation`` (ALE no-op starts; a flag of the request :meth:`GA.validation`
   returns) the ``V`` episodes take the no-op counts in turn instead of drawing them, so
   30 of them score a candidate on every start once (docs/architecture.md).
4. **Parents** of the next generation: the ``T`` best members by fitness, and the elite
   (always a parent).

**Seed chains.** A genome is the list of seeds that produced it, ``(tau_0, tau_1, ...,
tau_g)``: ``theta = init(tau_0)`` (the family's initializer), then one mutation per seed,
``tau_0`` included (so a zero-initialized linear family starts diverse too), each drawn
from the counter-based generator keyed by that seed. A generation travels
as its parents' chains (once) and ``(parent index, seed)`` per child -- a few bytes per
member whatever the network's size -- and checkpoints hold chains, not weights. Decoding
replays a chain; every process keeps a small cache of decoded genomes keyed by chain, so a
child costs one mutation of its cached parent, and a chain is replayed from its first seed
only on a miss (a new or restarted worker). Both paths perform the same floating-point
operations in the same order, so they give the same bits (tested).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace

import numpy as np
from numba import njit

from genome.config import GAConfig
from genome.errors import ConfigError
from genome.problems.base import EpisodeRequest
from genome.rng import SAMPLE, VALIDATE, make_key, random_normal, random_u64, random_uniform
from genome.strategies.base import Members, Strategy

SELECT = 8  #: purpose of the parent choices (the SAMPLE purpose keys the mutation seeds)


@njit(cache=True, nogil=True, boundscheck=False)
def mutate_reals(theta, seed, sigma):
    """``theta += sigma * eps`` in place, ``eps`` the normals of stream ``seed``."""
    for j in range(theta.shape[0]):
        theta[j] += sigma * random_normal(seed, j)


@njit(cache=True, nogil=True, boundscheck=False)
def mutate_bits(bits, seed, flip_prob):
    """Flip bit ``j`` in place where the ``j``-th uniform of stream ``seed`` is below ``flip_prob``."""
    for j in range(bits.shape[0]):
        if random_uniform(seed, j) < flip_prob:
            bits[j] ^= 1


@njit(cache=True, nogil=True)
def _chain_seed(seed, generation, member):
    return random_u64(make_key(seed, SAMPLE, generation, member), 0)


def chain_seed(seed: int, generation: int, member: int) -> np.uint64:
    """The mutation seed of ``member`` in ``generation`` (any worker can recompute it)."""
    return np.uint64(_chain_seed(seed, generation, member))


@njit(cache=True, nogil=True)
def _choices(seed, generation, count, n_parents, out):
    for m in range(count):
        out[m] = int(random_uniform(make_key(seed, SELECT, generation, m), 0) * n_parents)


class Decoder:
    """Seed chain -> genome, for one family and mutation operator, with an LRU cache of
    decoded chains (per process: the cache lives as long as the decoder object)."""

    def __init__(self, kind: str, initial, sigma: float, flip_prob: float, capacity: int = 64):
        self.kind, self.initial, self.sigma, self.flip_prob = kind, initial, float(sigma), float(flip_prob)
        self.capacity = int(capacity)
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()

    def _start(self, first: np.uint64) -> np.ndarray:
        g = np.asarray(self.initial(int(first)))
        g = g.astype(np.uint8).copy() if self.kind == "bits" else g.astype(np.float64).copy()
        return self.mutate(g, first)

    def mutate(self, genome: np.ndarray, seed: np.uint64) -> np.ndarray:
        out = genome.copy()
        key = np.uint64(make_key(np.uint64(seed), SAMPLE, 0, 0))
        if self.kind == "bits":
            mutate_bits(out, key, self.flip_prob)
        else:
            mutate_reals(out, key, self.sigma)
        return out

    def decode(self, chain: np.ndarray, cache: bool = True) -> np.ndarray:
        """The genome of ``chain`` (uint64 seeds); ``cache=False`` replays it from scratch."""
        chain = np.asarray(chain, dtype=np.uint64)
        if not cache:
            g = self._start(chain[0])
            for s in chain[1:]:
                g = self.mutate(g, s)
            return g
        key = chain.tobytes()
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        g = self._start(chain[0]) if chain.shape[0] == 1 else self.mutate(self.decode(chain[:-1]), chain[-1])
        self._cache[key] = g
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        return g


#: one decoder per (family, operator) per process: workers keep their decoded parents
#: from one generation to the next
_DECODERS: dict[tuple, Decoder] = {}


def decoder_for(tag: tuple, kind: str, initial, sigma: float, flip_prob: float, capacity: int) -> Decoder:
    d = _DECODERS.get(tag)
    if d is None or d.capacity < capacity:
        d = _DECODERS[tag] = Decoder(kind, initial, sigma, flip_prob, capacity)
    return d


class GAMembers(Members):
    """One generation on the wire: the parents' chains once, then per member a parent index
    (-1: a fresh genome of the first generation, its chain is its seed) and a seed (ignored
    where ``mutated[m]`` is False: the elite's unmutated copy)."""

    def __init__(self, tag: tuple, kind: str, initial, sigma: float, flip_prob: float,
                 parents: list[np.ndarray], parent: np.ndarray, seeds: np.ndarray, mutated: np.ndarray):
        self.tag, self.kind, self.initial, self.sigma, self.flip_prob = tag, kind, initial, sigma, flip_prob
        self.parents = [np.asarray(c, np.uint64) for c in parents]
        self.parent = np.asarray(parent, np.int64)
        self.seeds = np.asarray(seeds, np.uint64)
        self.mutated = np.asarray(mutated, bool)
        self.count = int(self.parent.shape[0])

    def chain(self, m: int) -> np.ndarray:
        p = int(self.parent[m])
        if p < 0:
            return self.seeds[m : m + 1].copy()
        base = self.parents[p]
        return np.append(base, self.seeds[m]) if self.mutated[m] else base.copy()

    def genomes(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        stop = self.count if stop is None else stop
        dec = decoder_for(self.tag, self.kind, self.initial, self.sigma, self.flip_prob, capacity=2 * len(self.parents) + 8)
        rows = []
        for m in range(start, stop):
            p = int(self.parent[m])
            if p >= 0 and self.mutated[m]:
                rows.append(dec.mutate(dec.decode(self.parents[p]), self.seeds[m]))  # a child: one mutation
            else:
                rows.append(dec.decode(self.chain(m)))
        dtype = np.uint8 if self.kind == "bits" else np.float32
        return np.array(rows, dtype=dtype).reshape(stop - start, -1)

    def subset(self, rows: list[int]) -> "GAMembers":
        return GAMembers(self.tag, self.kind, self.initial, self.sigma, self.flip_prob, self.parents,
                         self.parent[rows], self.seeds[rows], self.mutated[rows])

    def wire_bytes(self) -> int:
        """Bytes that describe this generation: parent chains + (parent, seed) per member."""
        return sum(c.nbytes for c in self.parents) + self.count * (8 + 4)


@dataclass(frozen=True)
class GAState:
    parents: tuple  #: chains (uint64 arrays) of this generation's parents
    elite: np.ndarray | None  #: the elite's chain (None before the first generation is told)
    elite_score: float  #: its validation mean
    generation: int
    seed: int
    elite_episodes: int = 0  #: validation episodes pooled into elite_score (elite_running_mean)


class GA(Strategy):
    """Truncation selection, one mutation per child, a validated elite; seed-chain genomes."""

    name = "ga"
    genome_kinds = ("bits", "reals")
    tracks_best = False

    def __init__(self, n_params: int, kind: str, initial, population: int = 100, truncation: int = 10, elites: int = 5,
                 validation_episodes: int = 30, sigma: float = 0.02, flip_prob: float = 0.01, elite_running_mean: bool = False,
                 tag: tuple = (), stratified_validation: bool = False):
        if kind not in self.genome_kinds:
            raise ConfigError(f"the GA searches bit or real genomes, got {kind!r}")
        GAConfig(population=population, truncation=truncation, elites=elites, validation_episodes=validation_episodes, sigma=sigma,
                 flip_prob=flip_prob, elite_running_mean=elite_running_mean, stratified_validation=stratified_validation).check()
        self.n_params, self.kind, self.initial = int(n_params), kind, initial
        self.population, self.truncation, self.elites = int(population), int(truncation), int(elites)
        self.validation_episodes = int(validation_episodes)
        self.elite_running_mean = bool(elite_running_mean)
        self.stratified_validation = bool(stratified_validation)
        self.sigma, self.flip_prob = float(sigma), float(flip_prob)
        self.tag = ("ga", kind, self.n_params, self.sigma, self.flip_prob, *tag)

    @classmethod
    def from_config(cls, family, config) -> "GA":
        return cls(family.n_params, family.genome_kind, family.initial_genome, **config.strategy_kwargs(), tag=(family.name, tuple(family.layer_sizes)))

    def _members(self, parents, parent, seeds, mutated) -> GAMembers:
        return GAMembers(self.tag, self.kind, self.initial, self.sigma, self.flip_prob, list(parents), parent, seeds, mutated)

    def init(self, seed: int) -> GAState:
        return GAState(parents=(), elite=None, elite_score=float("-inf"), generation=0, seed=int(seed))

    def ask(self, state: GAState) -> GAMembers:
        n, g = self.population, state.generation
        seeds = np.array([chain_seed(state.seed, g, m) for m in range(n)], dtype=np.uint64)
        if state.elite is None:  # the first generation: fresh genomes, chains (tau_0,)
            return self._members((), np.full(n, -1), seeds, np.ones(n, bool))
        parents = list(state.parents)
        elite_index = next((i for i, c in enumerate(parents) if np.array_equal(c, state.elite)), None)
        if elite_index is None:
            parents.append(state.elite)
            elite_index = len(parents) - 1
        choice = np.empty(n, dtype=np.int64)
        _choices(state.seed, g, n, len(parents), choice)
        mutated = np.ones(n, bool)
        choice[0], mutated[0], seeds[0] = elite_index, False, 0  # the elite, unmutated
        return self._members(parents, choice, seeds, mutated)

    def validation(self, state: GAState, members: GAMembers, fitness: np.ndarray):
        """The elite candidates to re-evaluate -- the current elite first, then the best
        ``elites`` children -- and their episodes: ``(members, request)``."""
        order = _ranking(fitness)
        first = 0 if state.elite is None else 1  # member 0 is the elite's copy
        children = [int(m) for m in order if m >= first][: self.elites]
        rows = ([0] if state.elite is not None else []) + children
        if not rows:
            return None
        return members.subset(rows), EpisodeRequest(self.validation_episodes, VALIDATE, state.generation, stratified=self.stratified_validation)

    def _tell(self, state: GAState, members: GAMembers, fitness: np.ndarray, validation=None):
        order = _ranking(fitness)
        candidates, scores = [], []
        counts = []
        if validation is not None:
            vm, vfit = validation
            candidates = [vm.chain(i) for i in range(vm.count)]
            scores = list(np.where(np.isnan(vfit), -np.inf, vfit))
            counts = [self.validation_episodes] * len(scores)
            # candidate 0 is the current elite: pool this generation's episodes with its earlier ones
            if (self.elite_running_mean and state.elite is not None and state.elite_episodes > 0
                    and np.isfinite(state.elite_score) and np.isfinite(scores[0])):
                n, v = state.elite_episodes, self.validation_episodes
                scores[0] = (n * state.elite_score + v * scores[0]) / (n + v)
                counts[0] = n + v
        if candidates:
            best = int(np.argmax(scores))  # ties: the first, i.e. the current elite
            elite, elite_score, elite_episodes = candidates[best], float(scores[best]), int(counts[best])
        else:
            elite, elite_score, elite_episodes = members.chain(int(order[0])), float("nan"), 0
        parents = [members.chain(int(m)) for m in order[: self.truncation]]
        finite = fitness[np.isfinite(fitness)]
        top = fitness[order[: self.truncation]]
        metrics = {
            "ga/elite_validation_mean": elite_score,
            "ga/parents_mean": float(np.nanmean(top)) if np.isfinite(top).any() else float("nan"),
            "ga/children_mean": float(finite.mean()) if finite.size else float("nan"),
            "ga/children_max": float(finite.max()) if finite.size else float("nan"),
            "ga/chain_length": float(len(elite)),
            "ga/wire_bytes": float(members.wire_bytes()),
        }
        return replace(state, parents=tuple(parents), elite=elite, elite_score=elite_score, elite_episodes=elite_episodes), metrics

    def center(self, state: GAState) -> np.ndarray:
        """The validated elite (before the first generation: the initializer's genome)."""
        if state.elite is None:
            g = np.asarray(self.initial(state.seed))
        else:
            g = Decoder(self.kind, self.initial, self.sigma, self.flip_prob).decode(state.elite, cache=False)
        return g.astype(np.uint8 if self.kind == "bits" else np.float32)

    def state_to_arrays(self, state: GAState) -> dict[str, np.ndarray]:
        chains = list(state.parents)
        return {
            "parent_chains": np.concatenate(chains) if chains else np.zeros(0, np.uint64),
            "parent_lengths": np.array([len(c) for c in chains], dtype=np.int64),
            "elite": state.elite if state.elite is not None else np.zeros(0, np.uint64),
            "elite_score": np.array(state.elite_score),
            "elite_episodes": np.array(state.elite_episodes),
            "generation": np.array(state.generation),
            "seed": np.array(state.seed),
        }

    def state_from_arrays(self, arrays: dict[str, np.ndarray]) -> GAState:
        flat = np.asarray(arrays["parent_chains"], np.uint64)
        lengths = np.asarray(arrays["parent_lengths"], np.int64)
        if lengths.sum() != flat.shape[0]:
            raise ValueError("parent chains do not match their lengths")
        parents = tuple(np.split(flat, np.cumsum(lengths)[:-1])) if lengths.size else ()
        elite = np.asarray(arrays["elite"], np.uint64)
        return GAState(parents=parents, elite=elite if elite.size else None, elite_score=float(arrays["elite_score"]),
                       generation=int(arrays["generation"]), seed=int(arrays["seed"]),
                       elite_episodes=int(arrays.get("elite_episodes", 0)))  # 0: a checkpoint from before the option


def _ranking(fitness: np.ndarray) -> np.ndarray:
    """Member indices, best first (NaN last, ties by index)."""
    f = np.where(np.isnan(fitness), -np.inf, fitness)
    return np.argsort(-f, kind="stable")
