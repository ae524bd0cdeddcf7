"""LunarLander-v3 experiment log: one change to a preset at a time -- `lunarlander` (binary
NES, issue 6) or, for experiments named `es-*`, `lunarlander-es` (real linear, OpenAI-ES).

Run:  python benchmarks/lunarlander_experiments.py EXPERIMENT [...] [--seeds 0 1 2] [--max-frames 10000000]
      python benchmarks/lunarlander_experiments.py --list
      python benchmarks/lunarlander_experiments.py --table

Each (experiment, seed) trains with the preset plus the experiment's overrides under a frame
budget, then `genome eval RUN --episodes 100 --seed 1000+seed` scores the policy on fresh
start states. Rows accumulate in benchmarks/results/lunarlander_experiments.json (a rerun
of the same experiment and seed replaces its row); --table prints the README table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import RESULTS, save  # benchmarks/common.py (the script's directory is on sys.path)

LOG = RESULTS / "lunarlander_experiments.json"
GENOME = [sys.executable, "-m", "genome.cli"]

#: name -> (what changes, --set overrides)
EXPERIMENTS: dict[str, tuple[str, list[str]]] = {
    "baseline": ("the lunarlander preset: 64 hidden, 16 bits/dim running edges, pop 256, 3 episodes (common starts), lr 10, |theta| <= 3", []),
    "episodes-6": ("6 episodes per member instead of 3", ["env.episodes=6"]),
    "independent-starts": ("members get their own start states (no common random numbers)", ["env.common_starts=false"]),
    "lr-5": ("learning rate 5 instead of 10", ["strategy.lr=5.0"]),
    "lr-20": ("learning rate 20 instead of 10", ["strategy.lr=20.0"]),
    "linear": ("binary linear policy: no hidden layer", ["policy.hidden=[]"]),
    "hidden-128": ("128 hidden units instead of 64", ["policy.hidden=[128]"]),
    "bits-32": ("32 thermometer bits per dimension instead of 16", ["policy.bits_per_dim=32"]),
    "population-512": ("population 512 instead of 256", ["strategy.population=512"]),
    "theta-max-2": ("logit bound 2 (probabilities in [0.12, 0.88]) instead of 3", ["strategy.theta_max=2.0"]),
    "entropy-0.05": ("natural-gradient entropy bonus 0.05 (logits pulled toward 0)", ["strategy.entropy=0.05"]),
    "linear-lr-20": ("the two best single changes together: linear policy and learning rate 20", ["policy.hidden=[]", "strategy.lr=20.0"]),
    "linear-lr-20-long": ("linear-lr-20 with a 20 M-frame budget (run with --max-frames 20000000); both runs stopped early on a passed test but scored below it: the saved policy carried the edges of one generation later than the test (bug, fixed)", ["policy.hidden=[]", "strategy.lr=20.0"]),
    "linear-lr-20-se2": ("linear-lr-20-fixed, and the stopping test passes only when its 100-episode mean minus 2 standard errors reaches 200 (run.target_se = 2)", ["policy.hidden=[]", "strategy.lr=20.0", "run.target_se=2.0"]),
    "linear-lr-20-fixed": ("linear-lr-20, 20 M-frame budget, after the fix: the saved policy keeps the encoder edges its stopping test used", ["policy.hidden=[]", "strategy.lr=20.0"]),
    # lunarlander-es: real linear policy, OpenAI-ES. The first preset: pop 100, sigma 0.1, Adam lr 0.05, l2 0.005, 1 episode, target_se 2
    "es-first": ("first lunarlander-es: pop 100, sigma 0.1, Adam lr 0.05, l2 0.005, 1 episode per member, stop at mean - 2 SE >= 200", ["strategy.sigma=0.1", "strategy.lr=0.05", "run.target_se=2.0"]),
    "es-lr-0.02": ("es-first with Adam lr 0.02", ["strategy.sigma=0.1", "strategy.lr=0.02", "run.target_se=2.0"]),
    "es-sigma-0.05": ("es-first with sigma 0.05", ["strategy.sigma=0.05", "strategy.lr=0.05", "run.target_se=2.0"]),
    "es-se-3": ("es-first, stop at mean - 3 SE >= 200", ["strategy.sigma=0.1", "strategy.lr=0.05", "run.target_se=3.0"]),
    "es-l2-0": ("es-first without L2 decay (l2 = 0)", ["strategy.sigma=0.1", "strategy.lr=0.05", "run.target_se=2.0", "strategy.l2=0.0"]),
    "es-se-2.5": ("es-first, stop at mean - 2.5 SE >= 200", ["strategy.sigma=0.1", "strategy.lr=0.05", "run.target_se=2.5"]),
    "es-pop-200": ("es-first with population 200", ["strategy.sigma=0.1", "strategy.lr=0.05", "run.target_se=2.0", "strategy.population=200"]),
    "es-lr-0.1": ("es-first with Adam lr 0.1", ["strategy.sigma=0.1", "strategy.lr=0.1", "run.target_se=2.0"]),
    "es-paired": ("es-first, but each antithetic pair shares a start state and every pair has its own (env.paired_starts) instead of one start for all", ["strategy.sigma=0.1", "strategy.lr=0.05", "run.target_se=2.0", "env.common_starts=false", "env.paired_starts=true"]),
    "es-independent": ("es-first, every member its own start state", ["strategy.sigma=0.1", "strategy.lr=0.05", "run.target_se=2.0", "env.common_starts=false"]),
    "es-paired-lr-0.1": ("es-paired with Adam lr 0.1", ["strategy.sigma=0.1", "strategy.lr=0.1", "run.target_se=2.0", "env.common_starts=false", "env.paired_starts=true"]),
    "es-eval-200": ("es-first, the stopping test uses 200 episodes", ["strategy.sigma=0.1", "strategy.lr=0.05", "run.target_se=2.0", "run.eval_episodes=200"]),
}


def load_log() -> list[dict]:
    return json.loads(LOG.read_text())["runs"] if LOG.exists() else []


def table(rows: list[dict]) -> str:
    by: dict[str, list[dict]] = {}
    for r in rows:
        by.setdefault(r["experiment"], []).append(r)
    out = [
        "| experiment | change | seeds | frames per run | wall per run | independent eval mean per seed | median |",
        "| --- | --- | --- | ---: | ---: | --- | ---: |",
    ]
    for name, runs in by.items():
        runs.sort(key=lambda r: r["seed"])
        evals = [r["eval_mean"] for r in runs]
        out.append(
            f"| `{name}` | {EXPERIMENTS.get(name, ('?',))[0]} | {len(runs)} | {statistics.median(r['frames'] for r in runs) / 1e6:.1f} M | "
            f"{statistics.median(r['wall_seconds'] for r in runs):.0f} s | {', '.join(f'{e:.1f}' for e in evals)} | {statistics.median(evals):.1f} |"
        )
    return "\n".join(out)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiments", nargs="*")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0])
    parser.add_argument("--max-frames", type=int, default=10_000_000)
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--table", action="store_true")
    args = parser.parse_args(argv)
    if args.list:
        for name, (what, sets) in EXPERIMENTS.items():
            print(f"{name:20s} {what}  {' '.join(sets)}")
        return
    rows = load_log()
    for name in args.experiments:
        if name not in EXPERIMENTS:
            raise SystemExit(f"unknown experiment {name!r} (see --list)")
        for seed in args.seeds:
            with tempfile.TemporaryDirectory() as tmp:
                preset = "lunarlander-es" if name.startswith("es-") else "lunarlander"
                cmd = GENOME + ["train", preset, "--out", tmp, "--name", "run", "--seed", str(seed), "--max-frames", str(args.max_frames), "--quiet"]
                for s in EXPERIMENTS[name][1]:
                    cmd += ["--set", s]
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True)
                wall = time.perf_counter() - t0
                summary = json.loads((Path(tmp) / "run" / "summary.json").read_text())
                ev = json.loads(subprocess.run(GENOME + ["eval", str(Path(tmp) / "run"), "--episodes", "100", "--seed", str(1000 + seed), "--json"], check=True, capture_output=True, text=True).stdout)
            row = {"experiment": name, "seed": seed, "max_frames": args.max_frames, "frames": summary["frames"], "generations": summary["generations"],
                   "wall_seconds": wall, "solved": summary["solved"], "eval_mean": ev["mean"], "eval_std": ev["std"]}
            # re-read the log: another screening may have written rows meanwhile
            rows = [r for r in load_log() if not (r["experiment"] == name and r["seed"] == seed)] + [row]
            save({"runs": rows}, LOG)
            print(f"{name:20s} seed {seed}: eval {ev['mean']:7.1f} ± {ev['std']:5.1f}  ({summary['frames'] / 1e6:.1f}M frames, {wall / 60:.1f} min)", flush=True)
    if args.table or args.experiments:
        print(table(rows))


if __name__ == "__main__":
    main()
