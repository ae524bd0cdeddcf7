"""The Deep Neuroevolution GA: bytes (wire, checkpoints, chains) and GA vs Bernoulli NES vs
OpenAI-ES at equal frames.

Run:  python benchmarks/ga.py bytes                 # population 1000, 100 generations, CartPole
      python benchmarks/ga.py compare [--seeds 0 1 2] [--tasks cartpole-binary cartpole-mlp lunarlander-binary lunarlander-linear]

`bytes`: a GA run with population 1000 and truncation 20 for 100 generations (CartPole,
binary 64-hidden network; the sizes depend on the population and the chain lengths, not on
the network): wire bytes per generation and per child (the parents' chains once plus
(parent index, seed) per child), the newest checkpoint's size, the elite's chain length
per generation -- next to the float32 weights of 1000 Nature-DQN networks for Frostbite
(1,693,362 parameters each), which those chains could stand for.

`compare`: the same frame budget for each strategy on each task; frames to solve (the
stopping test passed) or the score at the budget, then `genome eval RUN --episodes 100`.
Writes benchmarks/results/ga.json and prints markdown tables.
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

GENOME = [sys.executable, "-m", "genome.cli"]
NATURE_DQN_FROSTBITE = 1_693_362  # 3 convolutions + 512 units + 18 actions on 84x84x4

GA = ["--set", "strategy.name=ga"]
#: task -> (budget in frames, {strategy label: [genome train arguments]})
TASKS = {
    "cartpole-binary": (3_000_000, {
        "bernoulli_nes": ["cartpole"],
        "ga": ["cartpole", *GA, "--set", "strategy.population=256", "--set", "strategy.truncation=20", "--set", "strategy.elites=5",
               "--set", "strategy.validation_episodes=10", "--set", "strategy.flip_prob=0.002"],
    }),
    "cartpole-mlp": (3_000_000, {
        "openai_es": ["cartpole-es", "--set", "policy.family=mlp", "--set", "policy.hidden=[16]"],
        "ga": ["cartpole-es", "--set", "policy.family=mlp", "--set", "policy.hidden=[16]", *GA, "--set", "strategy.population=100",
               "--set", "strategy.truncation=10", "--set", "strategy.elites=5", "--set", "strategy.validation_episodes=10", "--set", "strategy.sigma=0.1"],
    }),
    "lunarlander-binary": (10_000_000, {
        "bernoulli_nes": ["lunarlander"],
        "ga": ["lunarlander", *GA, "--set", "strategy.population=256", "--set", "strategy.truncation=20", "--set", "strategy.elites=5",
               "--set", "strategy.validation_episodes=10", "--set", "strategy.flip_prob=0.005"],
    }),
    "lunarlander-linear": (3_000_000, {
        "openai_es": ["lunarlander-es"],
        "ga": ["lunarlander-es", *GA, "--set", "strategy.population=100", "--set", "strategy.truncation=10", "--set", "strategy.elites=5",
               "--set", "strategy.validation_episodes=10", "--set", "strategy.sigma=0.1"],
    }),
}


def bytes_figures(generations: int = 100, population: int = 1000) -> dict:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    with tempfile.TemporaryDirectory() as tmp:
        cmd = GENOME + ["train", "cartpole", "--out", tmp, "--name", "ga", "--quiet", "--target", "none", "--generations", str(generations),
                        *GA, "--set", f"strategy.population={population}", "--set", "strategy.truncation=20", "--set", "strategy.elites=10",
                        "--set", "strategy.validation_episodes=5", "--set", "strategy.flip_prob=0.002", "--set", "run.center_episodes=2",
                        "--set", "run.eval_episodes=10"]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        wall = time.perf_counter() - t0
        run = Path(tmp) / "ga"
        newest = sorted((run / "checkpoints").glob("gen-*.npz"))[-1]
        acc = EventAccumulator(str(run), size_guidance={"scalars": 0})
        acc.Reload()
        wire = [e.value for e in acc.Scalars("ga/wire_bytes")]
        chain = [e.value for e in acc.Scalars("ga/chain_length")]
        summary = json.loads((run / "summary.json").read_text())
        out = {
            "population": population, "generations": generations, "wall_seconds": wall, "frames": summary["frames"],
            "n_params": summary["n_params"], "checkpoint": newest.name, "checkpoint_bytes": newest.stat().st_size,
            "wire_bytes_per_generation_last": wire[-1], "wire_bytes_per_child_last": wire[-1] / population,
            "wire_bytes_per_generation": wire, "elite_chain_length": chain,
            "nature_dqn_weights_bytes_1000": 1000 * NATURE_DQN_FROSTBITE * 4,
        }
    print(f"population {population}, {generations} generations ({wall:.0f} s): checkpoint {out['checkpoint_bytes'] / 1024:.1f} KiB; "
          f"wire {out['wire_bytes_per_generation_last'] / 1024:.1f} KiB per generation ({out['wire_bytes_per_child_last']:.1f} B per child); "
          f"elite chain length {chain[-1]:.0f}; 1000 Nature-DQN networks: {out['nature_dqn_weights_bytes_1000'] / 2**30:.1f} GiB")
    return out


def compare(tasks: list[str], seeds: list[int]) -> dict:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for task in tasks:
            budget, strategies = TASKS[task]
            results[task] = {"budget": budget, "strategies": {}}
            for label, args in strategies.items():
                rows = []
                for seed in seeds:
                    name = f"{task}-{label}-{seed}"
                    t0 = time.perf_counter()
                    subprocess.run(GENOME + ["train", *args, "--out", tmp, "--name", name, "--seed", str(seed), "--quiet",
                                             "--generations", "0", "--max-frames", str(budget)], check=True, capture_output=True)
                    wall = time.perf_counter() - t0
                    s = json.loads((Path(tmp) / name / "summary.json").read_text())
                    ev = json.loads(subprocess.run(GENOME + ["eval", str(Path(tmp) / name), "--episodes", "100", "--json"], check=True, capture_output=True, text=True).stdout)
                    rows.append({"seed": seed, "solved": s["solved"], "frames": s["frames"], "wall_seconds": wall, "eval_mean": ev["mean"], "policy_bytes": s["policy_bytes"]})
                    print(f"{task:20s} {label:14s} seed {seed}: {'solved' if s['solved'] else 'budget'} at {s['frames'] / 1e6:.2f} M frames, "
                          f"{wall:.0f} s; genome eval {ev['mean']:.1f}", flush=True)
                results[task]["strategies"][label] = rows
    return results


def table(results: dict) -> str:
    out = ["| task | strategy | budget | solved | frames (median) | independent eval per seed | wall (median) |", "| --- | --- | ---: | ---: | ---: | --- | ---: |"]
    for task, r in results.items():
        for label, rows in r["strategies"].items():
            out.append(f"| {task} | `{label}` | {r['budget'] / 1e6:.0f} M | {sum(x['solved'] for x in rows)}/{len(rows)} | "
                       f"{statistics.median(x['frames'] for x in rows) / 1e6:.2f} M | {', '.join(format(x['eval_mean'], '.1f') for x in rows)} | "
                       f"{statistics.median(x['wall_seconds'] for x in rows):.0f} s |")
    return "\n".join(out)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=["bytes", "compare"])
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--tasks", nargs="*", default=list(TASKS))
    parser.add_argument("--out", default=str(RESULTS / "ga.json"))
    args = parser.parse_args(argv)
    path = Path(args.out)
    data = json.loads(path.read_text()) if path.exists() else {}
    if args.part == "bytes":
        data["bytes"] = bytes_figures()
    else:
        data.setdefault("compare", {}).update(compare(args.tasks, args.seeds))
        print(table(data["compare"]))
    save(data, path)
    return data


if __name__ == "__main__":
    main()
