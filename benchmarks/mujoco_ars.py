"""MuJoCo locomotion at the sample efficiency of ARS: training episodes to reach the ARS
thresholds with the `*-ars` presets (linear policies, ARS V2-t as a configuration of genome's
OpenAI-ES), Gymnasium v5 environments.

Run:  python benchmarks/mujoco_ars.py [PRESET ...] [--seeds 0 1 2] [--max-frames N] [--backend envpool] [--keep DIR] [--set KEY=VALUE]
      python benchmarks/mujoco_ars.py structured [--seeds 0 1 2] [--keep DIR] [--backend envpool]

For each (preset, seed): `genome train PRESET --seed S` (stops when the center's 100-episode
test reaches the threshold, or at the preset's frame budget), then the independent check
`genome eval RUN --episodes 100 --json` (shift 0, frozen observation statistics). Reports
the training episodes (`summary.json: episodes` -- the members' episodes, as ARS counts
them; center checks and tests are in the frames but not in the episodes), the environment
steps, the wall time, and writes benchmarks/results/mujoco.json, a learning-curve PNG per
preset (center return against training episodes) and a markdown table.

`structured`: the compact policies with one hidden layer of 41 units (`halfcheetah-toeplitz`,
`halfcheetah-circulant`, `hopper-toeplitz`, `hopper-circulant`, and HalfCheetah's
unstructured `mlp` of the same shape), each trained for its preset's 5 M frames; the table
gives weight parameters (biases aside, as the chromatic networks paper counts them), bits,
mean and max of the run's final 100-episode evaluation beside the paper's rows (its column
is the best reward reached).

`--backend envpool` trains with `env.backend = "envpool"` (same episodes, EnvPool steps
them; the independent evaluation stays on Gymnasium).

ARS's numbers (Mania, Guy & Recht 2018, Table 1, V2-t: average episodes over 3 seeds to the
threshold) are for Gym v1 environments on MuJoCo 1.31: references, not the same task.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
from pathlib import Path

from common import GENOME, RESULTS, save, train_and_report, train_once  # benchmarks/common.py (the script's directory is on sys.path)

#: preset -> (environment, threshold, ARS V2-t published average episodes)
PRESETS = {
    "swimmer-ars": ("Swimmer-v5", 325, "100-427"),
    "hopper-ars": ("Hopper-v5", 3120, "1,973"),
    "halfcheetah-ars": ("HalfCheetah-v5", 3430, "1,707"),
    "walker2d-ars": ("Walker2d-v5", 4390, "24,000"),
}

#: label -> (environment, genome train arguments, (weight parameters, best reward) in Song,
#: Choromanski et al., "Reinforcement Learning with Chromatic Networks", Table 2)
STRUCTURED = {
    "halfcheetah toeplitz": ("HalfCheetah-v5", ["halfcheetah-toeplitz"], (103, 2525)),
    "halfcheetah circulant": ("HalfCheetah-v5", ["halfcheetah-circulant"], (82, 1728)),
    "halfcheetah mlp": ("HalfCheetah-v5", ["halfcheetah-toeplitz", "--set", "policy.family=mlp"], (943, 3614)),
    "hopper toeplitz": ("Hopper-v5", ["hopper-toeplitz"], (94, 2749)),
    "hopper circulant": ("Hopper-v5", ["hopper-circulant"], (82, 2680)),
}


def curve(run_dir: Path) -> dict[str, list[float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    episodes = {e.step: e.value for e in acc.Scalars("perf/episodes")}
    center = [(episodes[e.step], e.value) for e in acc.Scalars("center/return") if e.step in episodes]
    return {"episodes": [c[0] for c in center], "center": [c[1] for c in center]}


def plot(preset: str, runs: list[dict], threshold: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    for r in runs:
        ax.plot(r["curve"]["episodes"], r["curve"]["center"], lw=1.2, label=f"seed {r['seed']}")
    ax.axhline(threshold, color="k", lw=0.8, ls="--", label=f"threshold {threshold:g}")
    ax.set_xlabel("training episodes")
    ax.set_ylabel("center return")
    ax.set_title(f"genome train {preset} ({PRESETS[preset][0]})")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def table(results: dict) -> str:
    out = ["| preset | environment | threshold | solved | training episodes to threshold (per seed) | median | ARS V2-t (paper, Gym v1) | env steps (median) | wall (median, 2 cores) | independent eval (100 episodes) |",
           "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |"]
    for preset, r in results.items():
        env, threshold, ars = PRESETS[preset]
        eps = [x["episodes"] if x["solved"] else None for x in r["runs"]]
        shown = ", ".join(f"{e:,}" if e is not None else f"not within {x['frames'] / 1e6:.1f} M steps" for e, x in zip(eps, r["runs"]))
        solved = [e for e in eps if e is not None]
        # an unsolved seed counts as infinitely many episodes: the median exists while most seeds solve
        mid = statistics.median(e if e is not None else float("inf") for e in eps)
        median = f"{mid:,.0f}" if mid != float("inf") else "-"
        out.append(f"| `{preset}` | {env} | {threshold:,} | {len(solved)}/{len(eps)} | {shown} | {median} | {ars} | "
                   f"{statistics.median(x['frames'] for x in r['runs']) / 1e6:.2f} M | {statistics.median(x['wall_seconds'] for x in r['runs']):.0f} s | "
                   f"{', '.join(format(x['eval_mean'], '.0f') for x in r['runs'])} |")
    return "\n".join(out)


def structured_table(rows: list[dict]) -> str:
    out = ["| environment | family (17/11 -> 41 -> 6/3, tanh) | weight params | all params | bits | mean (median of seeds; each seed) | max | frames | paper: weight params, best reward |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["label"], []).append(r)
    for label, rs in groups.items():
        env, _, (w, best) = STRUCTURED[label]
        out.append(f"| {env} | {rs[0]['family']} | {rs[0]['weight_params']} | {rs[0]['params']} | {rs[0]['bits']:,} | "
                   f"{statistics.median(r['mean'] for r in rs):,.1f} ({', '.join(format(r['mean'], '.0f') for r in rs)}) | "
                   f"{max(r['max'] for r in rs):,.0f} | {statistics.median(r['frames'] for r in rs) / 1e6:.2f} M | {w}, {best:,} |")
    return "\n".join(out)


def structured(args) -> dict:
    path = RESULTS / "mujoco-structured.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.keep) if args.keep else Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        extra = ["--set", f"env.backend={args.backend}"]
        for label, (_, train_args, _) in STRUCTURED.items():
            for seed in args.seeds:
                row = train_and_report([*train_args, *extra], out, f"{label.replace(' ', '-')}-{seed}", seed)
                rows.append({"label": label, "backend": args.backend, **row})
    labels = {r["label"] for r in rows}
    data["rows"] = [r for r in data.get("rows", []) if r["label"] not in labels] + rows
    save(data, path)
    print(structured_table(data["rows"]))
    return data


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("presets", nargs="*", default=list(PRESETS))
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--max-frames", type=int, default=0, help="override the presets' frame budgets")
    parser.add_argument("--backend", choices=["gymnasium", "envpool"], default="gymnasium", help="env.backend for training")
    parser.add_argument("--keep", help="keep run directories here (finished runs are reported, not retrained)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="extra config override for the ARS presets' training (e.g. run.workers=1: results do not depend on it)")
    parser.add_argument("--out", default=str(RESULTS / "mujoco.json"))
    args = parser.parse_args(argv)
    if args.presets == ["structured"]:
        return structured(args)
    path = Path(args.out)
    results = json.loads(path.read_text()) if path.exists() else {}
    for preset in args.presets:
        runs = []
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(args.keep) if args.keep else Path(tmp)
            out.mkdir(parents=True, exist_ok=True)
            for seed in args.seeds:
                name = f"{preset}-{seed}" if args.keep else f"s{seed}"
                run = out / name
                train_args = [preset, "--set", f"env.backend={args.backend}"]
                for kv in args.set:
                    train_args += ["--set", kv]
                if args.max_frames:
                    train_args += ["--max-frames", str(args.max_frames)]
                wall = train_once(train_args, out, name, seed)
                s = json.loads((run / "summary.json").read_text())
                ev = json.loads(subprocess.run(GENOME + ["eval", str(run), "--episodes", "100", "--json"], capture_output=True, text=True, check=True).stdout)
                runs.append({"seed": seed, "backend": args.backend, "solved": s["solved"], "episodes": s["episodes"], "frames": s["frames"], "generations": s["generations"],
                             "wall_seconds": wall, "eval_mean": ev["mean"], "eval_std": ev["std"], "eval_max": ev["max"], "curve": curve(run)})
                print(f"{preset} seed {seed}: {'solved' if s['solved'] else 'not solved'} after {s['episodes']:,} training episodes, "
                      f"{s['frames'] / 1e6:.2f} M steps, {wall:.0f} s; genome eval {ev['mean']:.0f} ± {ev['std']:.0f}", flush=True)
        results[preset] = {"runs": runs}
        plot(preset, runs, PRESETS[preset][1], path.parent / f"mujoco-{preset}.png")  # beside the JSON (--out)
        save(results, path)
    print(table(results))
    return results


if __name__ == "__main__":
    main()
