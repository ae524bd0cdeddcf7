"""What Ray costs per generation, what it sends, and what that means at 720 cores.

Run:  python benchmarks/ray_overhead.py [--repeats 20]

For two workloads -- CartPole (native, the `cartpole` preset: binary 64-hidden network,
Bernoulli NES, population 256, fused kernels) and LunarLander-v3 (Gymnasium, the
`lunarlander-es` preset: linear policy, OpenAI-ES, population 100) -- one generation's
evaluation (`executor.evaluate(problem, members, request)`, the same members every time)
is timed with the local executors (numba threads / worker processes) and with Ray on a
private local cluster, each with 1 and 2 CPUs; the median of `--repeats` evaluations after
two warm-up ones. Bytes per generation: the object put into Ray's object store, the tasks'
arguments and their results, pickled.

Projection: a driver submits and collects tasks one after another, so its per-task cost
`c` (measured with tasks that do nothing, on this machine) bounds the scale: a generation
of `T` tasks on `P` cores takes about `max(work / P, c * T + work / T) + o`, with `o` a
task's fixed cost on its slot. The script prints that
for the Deep GA / OpenAI-ES scale (720 cores) from the measured per-member costs.
Writes benchmarks/results/ray_overhead.json.
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import time

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # the private cluster stays on 127.0.0.1

import numpy as np  # noqa: E402
import ray  # noqa: E402

from common import RESULTS, save  # noqa: E402  (benchmarks/common.py)
from genome import rng  # noqa: E402
from genome.api import resolve_config  # noqa: E402
from genome.build import build  # noqa: E402
from genome.executors import LocalExecutor  # noqa: E402
from genome.executors.processes import ProcessExecutor  # noqa: E402
from genome.problems import EpisodeRequest  # noqa: E402
from genome.executors.ray import RayExecutor  # noqa: E402

WORKLOADS = {"cartpole": "native", "lunarlander-es": "gymnasium"}


def timed(ex, problem, members, request, repeats: int) -> tuple[float, object]:
    for _ in range(2):
        result = ex.evaluate(problem, members, request)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = ex.evaluate(problem, members, request)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def ray_bytes(problem, members, request, slots: int) -> dict:
    from genome.executors import split_tasks

    blob = pickle.dumps((problem.spec, problem.family, members), protocol=5)
    tasks, _ = split_tasks(problem, members.count, request, 2 * slots)
    args = sum(len(pickle.dumps((a, b, r, 1), protocol=5)) for a, b, r in tasks)
    results = sum(len(pickle.dumps(problem.evaluate(members.genomes(a, b), a, r), protocol=5)) for a, b, r in tasks)
    n = members.count
    return {"object_store": len(blob), "task_args": args, "results": results, "tasks": len(tasks),
            "per_member_sent": (len(blob) + args) / n, "per_member_returned": results / n,
            "genomes_would_be": int(members.genomes(0, n).nbytes)}


def per_task_cost(n_tasks: int = 2000) -> tuple[float, float]:
    """Seconds per task that do nothing but take an object reference, as the real tasks do:
    the driver's submission alone, and submission to result on this machine's 2 slots."""

    @ray.remote
    def noop(ref, a, b):
        return a

    ref = ray.put(b"x" * 1000)
    ray.get([noop.remote(ref, i, i) for i in range(200)])  # warm the workers
    t0 = time.perf_counter()
    refs = [noop.remote(ref, i, i) for i in range(n_tasks)]
    t1 = time.perf_counter()
    ray.get(refs)
    return (t1 - t0) / n_tasks, (time.perf_counter() - t0) / n_tasks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    out: dict = {"machine_cores": os.cpu_count(), "repeats": args.repeats, "workloads": {}}
    for preset, kind in WORKLOADS.items():
        cfg, _ = resolve_config(preset, {})
        setup = build(cfg)
        problem, strategy = setup.problem, setup.strategy
        members = strategy.ask(strategy.init(0))
        request = EpisodeRequest(cfg.env.episodes, rng.START, 0, cfg.env.common_starts, cfg.env.paired_starts)
        row: dict = {"kind": kind, "members": members.count, "episodes": cfg.env.episodes}
        for cpus in (1, 2):
            ex = LocalExecutor(cpus) if kind == "native" else ProcessExecutor(cpus)
            with ex:
                t, local = timed(ex, problem, members, request, args.repeats)
            row[f"local_{cpus}"] = t
            ray.init(num_cpus=cpus, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
            with RayExecutor("local") as ex:
                t, result = timed(ex, problem, members, request, args.repeats)
                assert np.array_equal(result.returns, local.returns), "Ray and the local executor disagree"
                if cpus == 2:
                    row["bytes"] = ray_bytes(problem, members, request, ex.slots)
                    row["frames"] = int(result.frames.sum())
            ray.shutdown()
            row[f"ray_{cpus}"] = t
            row[f"overhead_{cpus}"] = row[f"ray_{cpus}"] - row[f"local_{cpus}"]
        row["work_per_member_s"] = row["local_1"] / members.count
        out["workloads"][preset] = row
        print(f"{preset:15s} ({kind}, {members.count} members): local {row['local_1'] * 1e3:7.1f} / {row['local_2'] * 1e3:7.1f} ms, "
              f"ray {row['ray_1'] * 1e3:7.1f} / {row['ray_2'] * 1e3:7.1f} ms (1 / 2 CPUs); "
              f"sent {row['bytes']['object_store'] + row['bytes']['task_args']:,} B, returned {row['bytes']['results']:,} B per generation")

    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    c, total = per_task_cost()
    ray.shutdown()
    # the driver's submission is serial; the rest of a task's fixed cost (scheduling, the
    # worker's side) runs in parallel on the slots, 2 here: per slot it costs `slots * total`
    o = 2 * total
    out["submit_seconds_per_task"], out["task_seconds_per_slot"] = c, o
    print(f"per task: {c * 1e6:.0f} us to submit (driver, serial), {o * 1e6:.0f} us fixed cost on its slot "
          "(upper bounds: driver, raylet, GCS and workers share this machine's 2 cores)")

    # projection to 720 cores (the Deep GA's and, halved, OpenAI-ES's 1,440): one generation
    # of `members` members at the measured work per member, one task per core. The driver
    # submits tasks one after another while earlier ones run, so a generation takes about
    # max(work / cores, c * tasks + work / tasks) -- the last task starts after c * tasks --
    # plus the fixed cost o of the task on its slot.
    cores = 720
    workloads = {name: (row["work_per_member_s"], 10_000) for name, row in out["workloads"].items()}
    throughput = RESULTS / "gym_throughput.json"  # benchmarks/gym_throughput.py: worker-path steps/s per core
    if throughput.exists():
        import json

        rows = {r["env"]: r for r in json.loads(throughput.read_text())["rows"]}
        if "HalfCheetah-v5" in rows:  # ARS-style: 1,000-step episodes, population 10,000 as OpenAI-ES's Humanoid
            workloads["halfcheetah (1,000-step episodes)"] = (1000 / rows["HalfCheetah-v5"]["genome_steps_per_s"], 10_000)
    proj = {}
    for name, (per_member, population) in workloads.items():
        work = per_member * population
        tasks = cores
        ideal = work / cores
        t = max(ideal, c * tasks + work / tasks) + o
        proj[name] = {"cores": cores, "population": population, "tasks": tasks, "ideal_s": ideal,
                      "driver_s": c * tasks, "projected_s": t, "efficiency": ideal / t}
        print(f"  {name}: population {population:,} on {cores} cores, {tasks} tasks: {ideal * 1e3:,.1f} ms of work per core, "
              f"{c * tasks * 1e3:,.0f} ms to submit -> {t * 1e3:,.0f} ms per generation, efficiency {ideal / t:.0%}")
    # break-even: the work per task at which submitting costs 10% of a generation
    out["work_per_core_for_90pct_s"] = 9 * (c * cores + o)
    print(f"  90% efficiency on {cores} cores needs >= {9 * (c * cores + o):.1f} s of work per core per generation")
    out["projection"] = proj
    save(out, RESULTS / "ray_overhead.json")


if __name__ == "__main__":
    main()
