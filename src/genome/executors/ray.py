"""Evaluation on a Ray cluster: the same tasks as the process pool, run by Ray.

This module is the only place that imports Ray, and it is imported only when
``run.executor = "ray"`` (the ``genome[ray]`` extra). What travels (docs/cluster.md):

* once per evaluation, ``ray.put((problem spec, policy family, members))``: the problem's
  static description, the family with its frozen observation statistics, and the
  *description* of the members (distribution parameters and the generation; the GA's parent
  chains and ``(parent, seed)`` pairs) -- never genomes;
* per task, the object reference, a member range (or an episode slice) and the episode
  request; back come returns, frames, failures and observation statistics.

A task regenerates its members from that description, so it is a pure function of its
inputs: when a worker process or a whole node is lost, Ray runs the task again
(``max_retries``) and the run's numbers do not change. The shared object is
pickled by genome itself (see :func:`_evaluate`). A task that runs past
``run.task_timeout`` is cancelled and its members fail with the reason, as in the process
pool. Each worker process keeps its problems (Gymnasium environments stay open) and the
GA's decoded parents between tasks.
"""

from __future__ import annotations

import os
import pickle
import socket
import time
from pathlib import Path

from genome.errors import ConfigError

try:
    import ray
    from ray.exceptions import GetTimeoutError, RayError, RayTaskError
except ImportError:  # pragma: no cover - exercised by the test that hides Ray
    raise ConfigError("run.executor = ray needs Ray: pip install 'genome[ray]'") from None

from genome.executors.base import Executor, WorkerError, split_tasks
from genome.problems.base import EpisodeRequest, EvalResult, evaluate_members, failed_result, open_problem
from genome.strategies.base import Members

_PROBLEMS: dict[str, object] = {}  # per worker process: problems kept open between tasks


@ray.remote
def _evaluate(blob: bytes, start: int, stop: int, request: EpisodeRequest, threads: int) -> EvalResult:
    """One task: members ``[start, stop)`` of ``blob``, the pickled ``(spec, family, members)``.

    The blob is unpickled here rather than handed over by Ray because Ray gives numpy arrays
    read-only out of its object store, and numba compiles a second copy of every kernel for
    read-only arguments (a minute of compilation on every new cluster)."""
    import numba

    spec, family, members = pickle.loads(blob)
    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    problem = open_problem(spec, family, _PROBLEMS)
    return evaluate_members(problem, members, start, stop, request)


def resolve_address(address: str) -> str | None:
    """``HOST:PORT`` of the cluster ``run.ray_address`` names (None: start a private one)."""
    if address == "local":
        return None
    if address == "auto":
        found = os.environ.get("RAY_ADDRESS", "")
        if not found:
            current = Path(os.environ.get("RAY_TMPDIR", "/tmp")) / "ray" / "ray_current_cluster"
            found = current.read_text().strip() if current.is_file() else ""
        if not found:
            raise ConfigError(
                "run.ray_address = auto: no Ray cluster runs on this machine; start one with "
                "`ray start --head`, give --ray-address HOST:PORT, or use --ray-address local"
            )
        address = found.removeprefix("ray://")
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=3.0):
            pass
    except (OSError, ValueError) as exc:
        reason = exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc)
        raise ConfigError(
            f"cannot reach the Ray cluster at {address} ({reason}); is it running (`ray status`)? "
            "Or use --ray-address local for a private one"
        ) from None
    return address


def _connect(address: str | None) -> None:
    """``ray.init`` on the main thread (Ray's driver expects it), quiet, without a dashboard."""
    kwargs = dict(logging_level="ERROR", log_to_driver=False)
    try:
        if address is None:
            ray.init(include_dashboard=False, **kwargs)
        else:
            ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()
        raise ConfigError(f"Ray could not connect to {address or 'a private local cluster'}: {first[0] if first else type(exc).__name__}") from None


class RayExecutor(Executor):
    """Evaluates members as Ray tasks of ``cpus_per_task`` CPUs each (native environments
    run that many fused-kernel threads per task)."""

    def __init__(self, address: str = "auto", timeout: float = 600.0, retries: int = 3, cpus_per_task: int = 1, tasks_per_cpu: int = 2):
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.cpus_per_task = int(cpus_per_task)
        self.tasks_per_cpu = int(tasks_per_cpu)
        self._owned = not ray.is_initialized()
        if self._owned:
            _connect(resolve_address(address))
        self.put_bytes = 0  #: bytes put into the object store so far (one object per evaluation)
        self.puts = 0

    @property
    def slots(self) -> int:
        """Tasks that can run at once on the cluster as it is now."""
        cpus = int(ray.cluster_resources().get("CPU", 1))
        return max(1, cpus // self.cpus_per_task)

    def evaluate(self, problem, members: Members, request: EpisodeRequest) -> EvalResult:
        blob = pickle.dumps((problem.spec, problem.family, members), protocol=5)
        self.put_bytes += len(blob)
        self.puts += 1
        ref = ray.put(blob)
        slots = self.slots
        tasks, by_episode = split_tasks(problem, members.count, request, slots * self.tasks_per_cpu)
        remote = _evaluate.options(num_cpus=self.cpus_per_task, max_retries=self.retries, retry_exceptions=False)
        refs = [remote.remote(ref, a, b, req, self.cpus_per_task) for a, b, req in tasks]
        # tasks queue when there are more than slots: each wave gets the full timeout
        deadline = time.monotonic() + self.timeout * -(-len(tasks) // slots)
        results: dict[int, EvalResult] = {}
        index = {r: i for i, r in enumerate(refs)}
        pending = list(refs)
        dims = problem.family.n_inputs if problem.gathers_stats else 0
        while pending:
            ready, pending = ray.wait(pending, num_returns=len(pending), timeout=max(0.0, min(1.0, deadline - time.monotonic())))
            for r in ready:
                i = index[r]
                a, b, req = tasks[i]
                try:
                    results[i] = ray.get(r)
                except RayTaskError as exc:
                    raise WorkerError(f"evaluation failed in a Ray task:\n{exc}") from None
                except (RayError, GetTimeoutError) as exc:  # the worker or its node was lost more than max_retries times
                    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    results[i] = failed_result(b - a, req.episodes, f"Ray task lost {self.retries + 1} times ({reason})", dims)
            if pending and time.monotonic() >= deadline:
                for r in pending:
                    ray.cancel(r, force=True)
                    a, b, req = tasks[index[r]]
                    results[index[r]] = failed_result(b - a, req.episodes, f"evaluation timed out after {self.timeout:g} s", dims)
                pending = []
        parts = [results[i] for i in range(len(tasks))]
        return EvalResult.concatenate_episodes(parts) if by_episode else EvalResult.concatenate(parts)

    def close(self) -> None:
        if self._owned and ray.is_initialized():
            ray.shutdown()
            self._owned = False

