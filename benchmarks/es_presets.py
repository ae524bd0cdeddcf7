"""The OpenAI-ES presets end to end: `cartpole-es` (10 seeds), `lunarlander-es` and
`pendulum-es` (3 seeds each).

Run:  python benchmarks/es_presets.py [--presets cartpole-es lunarlander-es pendulum-es] [--seeds N]

For every seed it times the whole command `genome train PRESET --seed S` as a user sees it
(after one warm-up run of the preset, so numba's cache is warm), then runs the independent
check `genome eval RUN --episodes 100 --json` (the default evaluation seed: start states
the training never used). Prints a markdown table and writes
benchmarks/results/es_presets.json.

The LunarLander reference row is EvoTorch 0.6's PGPE+ClipUp with its own LunarLander
configuration (real linear policy, seeds 0-2), measured on this 2-core machine: it stops
on a 20-episode test after 2.1-2.6 M frames and 75-90 s, and its policies score 178, 190
and 211 on an independent 100-episode evaluation.
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
SEEDS = {"cartpole-es": 10, "lunarlander-es": 3, "pendulum-es": 3}
THRESHOLD = {"cartpole-es": 475.0, "lunarlander-es": 200.0, "pendulum-es": None}
EVOTORCH_LUNARLANDER = {"frames_m": "2.1-2.6", "seconds": "75-90", "evals": [178, 190, 211]}


def bench(preset: str, seeds: int, tmp: str) -> dict:
    run(GENOME + ["train", preset, "--out", tmp, "--name", f"{preset}-warmup", "--quiet", "--generations", "2", "--target", "none"])
    rows = []
    for seed in range(seeds):
        name = f"{preset}-s{seed}"
        wall, _ = run(GENOME + ["train", preset, "--out", tmp, "--name", name, "--seed", str(seed), "--quiet"])
        summary = json.loads((Path(tmp) / name / "summary.json").read_text())
        _, out = run(GENOME + ["eval", str(Path(tmp) / name), "--episodes", "100", "--json"])
        ev = json.loads(out)
        rows.append({"seed": seed, "command_seconds": wall, "train_seconds": summary["wall_seconds"], "solved": summary["solved"],
                     "generations": summary["generations"], "frames": summary["frames"], "stop_test_mean": summary["eval_mean"],
                     "eval_mean": ev["mean"], "eval_std": ev["std"], "eval_min": ev["min"], "policy_bytes": summary["policy_bytes"]})
        print(f"{preset} seed {seed}: {'solved' if summary['solved'] else 'not solved'} in {summary['generations']} gens, "
              f"{summary['frames'] / 1e6:.2f}M frames, command {wall:.2f} s; genome eval {ev['mean']:.1f} ± {ev['std']:.1f}", flush=True)
    threshold = THRESHOLD[preset]
    return {
        "preset": preset,
        "seeds": seeds,
        "solved": sum(r["solved"] for r in rows),
        "eval_at_threshold": None if threshold is None else sum(r["eval_mean"] >= threshold for r in rows),
        "threshold": threshold,
        "command_seconds_median": statistics.median(r["command_seconds"] for r in rows),
        "command_seconds_worst": max(r["command_seconds"] for r in rows),
        "frames_median": statistics.median(r["frames"] for r in rows),
        "eval_means": [r["eval_mean"] for r in rows],
        "runs": rows,
    }


def table(results: dict) -> str:
    out = ["| preset | seeds | solved | independent eval >= threshold | eval means (100 episodes) | median frames | median command wall |",
           "| --- | ---: | ---: | ---: | --- | ---: | ---: |"]
    for r in results.values():
        at = "-" if r["threshold"] is None else f"{r['eval_at_threshold']}/{r['seeds']} (>= {r['threshold']:g})"
        out.append(f"| `{r['preset']}` | {r['seeds']} | {r['solved']}/{r['seeds']} | {at} | {', '.join(f'{e:.1f}' for e in r['eval_means'])} | "
                   f"{r['frames_median'] / 1e6:.2f} M | {r['command_seconds_median']:.2f} s |")
        if r["preset"] == "lunarlander-es":
            ref = EVOTORCH_LUNARLANDER
            out.append(f"| EvoTorch 0.6 PGPE+ClipUp (reference, same machine) | 3 | 3/3 (20-episode test) | 1/3 | "
                       f"{', '.join(map(str, ref['evals']))} | {ref['frames_m']} M | {ref['seconds']} s |")
    return "\n".join(out)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="*", default=list(SEEDS))
    parser.add_argument("--seeds", type=int, default=0, help="seeds per preset (default: 10 for cartpole-es, 3 otherwise)")
    parser.add_argument("--out", default=str(RESULTS / "es_presets.json"))
    args = parser.parse_args(argv)
    path = Path(args.out)
    results = json.loads(path.read_text()) if path.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        for preset in args.presets:
            results[preset] = bench(preset, args.seeds or SEEDS[preset], tmp)
            save(results, path)
    print(table(results))
    return results


if __name__ == "__main__":
    main()
