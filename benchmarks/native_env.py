"""Your own environment at native speed: a CartPole written as a user environment
(examples/native_envs/cartpole.py, through genome's public API only) against genome's
built-in CartPole-v1, in the same fused rollout, measured in the same run.

Run:  python benchmarks/native_env.py             (speed)
      python benchmarks/native_env.py examples    (every example to its threshold, seeds 0-2)

* steps per second of the fused rollout, 1 and 2 threads: 256 copies of a policy trained by
  `genome.train("cartpole")` (every episode runs the full 500 steps), best of 5 repeats,
  the user and the built-in environment alternating;
* the cold first run: `genome train cartpole.py:CartPole` and `genome train cartpole` with
  an empty numba cache (a fresh `NUMBA_CACHE_DIR`), whole command.

`examples`: the folder examples/native_envs/ copied to a temporary directory, and each
command of its README table run there as printed, with `--seed 0`, `1`, `2` (a user's copy,
outside the repository), then the independent check `genome eval RUN --episodes 100 --json`;
rows go into the same JSON under "examples".

The user copy computes the same numbers as the built-in one (tests/envs/test_native_envs.py
checks that a run gives the same policy bytes). Writes benchmarks/results/native_env.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np

import genome
from genome import rng
from genome.build import build
from genome.config import load
from genome.problems import EpisodeRequest
from genome.problems.native import run_native
from common import GENOME, RESULTS, save  # benchmarks/common.py (the script's directory is on sys.path)

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "native_envs" / "cartpole.py"


def rate(setup, weights, thresholds, repeats: int = 5) -> float:
    best = 0.0
    warm = EpisodeRequest(1, rng.START, 0)
    run_native(setup.native, setup.problem.max_episode_steps, setup.family, (weights[:2], thresholds[:2]), setup.problem.seed, warm)
    for r in range(repeats):
        request = EpisodeRequest(4, rng.START, r, False)
        t0 = time.perf_counter()
        result = run_native(setup.native, setup.problem.max_episode_steps, setup.family, (weights, thresholds), setup.problem.seed, request)
        best = max(best, result.total_frames / (time.perf_counter() - t0))
    return best


def cold(args: list[str], cwd: Path) -> float:
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as out:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        t0 = time.perf_counter()
        subprocess.run(GENOME + ["train", *args, "--out", out, "--name", "run", "--quiet"], cwd=cwd, env=env, check=True, capture_output=True)
        return time.perf_counter() - t0


def readme_commands() -> list[tuple[str, list[str]]]:
    """``(file, genome train arguments)`` of each row of examples/native_envs/README.md's table."""
    import re
    import shlex

    rows = []
    for line in (EXAMPLE.parent / "README.md").read_text().splitlines():
        m = re.match(r"\| `([\w.]+\.py)` \|.*\| `genome train (.+)` \|$", line)
        if m:
            rows.append((m.group(1), shlex.split(m.group(2))))
    return rows


def examples(seeds: list[int]) -> list[dict]:
    import shutil

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "native_envs"
        shutil.copytree(EXAMPLE.parent, folder)
        for file, cmd in readme_commands():
            for seed in seeds:
                name = f"{file[:-3]}-{seed}"
                t0 = time.perf_counter()
                subprocess.run(GENOME + ["train", *cmd, "--seed", str(seed), "--name", name, "--quiet"], cwd=folder, check=True, capture_output=True)
                wall = time.perf_counter() - t0
                s = json.loads((folder / "outputs" / name / "summary.json").read_text())
                ev = json.loads(subprocess.run(GENOME + ["eval", f"outputs/{name}", "--episodes", "100", "--json"], cwd=folder, check=True,
                                               capture_output=True, text=True).stdout)
                rows.append({"file": file, "command": "genome train " + " ".join(cmd), "seed": seed, "solved": s["solved"], "target": s.get("target"),
                             "eval_mean": ev["mean"], "frames": s["frames"], "generations": s["generations"], "wall_seconds": wall})
                print(f"{file} seed {seed}: {'solved' if s['solved'] else 'NOT solved'} in {s['generations']} generations, "
                      f"{s['frames'] / 1e6:.2f} M frames, {wall:.1f} s; independent eval {ev['mean']:.2f}", flush=True)
    return rows


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", nargs="?", default="speed", choices=["speed", "examples"])
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--out", default=str(RESULTS / "native_env.json"))
    args = parser.parse_args(argv)
    previous = json.loads(Path(args.out).read_text()) if Path(args.out).exists() else {}  # each mode keeps the other's rows
    if args.mode == "examples":
        results = {**previous, "examples": examples(args.seeds)}
        save(results, args.out)
        return results
    trained = genome.train("cartpole", seed=0).policy
    weights = np.repeat(trained.weights[None], 256, axis=0)
    thresholds = np.repeat(trained.thresholds[None], 256, axis=0)
    setups = {"built-in CartPole-v1": build(load("cartpole")[0]),
              "user CartPole (examples/native_envs/cartpole.py)": build(load(f"{EXAMPLE}:CartPole")[0])}
    rows = []
    for threads in (1, 2):
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        rates = {label: [] for label in setups}
        for _ in range(3):  # alternate: this VM's speed drifts between minutes
            for label, setup in setups.items():
                rates[label].append(rate(setup, weights, thresholds))
        base = max(rates["built-in CartPole-v1"])
        for label, r in rates.items():
            rows.append({"label": label, "threads": numba.get_num_threads(), "steps_per_s": max(r), "ratio": max(r) / base})
            print(f"{label}, {numba.get_num_threads()} thread(s): {max(r) / 1e6:.1f} M steps/s ({max(r) / base:.2f} of the built-in)", flush=True)
    results = {**previous, "cores": numba.config.NUMBA_NUM_THREADS, "numba": numba.__version__, "rows": rows,
               "user_cold_seconds": cold(["cartpole.py:CartPole"], EXAMPLE.parent),
               "builtin_cold_seconds": cold(["cartpole"], EXAMPLE.parent)}
    print(f"cold first run: user {results['user_cold_seconds']:.1f} s, built-in {results['builtin_cold_seconds']:.1f} s")
    save(results, args.out)
    return results


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
