"""The first `genome train` on an empty kernel cache, and the warm command, as a user runs them.

Run:  python benchmarks/cold_start.py [--preset cartpole] [--repeats 3] [--seeds 10] [--baseline DIR]

Each cold run gets a fresh, empty numba cache (``NUMBA_CACHE_DIR`` set to a new temporary
directory, so nothing of an existing cache is touched) and times the whole command:
process start, imports, compiling the kernels, training, the stopping test, writing the
run. Cold runs alternate between the default (the rollout compiles in the run's process
while a helper process compiles the other kernels, genome/warmup.py) and
``GENOME_COMPILE_AHEAD=0`` (everything in one process, one kernel after the other). Then the
warm command over ``--seeds`` seeds on the last cache. With ``--baseline DIR`` (another
checkout of genome, e.g. ``git worktree add /tmp/base <commit>``) each repeat also runs that
checkout's default cold command, and each warm seed its warm command, alternating with this
one's, so that before and after are measured on the same machine in the same minutes
(this project's VM drifts by 10-40% between hours). Prints a table and writes
benchmarks/results/cold_start.json. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from common import GENOME, RESULTS, cpu_name, save  # benchmarks/common.py (the script's directory is on sys.path)


def timed(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    return wall


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="cartpole")
    parser.add_argument("--repeats", type=int, default=3, help="cold runs per mode")
    parser.add_argument("--seeds", type=int, default=10, help="warm runs (seeds 0..N-1)")
    parser.add_argument("--baseline", help="another genome checkout to time alternately (its src/ on PYTHONPATH)")
    parser.add_argument("--out", default=str(RESULTS / "cold_start.json"))
    args = parser.parse_args(argv)

    modes = {"compile ahead (default)": "1", "one process (GENOME_COMPILE_AHEAD=0)": "0"}
    cold: dict[str, list[float]] = {m: [] for m in modes}
    warm: list[float] = []
    baseline = None
    if args.baseline:
        src = Path(args.baseline).resolve() / "src"
        if not (src / "genome").is_dir():
            raise SystemExit(f"--baseline {args.baseline}: no src/genome there; give the root of another genome checkout")
        commit = subprocess.run(["git", "-C", str(src.parent), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        baseline = {"path": str(src.parent), "commit": commit, "cold_seconds": [], "warm_seconds": []}
    with tempfile.TemporaryDirectory() as tmp:
        base = os.environ.copy()
        base_env = dict(base, PYTHONPATH=str(src)) if baseline else None
        cache = base_cache = None
        for r in range(args.repeats):
            for mode, switch in modes.items():
                cache = Path(tmp) / f"cache-{r}-{switch}"
                cache.mkdir()
                env = dict(base, NUMBA_CACHE_DIR=str(cache), GENOME_COMPILE_AHEAD=switch)
                cmd = GENOME + ["train", args.preset, "--seed", "0", "--out", tmp, "--name", f"cold-{r}-{switch}", "--quiet"]
                cold[mode].append(timed(cmd, env))
                print(f"cold, {mode}: {cold[mode][-1]:.2f} s", flush=True)
            if baseline:
                base_cache = Path(tmp) / f"cache-{r}-baseline"
                base_cache.mkdir()
                cmd = GENOME + ["train", args.preset, "--seed", "0", "--out", tmp, "--name", f"cold-{r}-baseline", "--quiet"]
                baseline["cold_seconds"].append(timed(cmd, dict(base_env, NUMBA_CACHE_DIR=str(base_cache))))
                print(f"cold, baseline {baseline['commit']}: {baseline['cold_seconds'][-1]:.2f} s", flush=True)
        env = dict(base, NUMBA_CACHE_DIR=str(cache))
        for seed in range(args.seeds):
            cmd = GENOME + ["train", args.preset, "--seed", str(seed), "--out", tmp, "--name", f"warm-{seed}", "--quiet"]
            warm.append(timed(cmd, env))
            if baseline:
                cmd = GENOME + ["train", args.preset, "--seed", str(seed), "--out", tmp, "--name", f"warm-{seed}-baseline", "--quiet"]
                baseline["warm_seconds"].append(timed(cmd, dict(base_env, NUMBA_CACHE_DIR=str(base_cache))))
    results = {
        "preset": args.preset,
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),  # this VM's speed drifts between days: a date makes runs comparable
        "cold_seconds": cold,
        "cold_median_seconds": {m: statistics.median(v) for m, v in cold.items()},
        "warm_seconds": warm,
        "warm_median_seconds": statistics.median(warm),
    }
    if baseline:
        results["baseline"] = baseline
    print(f"\n`genome train {args.preset}` on {results['cpu']}, {results['cores']} cores")
    for mode, values in cold.items():
        print(f"  cold, {mode:40s} median {statistics.median(values):6.2f} s  ({', '.join(f'{v:.2f}' for v in values)})")
    print(f"  warm, seeds 0-{args.seeds - 1}{'':30s} median {results['warm_median_seconds']:6.2f} s  "
          f"(min {min(warm):.2f}, max {max(warm):.2f})")
    if baseline:
        print(f"  baseline {baseline['commit']}: cold median {statistics.median(baseline['cold_seconds']):.2f} s, "
              f"warm median {statistics.median(baseline['warm_seconds']):.2f} s")
    save(results, args.out)
    return results


if __name__ == "__main__":
    main()
