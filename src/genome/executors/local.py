"""In-process evaluation: the problem runs here (native problems on numba's threads)."""

from __future__ import annotations

import numba

from genome.executors.base import Executor
from genome.problems.base import EpisodeRequest, EvalResult, evaluate_members
from genome.strategies.base import Members


class LocalExecutor(Executor):
    """In-process: the fused kernels, threads over (member, episode) pairs."""

    def __init__(self, threads: int = 0):
        available = numba.config.NUMBA_NUM_THREADS
        self.threads = available if threads <= 0 else min(int(threads), available)
        numba.set_num_threads(self.threads)

    def evaluate(self, problem, members: Members, request: EpisodeRequest) -> EvalResult:
        return evaluate_members(problem, members, 0, members.count, request)
