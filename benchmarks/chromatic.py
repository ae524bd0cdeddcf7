"""Chromatic networks against the paper's table (Song, Choromanski et al. 2020, Table 1),
the trained controller against a frozen one, the H41 comparison of compact families, and
binary chromatic policies.

Run:  python benchmarks/chromatic.py paper  [--seeds 0 1 2] [--presets swimmer-chromatic ...]
      python benchmarks/chromatic.py frozen [--seeds 0 1 2]     # HalfCheetah, controller vs frozen, equal frames
      python benchmarks/chromatic.py h41    [--seeds 0 1 2]     # masked, toeplitz, circulant, mlp, chromatic with 41 hidden units
      python benchmarks/chromatic.py binary [--seeds 0]         # binary_chromatic on CartPole and LunarLander vs binary_mlp

Every run is `genome train PRESET --seed S` (budgets in the presets), then `genome report`
rows (the final 100-episode evaluation of the policy with the most likely coloring:
mean and max reward, weight parameters, compression, bits) and frames used. Writes
benchmarks/results/chromatic.json, markdown tables and PNGs of the colorings
(benchmarks/results/chromatic-*.png). Gymnasium v5 MuJoCo environments; the paper's
numbers are for Gym v2 on MuJoCo 1.5 and are references, not the same task.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
from pathlib import Path

from common import GENOME, RESULTS, save, train_and_report  # benchmarks/common.py

#: the paper's Table 1 rows: preset -> (mean reward, partitions)
PAPER = {"swimmer-chromatic": (97, 8), "hopper-chromatic": (216, 11), "halfcheetah-chromatic": (1812, 17), "halfcheetah-chromatic-h41": (2148, 17)}
#: the paper's H41 HalfCheetah comparison: family -> (weight parameters, best reward reached)
PAPER_H41 = {"chromatic": (17, 3779), "masked": (40, 4806), "toeplitz": (103, 2525), "circulant": (82, 1728), "mlp": (943, 3614)}
#: the H41 family comparison: the halfcheetah-chromatic-h41 preset's budget (10 M frames) and
#: controller rate (10) for every family (the rate moves only the controlled families'
#: colorings or masks); chromatic's runs are the paper part's preset runs (same names)
_H41 = ["halfcheetah-chromatic-h41"]
H41 = {
    "masked": [*_H41, "--set", "policy.family=masked"],
    "toeplitz": [*_H41, "--set", "policy.family=toeplitz"],
    "circulant": [*_H41, "--set", "policy.family=circulant"],
    "mlp": [*_H41, "--set", "policy.family=mlp"],
    "chromatic": _H41,
}
#: run names of the H41 table's rows
H41_NAMES = {label: ("halfcheetah-chromatic-h41" if label == "chromatic" else f"h41-10m-{label}") for label in H41}

#: the controller as in the MuJoCo presets: near one random coloring (init 3), rate 3 (with the
#: default uniform start CartPole reached 230 in 300 generations, LunarLander -138 in 15 M frames)
_CONTROL = ["--set", "policy.family=binary_chromatic", "--set", "policy.controller_init=3", "--set", "policy.controller_lr=3"]
BINARY = {
    "cartpole": (["cartpole", *_CONTROL, "--set", "policy.partitions=16"], ["cartpole"]),
    # at most 15 M frames (the binary MLP preset solves seed 0 in 17.3 M, 7.5 min on 2 cores)
    "lunarlander": (["lunarlander", *_CONTROL, "--set", "policy.partitions=32", "--set", "run.max_frames=15000000"],
                    ["lunarlander"]),
}


def plot(runs: list[Path], path: Path) -> None:
    subprocess.run(GENOME + ["report", *map(str, runs), "--plot", str(path)], check=True, capture_output=True)


def table(rows: list[dict], ref: dict | None = None) -> str:
    nbytes = any("policy_bytes" in r for r in rows)  # binary part: the policy file's size too
    out = ["| runs | architecture | family | partitions | mean (median of seeds) | max | weight params | bits |"
           + (" policy file bytes |" if nbytes else "") + " frames | paper |",
           "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |" + (" ---: |" if nbytes else "") + " ---: | --- |"]
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["label"], []).append(r)
    for label, rs in groups.items():
        paper = ref.get(label, "") if ref else ""
        out.append(f"| {label} ({len(rs)} seeds) | {rs[0]['architecture']} | {rs[0]['family']} | {rs[0]['partitions']} | "
                   f"{statistics.median(r['mean'] for r in rs):.1f} ({', '.join(format(r['mean'], '.0f') for r in rs)}) | "
                   f"{max(r['max'] for r in rs):.0f} | {statistics.median(r['weight_params'] for r in rs):.0f} | {rs[0]['bits']} | "
                   + (f"{rs[0].get('policy_bytes', '')} | " if nbytes else "") +
                   f"{statistics.median(r['frames'] for r in rs) / 1e6:.2f} M | {paper} |")
    return "\n".join(out)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=["paper", "frozen", "h41", "binary"])
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--presets", nargs="*", default=list(PAPER))
    parser.add_argument("--keep", help="keep run directories here (finished runs found there are reported, not retrained)")
    parser.add_argument("--out", default=str(RESULTS / "chromatic.json"))
    args = parser.parse_args(argv)
    path = Path(args.out)
    data = json.loads(path.read_text()) if path.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.keep) if args.keep else Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        rows = []
        ref = ({p: f"mean {m}, {k} partitions" for p, (m, k) in PAPER.items()} if args.part == "paper" else
               {f: f"{w} weights, best {b}" for f, (w, b) in PAPER_H41.items()} if args.part == "h41" else {})
        if args.part == "paper":
            for preset in args.presets:
                for seed in args.seeds:
                    rows.append({"label": preset, **train_and_report([preset], out, f"{preset}-{seed}", seed)})
                plot([out / f"{preset}-{s}" for s in args.seeds], RESULTS / f"chromatic-{preset}.png")
        elif args.part == "frozen":
            # the controller runs are the paper part's halfcheetah-chromatic runs (same preset, same names)
            for label, extra, name in (("controller", [], "halfcheetah-chromatic"), ("frozen", ["--set", "policy.controller=frozen"], "halfcheetah-frozen")):
                for seed in args.seeds:
                    rows.append({"label": label, **train_and_report(["halfcheetah-chromatic", *extra], out, f"{name}-{seed}", seed)})
        elif args.part == "h41":
            for label, a in H41.items():
                for seed in args.seeds:
                    rows.append({"label": label, **train_and_report(a, out, f"{H41_NAMES[label]}-{seed}", seed)})
            if 0 in args.seeds:  # the picture is seed 0's (a run of other seeds adds table rows only)
                plot([out / f"{H41_NAMES['chromatic']}-0", out / f"{H41_NAMES['masked']}-0"], RESULTS / "chromatic-h41.png")
        else:
            for env, (chromatic, mlp) in BINARY.items():
                for seed in args.seeds:
                    for label, a in ((f"{env}-binary_chromatic", chromatic), (f"{env}-binary_mlp", mlp)):
                        r = train_and_report(a, out, f"{label}-{seed}", seed)
                        r["policy_bytes"] = json.loads((out / f"{label}-{seed}" / "summary.json").read_text())["policy_bytes"]
                        rows.append({"label": label, **r})
        # rows of (label, seed) pairs not rerun now (another --presets, other --seeds) are kept
        done = {(r["label"], r["seed"]) for r in rows}
        rows = [r for r in data.get(args.part, []) if (r["label"], r.get("seed")) not in done] + rows
        order = list(dict.fromkeys(r["label"] for r in rows))
        rows.sort(key=lambda r: (order.index(r["label"]), r.get("seed", 0)))
        data[args.part] = rows
        print(table(rows, ref))
    save(data, path)
    return data


if __name__ == "__main__":
    main()
