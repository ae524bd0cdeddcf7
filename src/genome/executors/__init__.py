"""Executors: *where* members are evaluated -- in process, on worker processes, or on a
Ray cluster (docs/architecture.md, docs/cluster.md). :func:`make_executor` picks one by
``run.executor``; Ray is imported only when it is chosen."""

from __future__ import annotations

from genome.executors.base import Executor, WorkerError, split_tasks
from genome.executors.local import LocalExecutor


def make_executor(run, native: bool) -> Executor:
    """The executor ``run.executor`` names. ``local``: threads over the fused kernels for a
    native environment, worker processes for a Gymnasium one (``run.workers == 1``: in-process);
    ``processes``: worker processes for either; ``ray``: tasks on a Ray cluster
    (``run.ray_address``), imported only here and only then."""
    if run.executor == "ray":
        from genome.executors.ray import RayExecutor

        return RayExecutor(run.ray_address, timeout=run.task_timeout, cpus_per_task=run.ray_cpus_per_task)
    if run.executor == "processes" or (not native and run.workers != 1):
        from genome.executors.processes import ProcessExecutor

        return ProcessExecutor(run.workers, timeout=run.task_timeout)
    return LocalExecutor(run.threads)


__all__ = ["Executor", "LocalExecutor", "WorkerError", "make_executor", "split_tasks"]
