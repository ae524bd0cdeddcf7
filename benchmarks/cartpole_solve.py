"""Time to solve CartPole-v1 with `genome train cartpole`, over 10 seeds.

Run:  python benchmarks/cartpole_solve.py [--seeds 10] [--preset cartpole]

Times the *whole command* (process start, imports, loading the compiled kernels from
numba's cache, training, the 100-episode stopping test, writing the run) as a user sees
it, after one warm-up run so the compilation cache is warm. Then checks every policy with
`genome eval RUN --episodes 100 --json` (fresh start states, seed 1000 + s). Prints a
table and writes benchmarks/results/cartpole_solve.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from common import RESULTS, run, save  # benchmarks/common.py (the script's directory is on sys.path)

GENOME = [sys.executable, "-m", "genome.cli"]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--preset", default="cartpole")
    parser.add_argument("--out", default=str(RESULTS / "cartpole_solve.json"))
    args = parser.parse_args(argv)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        run(GENOME + ["train", args.preset, "--out", tmp, "--name", "warmup", "--quiet"])  # warm the cache
        for seed in range(args.seeds):
            name = f"s{seed}"
            wall, _ = run(GENOME + ["train", args.preset, "--out", tmp, "--name", name, "--seed", str(seed), "--quiet"])
            summary = json.loads((Path(tmp) / name / "summary.json").read_text())
            _, out = run(GENOME + ["eval", str(Path(tmp) / name), "--episodes", "100", "--seed", str(1000 + seed), "--json"])
            ev = json.loads(out)
            rows.append(
                {
                    "seed": seed,
                    "command_seconds": wall,
                    "train_seconds": summary["wall_seconds"],
                    "solved": summary["solved"],
                    "generations": summary["generations"],
                    "frames": summary["frames"],
                    "stop_test_mean": summary["eval_mean"],
                    "eval_mean": ev["mean"],
                    "eval_min": ev["min"],
                }
            )
            print(
                f"seed {seed}: {'solved' if summary['solved'] else 'NOT solved'} in {summary['generations']:3d} gens, "
                f"{summary['frames'] / 1e6:5.2f}M frames, command {wall:5.2f} s (training {summary['wall_seconds']:.2f} s), "
                f"genome eval mean {ev['mean']:.1f}"
            )
    walls = [r["command_seconds"] for r in rows]
    result = {
        "preset": args.preset,
        "seeds": args.seeds,
        "solved": sum(r["solved"] for r in rows),
        "eval_at_least_475": sum(r["eval_mean"] >= 475 for r in rows),
        "command_seconds_median": statistics.median(walls),
        "command_seconds_worst": max(walls),
        "train_seconds_median": statistics.median(r["train_seconds"] for r in rows),
        "frames_median": statistics.median(r["frames"] for r in rows),
        "frames_worst": max(r["frames"] for r in rows),
        "runs": rows,
    }
    print(
        f"{result['solved']}/{args.seeds} solved, {result['eval_at_least_475']}/{args.seeds} with genome eval >= 475; "
        f"whole command median {result['command_seconds_median']:.2f} s, worst {result['command_seconds_worst']:.2f} s; "
        f"training median {result['train_seconds_median']:.2f} s; frames median {result['frames_median'] / 1e6:.2f}M"
    )
    save(result, args.out)
    return result


if __name__ == "__main__":
    main()
