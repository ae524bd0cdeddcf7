"""Policies with memory on partially observable tasks: recurrent families against
feed-forward ones given the same budget, and POPGym's tasks.

Run:  python benchmarks/memory.py [TASK ...] [--seeds 0 1 2] [--families lstm ...] [--keep DIR]
      python benchmarks/memory.py table

Tasks (each row: `genome train PRESET --seed S [--set ...]` as a user types it, warm cache,
then the independent check `genome eval RUN --episodes 100 --json`):

* `cartpole-positions`: native CartPole-v1 with the positions only (`env.observe = [0, 2]`):
  `cartpole-pomdp` (binary_rnn), `cartpole-pomdp-lstm` (lstm), and the same presets with a
  feed-forward family (binary_mlp, mlp) and the same budget;
* `pendulum-angle`: native Pendulum-v1 with cos and sin of the angle only: `pendulum-pomdp-lstm`
  and its mlp twin;
* `popgym-cartpole-easy`, `-medium`, `-hard`: the presets of the same names, POPGym's
  PositionOnlyCartPole (`pip install -e ".[popgym]"`) through the Gymnasium path; their returns
  are POPGym's normalized return already (1.0 is the maximum), beside POPGym's published
  baselines.

Writes benchmarks/results/memory.json (rows merged by task, family and seed).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

from common import GENOME, RESULTS, save, train_once  # benchmarks/common.py (the script's directory is on sys.path)

OUT = RESULTS / "memory.json"

#: task -> [(family label, training arguments, threshold or None, memory?)]
TASKS = {
    "cartpole-positions": [
        ("binary_rnn", ["cartpole-pomdp"], 475.0, True),
        ("lstm", ["cartpole-pomdp-lstm"], 475.0, True),
        ("binary_mlp", ["cartpole-pomdp", "--set", "policy.family=binary_mlp"], 475.0, False),
        ("mlp", ["cartpole-pomdp-lstm", "--set", "policy.family=mlp"], 475.0, False),
    ],
    "pendulum-angle": [
        ("lstm", ["pendulum-pomdp-lstm"], -200.0, True),
        ("mlp", ["pendulum-pomdp-lstm", "--set", "policy.family=mlp"], -200.0, False),
    ],
    **{f"popgym-cartpole-{level}": [("lstm", [f"popgym-cartpole-{level}"], 0.999, True)] for level in ("easy", "medium", "hard")},
}


def run_task(task: str, seeds: list[int], out: Path, families: list[str] | None = None) -> list[dict]:
    import subprocess

    rows = []
    for label, args, threshold, memory in TASKS[task]:
        if families and label not in families:
            continue
        for seed in seeds:
            name = f"{task}-{label}-{seed}"
            wall = train_once(args, out, name, seed)
            s = json.loads((out / name / "summary.json").read_text())
            ev = json.loads(subprocess.run(GENOME + ["eval", str(out / name), "--episodes", "100", "--json"], capture_output=True, text=True, check=True).stdout)
            reached = threshold is not None and ev["mean"] >= threshold
            rows.append({"task": task, "family": label, "memory": memory, "seed": seed, "args": args, "solved": s["solved"], "reached": reached,
                         "threshold": threshold, "eval_mean": ev["mean"], "eval_std": ev["std"], "frames": s["frames"], "episodes": s["episodes"],
                         "generations": s["generations"], "wall_seconds": wall, "size_bits": s["size_bits"]})
            print(f"{name}: eval {ev['mean']:.1f} ± {ev['std']:.1f} ({'reaches' if reached else 'misses'} {threshold}), "
                  f"{s['frames'] / 1e6:.2f} M frames, {wall:.1f} s", flush=True)
    return rows


#: POPGym's published baselines (Morad et al., ICLR 2023, appendix Table 3: MMER, the
#: maximum over training of the mean episodic return, normalized to [0, 1]; mean of three
#: trials of PPO): the best memory model and the MLP. The values are transcribed from
#: secondary sources quoting the table, not checked against the paper's PDF here; the step
#: budget is POPGym's own baseline script (popgym/baselines/ppo.py: POPGYM_STEPS, default
#: 15e6 timesteps per trial; 4 workers x 16 environments, a 128-unit MLP around a 256-unit memory).
POPGYM_REFERENCE = {
    "popgym-cartpole-easy": {"env": "PositionOnlyCartPoleEasy (StatelessCartPoleEasy)", "best": ("LSTM", 1.0), "mlp": 0.722},
    "popgym-cartpole-medium": {"env": "PositionOnlyCartPoleMedium", "best": ("LSTM", 1.0), "mlp": 0.398},
    "popgym-cartpole-hard": {"env": "PositionOnlyCartPoleHard", "best": ("LSTM", 1.0), "mlp": 0.265},
}
POPGYM_STEPS = "15 M environment steps of PPO per trial"


def popgym_table(data: dict) -> str:
    """genome's memory family on POPGym's tasks beside POPGym's published best model."""
    out = ["| POPGym environment | genome family | seeds | independent 100-episode eval (normalized return) per seed | frames per run (median) | "
           "POPGym's best memory model (MMER) | POPGym's MLP (MMER) | POPGym's steps |",
           "| --- | --- | --- | --- | ---: | --- | ---: | --- |"]
    for task, ref in POPGYM_REFERENCE.items():
        rows = sorted((r for r in data["rows"] if r["task"] == task), key=lambda r: r["seed"])
        if not rows:
            continue
        out.append(f"| {ref['env']} | `{rows[0]['family']}` | {', '.join(str(r['seed']) for r in rows)} | "
                   f"{', '.join(format(r['eval_mean'], '.3f') for r in rows)} | {statistics.median(r['frames'] for r in rows) / 1e6:.2f} M | "
                   f"{ref['best'][0]} {ref['best'][1]:.3f} | {ref['mlp']:.3f} | {POPGYM_STEPS} |")
    return "\n".join(out)


def table(data: dict) -> str:
    out = ["| task | family | memory | seeds | reaches the threshold (independent 100-episode eval) | eval mean per seed | frames (median) | warm wall per run (median) | weight bits |",
           "| --- | --- | --- | --- | ---: | --- | ---: | ---: | ---: |"]
    groups: dict[tuple, list[dict]] = {}
    for r in data["rows"]:
        groups.setdefault((r["task"], r["family"]), []).append(r)
    for (task, family), rows in groups.items():
        rows = sorted(rows, key=lambda r: r["seed"])
        th = rows[0]["threshold"]
        out.append(f"| {task} | `{family}` | {'yes' if rows[0]['memory'] else 'no'} | {', '.join(str(r['seed']) for r in rows)} | "
                   f"{sum(r['reached'] for r in rows)}/{len(rows)} (>= {th:g}) | {', '.join(format(r['eval_mean'], '.1f') for r in rows)} | "
                   f"{statistics.median(r['frames'] for r in rows) / 1e6:.2f} M | {statistics.median(r['wall_seconds'] for r in rows):.1f} s | "
                   f"{rows[0]['size_bits']:,} |")
    return "\n".join(out)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tasks", nargs="*", default=["cartpole-positions", "pendulum-angle"])
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--keep", help="keep run directories here (finished runs are reported, not retrained)")
    parser.add_argument("--families", nargs="*", help="only these rows' families (default: all)")
    args = parser.parse_args(argv)
    data = json.loads(OUT.read_text()) if OUT.exists() else {"rows": []}
    if args.tasks != ["table"]:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(args.keep) if args.keep else Path(tmp)
            out.mkdir(parents=True, exist_ok=True)
            for task in args.tasks:
                rows = run_task(task, args.seeds, out, args.families)
                keys = {(r["task"], r["family"], r["seed"]) for r in rows}
                data["rows"] = [r for r in data["rows"] if (r["task"], r["family"], r["seed"]) not in keys] + rows
                save(data, OUT)
    print(table(data))
    if any(r["task"] in POPGYM_REFERENCE for r in data["rows"]):
        print(popgym_table(data))


if __name__ == "__main__":
    sys.exit(main())
