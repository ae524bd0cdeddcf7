"""Binary policies that walk: training episodes to ARS's thresholds for the binary presets
(`*-binary`: binary linear policies searched through real latent weights -- bit-plane
weights, `policy.family = binary_planes`, for Hopper and HalfCheetah; `binary_latent` for
Swimmer and Walker2d) beside the real `*-ars` presets, measured in the same script run.

Run:  python benchmarks/binary_mujoco.py compare [ENV ...] [--seeds 0 1 2] [--parallel 2] [--keep DIR] [--max-frames N]
      python benchmarks/binary_mujoco.py experiment LABEL PRESET [--set KEY=VALUE ...] [--seeds 0 1 2] [--max-frames N]
      python benchmarks/binary_mujoco.py table

`compare`: for each environment (swimmer, hopper, halfcheetah, walker2d, lunarlander) and
seed, `genome train` of its real preset (`ENV-ars`, `lunarlander-es`) and of its binary one
(`ENV-binary`, `lunarlander`), each stopping when the center's 100-episode test reaches the
threshold or at the preset's frame budget (or `--max-frames`: Walker2d's budget on two
cores), then the
independent check `genome eval RUN --episodes 100 --json`. Training episodes are the
members' episodes, as ARS counts them (`summary.json: episodes`). Runs go `--parallel` at a
time, each on one core (`run.workers = 1`: the numbers do not depend on it). Writes
benchmarks/results/binary_mujoco.json.

`experiment`: one configuration (a preset and `--set` overrides) on several seeds, appended
to benchmarks/results/binary_mujoco_experiments.json under LABEL -- the research table,
failures included. `table` prints both tables from the JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import GENOME, RESULTS, save  # benchmarks/common.py (the script's directory is on sys.path)

#: environment -> (Gymnasium id, threshold, ARS V2-t published average episodes, real preset, binary preset)
ENVS = {
    "swimmer": ("Swimmer-v5", 325, "100-427", "swimmer-ars", "swimmer-binary"),
    "hopper": ("Hopper-v5", 3120, "1,973", "hopper-ars", "hopper-binary"),
    "halfcheetah": ("HalfCheetah-v5", 3430, "1,707", "halfcheetah-ars", "halfcheetah-binary"),
    "walker2d": ("Walker2d-v5", 4390, "24,000", "walker2d-ars", "walker2d-binary"),
    "lunarlander": ("LunarLander-v3", 200, "-", "lunarlander-es", "lunarlander"),
}
#: preset -> its environment's threshold (what the experiment table counts as solved)
THRESHOLDS = {preset: spec[1] for spec in ENVS.values() for preset in spec[3:]}
KINDS = ("real", "binary")
COMPARE = RESULTS / "binary_mujoco.json"
EXPERIMENTS = RESULTS / "binary_mujoco_experiments.json"


def train_and_eval(preset: str, seed: int, out: Path, name: str, sets: list[str], max_frames: int = 0) -> dict:
    """``genome train PRESET --seed S`` (one core) and ``genome eval RUN --episodes 100``; a
    finished run in ``out/name`` is reported, not retrained."""
    run = out / name
    if not (run / "summary.json").exists():
        cmd = GENOME + ["train", preset, "--seed", str(seed), "--out", str(out), "--name", name, "--quiet", "--overwrite",
                        "--set", "run.workers=1"]
        for kv in sets:
            cmd += ["--set", kv]
        if max_frames:
            cmd += ["--max-frames", str(max_frames)]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"training {name} failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
        (run / "wall_seconds").write_text(f"{time.perf_counter() - t0:.1f}\n")
    s = json.loads((run / "summary.json").read_text())
    ev = json.loads(subprocess.run(GENOME + ["eval", str(run), "--episodes", "100", "--json"], capture_output=True, text=True, check=True).stdout)
    row = {"preset": preset, "seed": seed, "sets": sets, "solved": s["solved"], "episodes": s["episodes"], "frames": s["frames"],
           "generations": s["generations"], "max_frames": max_frames, "wall_seconds": float((run / "wall_seconds").read_text()), "eval_mean": ev["mean"],
           "eval_std": ev["std"], "size_bits": s["size_bits"], "n_params": s["n_params"], "family": s["family"],
           "best_center": best_center(run)}
    print(f"{name}: {'solved' if s['solved'] else 'not solved'} after {s['episodes']:,} training episodes, "
          f"{s['frames'] / 1e6:.2f} M steps, {row['wall_seconds']:.0f} s; eval {ev['mean']:.0f} ± {ev['std']:.0f}", flush=True)
    return row


def best_center(run: Path) -> float:
    """The best per-generation center check of a run (its TensorBoard log)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run), size_guidance={"scalars": 0})
    acc.Reload()
    values = [e.value for e in acc.Scalars("center/return") if e.value == e.value]
    return max(values) if values else float("nan")


def run_all(jobs: list[tuple], parallel: int) -> list[dict]:
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        return list(pool.map(lambda job: train_and_eval(*job), jobs))


def median_episodes(rows: list[dict], threshold: float | None = None) -> float:
    """Median training episodes; an unsolved seed counts as more than any solved one, and so
    does, given ``threshold``, a seed that stopped but whose independent eval missed it."""
    return statistics.median(r["episodes"] if reached(r, threshold) else float("inf") for r in rows)


def reached(row: dict, threshold: float | None = None) -> bool:
    """The run stopped on its test and (given ``threshold``) its independent 100-episode
    eval reached the threshold: what the table counts as solved."""
    return bool(row["solved"]) and (threshold is None or row["eval_mean"] >= threshold)


def fmt_median(v: float) -> str:
    return "-" if v == float("inf") else f"{v:,.0f}"


def experiment(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.keep) if args.keep else Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        jobs = [(args.preset, seed, out, f"{args.label}-{seed}", args.set, args.max_frames) for seed in args.seeds]
        rows = run_all(jobs, args.parallel)
    # read the table after the runs: rows another experiment saved meanwhile stay
    data = json.loads(EXPERIMENTS.read_text()) if EXPERIMENTS.exists() else {"rows": []}
    data["rows"] = [r for r in data["rows"] if not (r["label"] == args.label and r["seed"] in args.seeds)]
    data["rows"] += [{"label": args.label, "note": args.note, "max_frames": args.max_frames, **r} for r in rows]
    save(data, EXPERIMENTS)
    print(experiment_table(data))


def experiment_table(data: dict) -> str:
    """One line per experiment. A seed counts as solved, as in the comparison, when the run
    stopped on its test and its independent 100-episode eval reached the threshold."""
    out = ["| experiment | preset | overrides | seeds | solved (independent eval >= threshold) | training episodes (per seed) | median | best center check (per seed) | independent eval (per seed) | bits | note |",
           "| --- | --- | --- | --- | ---: | --- | ---: | --- | --- | ---: | --- |"]
    labels: dict[str, list[dict]] = {}
    for r in data["rows"]:
        labels.setdefault(r["label"], []).append(r)
    for label, rows in labels.items():
        rows = sorted(rows, key=lambda r: r["seed"])
        threshold = THRESHOLDS.get(rows[0]["preset"])
        out.append(f"| {label} | `{rows[0]['preset']}` | {' '.join(f'`{s}`' for s in rows[0]['sets']) or '-'} | "
                   f"{', '.join(str(r['seed']) for r in rows)} | {sum(reached(r, threshold) for r in rows)}/{len(rows)} | {episodes_cell(rows, threshold)} | "
                   f"{fmt_median(median_episodes(rows, threshold))} | {', '.join(format(r['best_center'], '.0f') for r in rows)} | "
                   f"{', '.join(format(r['eval_mean'], '.0f') for r in rows)} | {rows[0]['size_bits']:,} | {rows[0].get('note', '')} |")
    return "\n".join(out)


def episodes_cell(rows: list[dict], threshold: float | None) -> str:
    """Training episodes per seed; a run that stopped but whose eval missed the threshold, and
    one that never stopped, say so."""
    return ", ".join((f"{r['episodes']:,}" if reached(r, threshold) else f"{r['episodes']:,} (stopped; eval {r['eval_mean']:.1f})")
                     if r["solved"] else f"not in {r['frames'] / 1e6:.1f} M" for r in rows)


def compare(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.keep) if args.keep else Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        jobs = [(preset, seed, out, f"{preset}-{seed}", [], args.max_frames) for env in args.envs for preset in ENVS[env][3:] for seed in args.seeds]
        rows = run_all(jobs, args.parallel)
    # read the table after the runs: environments another comparison saved meanwhile stay
    data = json.loads(COMPARE.read_text()) if COMPARE.exists() else {}
    for env in args.envs:
        entry = data.setdefault(env, {kind: [] for kind in KINDS})
        for kind, preset in zip(KINDS, ENVS[env][3:]):
            new = [r for r in rows if r["preset"] == preset]
            entry[kind] = sorted([r for r in entry[kind] if r["seed"] not in args.seeds] + new, key=lambda r: r["seed"])
    save(data, COMPARE)
    print(compare_table(data))


def compare_table(data: dict) -> str:
    out = ["| environment | threshold | preset | seeds | solved (independent eval >= threshold) | training episodes to threshold (per seed) | median | frames (median) | binary / real (episodes, frames) | weight + threshold bits | independent eval (100 episodes) |",
           "| --- | ---: | --- | --- | ---: | --- | ---: | ---: | ---: | ---: | --- |"]
    for env, entry in data.items():
        gym_id, threshold, _, *presets = ENVS[env]
        real = entry.get("real", [])
        real_eps = median_episodes(real, threshold) if real else float("inf")
        real_frames = statistics.median(r["frames"] for r in real) if real else 0
        for kind, preset in zip(KINDS, presets):
            rows = entry.get(kind, [])
            if not rows:
                continue
            med = median_episodes(rows, threshold)
            frames = statistics.median(r["frames"] for r in rows)
            ratio = "-" if kind == "real" or real_eps in (0, float("inf")) or med == float("inf") else f"{med / real_eps:.2f}x, {frames / real_frames:.2f}x"
            eps = episodes_cell(rows, threshold)
            out.append(f"| {gym_id} | {threshold:,} | `{preset}` | {', '.join(str(r['seed']) for r in rows)} | {sum(reached(r, threshold) for r in rows)}/{len(rows)} | {eps} | "
                       f"{fmt_median(med)} | {frames / 1e6:.2f} M | {ratio} | {rows[0]['size_bits']:,} | {', '.join(format(r['eval_mean'], '.0f') for r in rows)} |")
    return "\n".join(out)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("compare")
    c.add_argument("envs", nargs="*", default=["swimmer", "hopper", "halfcheetah", "lunarlander"])
    c.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    c.add_argument("--parallel", type=int, default=2)
    c.add_argument("--keep")
    c.add_argument("--max-frames", type=int, default=0, help="stop each run here (0: the preset's own limit)")
    e = sub.add_parser("experiment")
    e.add_argument("label")
    e.add_argument("preset")
    e.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    e.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    e.add_argument("--max-frames", type=int, default=0)
    e.add_argument("--parallel", type=int, default=2)
    e.add_argument("--note", default="")
    e.add_argument("--keep")
    sub.add_parser("table")
    args = parser.parse_args(argv)
    if args.command == "compare":
        compare(args)
    elif args.command == "experiment":
        experiment(args)
    else:
        if COMPARE.exists():
            print(compare_table(json.loads(COMPARE.read_text())))
        if EXPERIMENTS.exists():
            print(experiment_table(json.loads(EXPERIMENTS.read_text())))


if __name__ == "__main__":
    sys.exit(main())
