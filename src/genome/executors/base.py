"""The executor interface and the task split every distributed executor uses.

Executors decide *where* evaluation tasks run; the trainer never knows which. Every
executor takes ``(problem, members, request)`` and returns an :class:`EvalResult`
with one row per member, in member order. The in-process executor runs the fused numba
kernel on all local cores; a process pool (:mod:`genome.executors.processes`) and a Ray cluster
(:mod:`genome.executors.ray`) implement the same method by splitting the work with
:func:`split_tasks` into member ranges (or episode slices) that workers regenerate
themselves. A task is a pure function of its inputs, so any split, and any retry, gives
the same numbers (docs/architecture.md, docs/cluster.md).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from genome.problems.base import EpisodeRequest, EvalResult
from genome.strategies.base import Members


class Executor(ABC):
    @abstractmethod
    def evaluate(self, problem, members: Members, request: EpisodeRequest) -> EvalResult:
        """Returns and frames of every member, in member order."""

    def close(self) -> None:
        """Release workers (nothing to do for in-process execution)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def split_tasks(problem, n_members: int, request: EpisodeRequest, n_tasks: int) -> tuple[list[tuple[int, int, EpisodeRequest]], bool]:
    """``(start, stop, request)`` tasks covering ``n_members`` members, and whether they are
    episode slices of all members (few members with many episodes each: the center's check
    and stopping test; only problems whose episodes can be sliced, the Gymnasium ones) rather
    than member ranges."""
    slices = getattr(problem, "slices_episodes", False)
    if slices and n_members < n_tasks // 2 and request.episodes >= n_tasks:
        cuts = np.linspace(0, request.episodes, n_tasks + 1).astype(int)
        return [(0, n_members, request.slice(int(a), int(b))) for a, b in zip(cuts[:-1], cuts[1:]) if b > a], True
    bounds = np.linspace(0, n_members, min(n_members, n_tasks) + 1).astype(int)
    return [(int(a), int(b), request) for a, b in zip(bounds[:-1], bounds[1:]) if b > a], False


class WorkerError(RuntimeError):
    """An unexpected exception inside a worker (environment errors never get here: they fail
    their member inside the worker)."""
