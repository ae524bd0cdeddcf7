"""The first `genome train` on an empty kernel cache, and the warm command, as a user runs them.

Run:  python benchmarks/cold_start.py [--preset cartpole] [--repeats 3] [--seeds 10]

Each cold run gets a fresh, empty numba cache (``NUMBA_CACHE_DIR`` set to a new temporary
directory, so nothing of an existing cache is touched) and times the whole command:
process start, imports, compiling the kernels, training, the stopping test, writing the
run. Cold runs alternate between the default (the rollout compiles in the run's process
while a helper process compiles the other kernels, genome/warmup.py) and
``GENOME_COMPILE_AHEAD=0`` (everything in one process, one kernel after the other). Then the
warm command over ``--seeds`` seeds on the last cache. Prints a table and writes
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
    parser.add_argument("--out", default=str(RESULTS / "cold_start.json"))
    args = parser.parse_args(argv)

    modes = {"compile ahead (default)": "1", "one process (GENOME_COMPILE_AHEAD=0)": "0"}
    cold: dict[str, list[float]] = {m: [] for m in modes}
    warm: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = os.environ.copy()
        cache = None
        for r in range(args.repeats):
            for mode, switch in modes.items():
                cache = Path(tmp) / f"cache-{r}-{switch}"
                cache.mkdir()
                env = dict(base, NUMBA_CACHE_DIR=str(cache), GENOME_COMPILE_AHEAD=switch)
                cmd = GENOME + ["train", args.preset, "--seed", "0", "--out", tmp, "--name", f"cold-{r}-{switch}", "--quiet"]
                cold[mode].append(timed(cmd, env))
                print(f"cold, {mode}: {cold[mode][-1]:.2f} s", flush=True)
        env = dict(base, NUMBA_CACHE_DIR=str(cache))
        for seed in range(args.seeds):
            cmd = GENOME + ["train", args.preset, "--seed", str(seed), "--out", tmp, "--name", f"warm-{seed}", "--quiet"]
            warm.append(timed(cmd, env))
    results = {
        "preset": args.preset,
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "cold_seconds": cold,
        "cold_median_seconds": {m: statistics.median(v) for m, v in cold.items()},
        "warm_seconds": warm,
        "warm_median_seconds": statistics.median(warm),
    }
    print(f"\n`genome train {args.preset}` on {results['cpu']}, {results['cores']} cores")
    for mode, values in cold.items():
        print(f"  cold, {mode:40s} median {statistics.median(values):6.2f} s  ({', '.join(f'{v:.2f}' for v in values)})")
    print(f"  warm, seeds 0-{args.seeds - 1}{'':30s} median {results['warm_median_seconds']:6.2f} s  "
          f"(min {min(warm):.2f}, max {max(warm):.2f})")
    save(results, args.out)
    return results


if __name__ == "__main__":
    main()
