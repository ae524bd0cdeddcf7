"""Executors decide *where* evaluation tasks run; the trainer never knows which.

Every executor takes ``(problem, members, request)`` and returns an :class:`EvalResult`
with one row per member, in member order. The in-process executor runs the fused numba
kernel on all local cores; a process pool (:mod:`genome.rollout.pool`) and a Ray cluster
(:mod:`genome.rollout.ray_executor`) implement the same method by splitting the work with
:func:`split_tasks` into member ranges (or episode slices) that workers regenerate
themselves. A task is a pure function of its inputs, so any split, and any retry, gives
the same numbers (docs/architecture.md, docs/cluster.md).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numba
import numpy as np

from genome.rollout.problem import EpisodeRequest, EvalResult, NativeProblem, evaluate_members
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
        return evaluate_members(problem, members, 0, members.count, request)


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


def make_executor(run, native: bool) -> Executor:
    """The executor ``run.executor`` names. ``local``: threads over the fused kernels for a
    native environment, worker processes for a Gymnasium one (``run.workers == 1``: in-process);
    ``processes``: worker processes for either; ``ray``: tasks on a Ray cluster
    (``run.ray_address``), imported only here and only then."""
    if run.executor == "ray":
        from genome.rollout.ray_executor import RayExecutor

        return RayExecutor(run.ray_address, timeout=run.task_timeout, cpus_per_task=run.ray_cpus_per_task)
    if run.executor == "processes" or (not native and run.workers != 1):
        from genome.rollout.pool import ProcessExecutor

        return ProcessExecutor(run.workers, timeout=run.task_timeout)
    return LocalExecutor(run.threads)
