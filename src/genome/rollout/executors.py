"""Executors decide *where* evaluation tasks run; the trainer never knows which.

Every executor takes ``(problem, members, request)`` and returns an :class:`EvalResult`
with one row per member, in member order. The in-process executor runs the fused numba
kernel on all local cores; a process pool and a Ray cluster implement the same method by
splitting ``[0, members.count)`` into ranges that workers regenerate themselves.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numba

from genome.rollout.problem import EpisodeRequest, EvalResult, NativeProblem
from genome.strategies.base import Members


class Executor(ABC):
    @abstractmethod
    def evaluate(self, problem: NativeProblem, members: Members, request: EpisodeRequest) -> EvalResult:
        """Returns and frames of every member, in member order."""

    def close(self) -> None:
        """Release workers (nothing to do for in-process execution)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class LocalExecutor(Executor):
    """In-process: the fused kernels, threads over (member, episode) pairs."""

    def __init__(self, threads: int = 0):
        available = numba.config.NUMBA_NUM_THREADS
        self.threads = available if threads <= 0 else min(int(threads), available)
        numba.set_num_threads(self.threads)

    def evaluate(self, problem: NativeProblem, members: Members, request: EpisodeRequest) -> EvalResult:
        return problem.evaluate(members.genomes(0, members.count), 0, request)

