"""A pool of worker processes for environments that hold the GIL (Box2D, MuJoCo, ALE).

Workers are started with ``spawn`` (forking a process that already runs numba's thread
pool is unsafe) and talk to the trainer over one pipe each. A task is ``(problem spec,
policy family, members, start, stop, request)``; the worker regenerates members ``[start, stop)``
itself from the members' description (distribution parameters, seed, generation), so
genomes never travel, and returns returns, frames, failures and observation statistics.

* A worker that dies (segfault, ``os._exit``, OOM kill) is replaced and its task is run
  again, up to ``retries`` times; because a task is a pure function of its inputs, the
  retry gives the numbers the first attempt would have.
* A task that runs longer than ``timeout`` seconds (an environment that hangs inside
  ``step``) has its worker killed and replaced, and its members fail with the reason.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
import traceback
import warnings
from multiprocessing.connection import wait

from genome.errors import MujocoWarning
from genome.executors.base import Executor, WorkerError, split_tasks
from genome.problems.base import EpisodeRequest, EvalResult, evaluate_members, failed_result, open_problem
from genome.strategies.base import Members


def _worker_main(conn) -> None:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    # a terminal's Ctrl-C reaches the whole process group: the trainer decides when to stop
    # (at the end of a generation) and then shuts the workers down
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # the trainer process made the same environments first and reported their warnings
    warnings.filterwarnings("ignore", category=MujocoWarning)
    problems: dict = {}
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            for p in problems.values():
                p.close()
            return
        spec, family, members, start, stop, request = msg
        try:
            problem = open_problem(spec, family, problems)
            result = evaluate_members(problem, members, start, stop, request)
        except Exception:  # noqa: BLE001 - a bug, not an environment failure: report it to the trainer
            conn.send(WorkerError(traceback.format_exc()))
            continue
        conn.send(result)


class _Worker:
    def __init__(self, ctx):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child,), daemon=True)
        # parallelism comes from processes: each worker's numba and BLAS (the conv family's
        # matrix products) run one thread (the child reads these before it imports numpy/numba)
        single = ("NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
        before = {k: os.environ.get(k) for k in single}
        os.environ.update({k: "1" for k in single})
        try:
            self.process.start()
        finally:
            for k, v in before.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        child.close()
        self.task: tuple | None = None
        self.started = 0.0
        self.attempts = 0

    def send(self, task, attempts: int) -> None:
        self.task, self.started, self.attempts = task, time.monotonic(), attempts
        self.conn.send(task[1])

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


class ProcessExecutor(Executor):
    """Evaluates members of a problem (usually a :class:`GymProblem`) on ``workers`` processes."""

    def __init__(self, workers: int = 0, timeout: float = 600.0, retries: int = 2, chunks_per_worker: int = 2):
        self.n_workers = workers if workers > 0 else (os.cpu_count() or 1)
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.chunks_per_worker = chunks_per_worker
        self._ctx = mp.get_context("spawn")
        self._workers: list[_Worker] = []
        self.restarts = 0

    def _ensure(self) -> None:
        self._workers = [w for w in self._workers if w.process.is_alive()]
        while len(self._workers) < self.n_workers:
            self._workers.append(_Worker(self._ctx))

    def evaluate(self, problem, members: Members, request: EpisodeRequest) -> EvalResult:
        tasks, by_episode = split_tasks(problem, members.count, request, self.n_workers * self.chunks_per_worker)
        results = self._run_tasks(problem, [(members, a, b, req) for a, b, req in tasks])
        return EvalResult.concatenate_episodes(results) if by_episode else EvalResult.concatenate(results)

    def _run_tasks(self, problem, tasks: list) -> list[EvalResult]:
        """Run ``(members, start, stop, request)`` tasks on the workers; results in task order."""
        pending = [(i, (problem.spec, problem.family, members, a, b, req)) for i, (members, a, b, req) in enumerate(tasks)]
        pending = [(i, msg, 0) for i, msg in pending]
        results: dict[int, EvalResult] = {}
        self._ensure()
        idle = list(self._workers)
        busy: list[_Worker] = []
        while pending or busy:
            while pending and idle:
                i, msg, attempts = pending.pop(0)
                w = idle.pop()
                w.send((i, msg), attempts)
                busy.append(w)
            ready = wait([w.conn for w in busy], timeout=1.0)
            now = time.monotonic()
            for w in list(busy):
                i, msg = w.task
                died = False
                if w.conn in ready:
                    try:
                        reply = w.conn.recv()
                    except (EOFError, OSError):
                        reply, died = None, True  # the pipe closed: the worker died
                    if isinstance(reply, WorkerError):
                        raise WorkerError(f"evaluation failed in a worker process:\n{reply}")
                    if reply is not None:
                        results[i] = reply
                        busy.remove(w)
                        idle.append(w)
                        continue
                elif not w.process.is_alive():
                    died = True
                elif now - w.started < self.timeout:
                    continue
                busy.remove(w)
                timed_out = not died
                w.kill()
                exitcode = w.process.exitcode
                self._workers.remove(w)
                self.restarts += 1
                replacement = _Worker(self._ctx)
                self._workers.append(replacement)
                idle.append(replacement)
                start, stop, episodes = msg[3], msg[4], msg[5].episodes
                dims = problem.family.n_inputs if problem.gathers_stats else 0
                if timed_out:
                    results[i] = failed_result(stop - start, episodes, f"evaluation timed out after {self.timeout:g} s", dims)
                elif w.attempts < self.retries:
                    pending.insert(0, (i, msg, w.attempts + 1))
                else:
                    results[i] = failed_result(stop - start, episodes, f"worker process died (exit code {exitcode}) {w.attempts + 1} times", dims)
        return [results[i] for i in sorted(results)]

    def close(self) -> None:
        for w in self._workers:
            try:
                w.conn.send(None)
            except (OSError, BrokenPipeError):
                pass
        for w in self._workers:
            w.process.join(5)
            if w.process.is_alive():
                w.process.kill()
        self._workers = []

