"""The evaluation problem's interface: what to run (:class:`EpisodeRequest`), what comes
back (:class:`EvalResult`), and the helpers every executor uses.

A problem is a pure function from genomes to episode returns. Two kinds share one
interface -- ``evaluate(genomes, member_offset, request) -> EvalResult``, ``family``,
``set_family(family)``, ``gathers_stats``, ``spec``, ``close()`` --:
:class:`genome.problems.native.NativeProblem` (fused compiled rollouts) and
:class:`genome.problems.gym.GymProblem` (real Gymnasium environments). A problem's
``spec`` is its small picklable static part; ``spec.open(family)`` builds the problem
again in a worker. Everything random comes from ``(seed, request.purpose,
request.generation, episode)`` counters, so a problem can be evaluated anywhere, in any
split, and retried, with the same numbers (docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from genome import rng


@dataclass(frozen=True)
class EpisodeRequest:
    """Which episodes to run: ``episodes`` per member, start states keyed by
    ``(purpose, generation)``; shared by all members when ``common_starts``, else by the two
    members of each mirrored/antithetic pair when ``paired_starts``, else every member's own.

    A worker may get a slice of each member's episodes: episodes ``first_episode ..
    first_episode + episodes`` of ``total_episodes`` (0: the slice is the whole), so that
    one member's many episodes (a stopping test) spread over workers with the same
    numbers. Only the Gymnasium problem is given slices (the native one spreads
    (member, episode) pairs over threads itself)."""

    episodes: int
    purpose: int
    generation: int
    common_starts: bool = True
    paired_starts: bool = False
    #: ALE no-op starts enumerated instead of drawn (genome.problems.ale_starts.stratified_noops)
    stratified: bool = False
    first_episode: int = 0
    total_episodes: int = 0

    @property
    def starts_group(self) -> int:
        """Members that share start states: 0 all, 2 pairs, 1 none (the kernels' argument)."""
        return 0 if self.common_starts else (2 if self.paired_starts else 1)

    def episode_id(self, member: int, episode: int) -> int:
        """The counter of episode ``episode`` (of this slice) of global member ``member``."""
        e = self.first_episode + episode
        group = self.starts_group
        return e if group == 0 else (member // group) * (self.total_episodes or self.episodes) + e

    def slice(self, first: int, stop: int) -> "EpisodeRequest":
        return replace(self, episodes=stop - first, first_episode=self.first_episode + first, total_episodes=self.total_episodes or self.episodes)


@dataclass
class EvalResult:
    returns: np.ndarray  #: (members, episodes) float64; NaN for a failed member
    frames: np.ndarray  #: (members, episodes) int64
    failures: dict[int, str] = field(default_factory=dict)  #: member row -> reason
    #: per-member observation statistics (count, sum, sum of squares), when gathered
    obs_count: np.ndarray | None = None
    obs_sum: np.ndarray | None = None
    obs_sumsq: np.ndarray | None = None

    @property
    def fitness(self) -> np.ndarray:
        """Mean return per member (NaN for failed members: they rank last)."""
        return self.returns.mean(axis=1)

    @property
    def total_frames(self) -> int:
        return int(self.frames.sum())

    @staticmethod
    def concatenate_episodes(parts: list["EvalResult"]) -> "EvalResult":
        """Slices of the same members' episodes, in episode order (statistics add up)."""
        failures: dict[int, str] = {}
        for p in parts:
            for k, v in p.failures.items():
                failures.setdefault(k, v)
        returns = np.concatenate([p.returns for p in parts], axis=1)
        for m in failures:
            returns[m] = np.nan
        stats = all(p.obs_sum is not None for p in parts)
        return EvalResult(
            returns,
            np.concatenate([p.frames for p in parts], axis=1),
            failures,
            sum(p.obs_count for p in parts) if all(p.obs_count is not None for p in parts) else None,
            sum(p.obs_sum for p in parts) if stats else None,
            sum(p.obs_sumsq for p in parts) if stats else None,
        )

    @staticmethod
    def concatenate(parts: list["EvalResult"]) -> "EvalResult":
        failures, offset = {}, 0
        for p in parts:
            failures.update({offset + k: v for k, v in p.failures.items()})
            offset += p.returns.shape[0]
        stats = all(p.obs_sum is not None for p in parts)
        return EvalResult(
            np.concatenate([p.returns for p in parts]),
            np.concatenate([p.frames for p in parts]),
            failures,
            np.concatenate([p.obs_count for p in parts]) if all(p.obs_count is not None for p in parts) else None,
            np.concatenate([p.obs_sum for p in parts]) if stats else None,
            np.concatenate([p.obs_sumsq for p in parts]) if stats else None,
        )


def open_problem(spec, family, kept: dict):
    """The problem of ``spec`` (native or Gymnasium) with ``family``, as a worker process
    needs it: built once and kept in ``kept`` (Gymnasium environments stay open between
    tasks), then given each task's family with its frozen statistics."""
    key = repr(spec)
    problem = kept.get(key)
    if problem is None:
        problem = kept[key] = spec.open(family)
    problem.set_family(family)
    return problem


#: most bytes of decoded genomes one task holds at once: a task evaluates its members in
#: chunks of this size (a Nature-DQN genome is 6.8 MB; small genomes never split)
CHUNK_BYTES = 256 << 20


def evaluate_members(problem, members, start: int, stop: int, request: EpisodeRequest) -> EvalResult:
    """Members ``[start, stop)`` of a population description, regenerated and evaluated in
    chunks of at most :data:`CHUNK_BYTES` of genomes (a member's numbers do not depend on
    which chunk it is in: episode seeds follow its index)."""
    step = max(1, CHUNK_BYTES // max(1, 4 * problem.family.n_params))
    if stop - start <= step:
        return problem.evaluate(members.genomes(start, stop), start, request)
    return EvalResult.concatenate([problem.evaluate(members.genomes(a, min(a + step, stop)), a, request) for a in range(start, stop, step)])


def failed_result(n: int, episodes: int, reason: str, dims: int) -> EvalResult:
    """Every member of a task failed (zero observation statistics when ``dims``)."""
    stats = (np.zeros((n, dims)), np.zeros((n, dims))) if dims else (None, None)
    return EvalResult(np.full((n, episodes), np.nan), np.zeros((n, episodes), dtype=np.int64), {m: reason for m in range(n)}, np.zeros(n), *stats)


def member_arrays(family, genomes: np.ndarray, request: EpisodeRequest):
    """The arrays the members of ``request`` run: for training episodes a family's
    ``train_arrays(genomes, generation)`` where it has one (``binary_latent``'s relaxation),
    else -- and for center checks, tests and reports always -- ``decode_arrays(genomes)``."""
    if request.purpose == rng.START and hasattr(family, "train_arrays"):
        return family.train_arrays(genomes, request.generation)
    return family.decode_arrays(genomes)
