"""How much of a trained real linear policy's return survives when its normalized inputs are
clipped at +- a standard deviations -- what a thermometer with edges on mean +- a std
(``policy.edge_spread = a``) does to the observation before the binary policy reads it.

Run:  python benchmarks/input_clip.py [--preset halfcheetah-ars] [--seeds 0 1 2 3 4 5]
                                      [--clips 5 3 2] [--episodes 10] [--keep DIR] [--out FILE]

For each seed, ``genome train PRESET --seed S`` (``--keep DIR``: a finished run in
``DIR/PRESET-S`` is reused, as ``binary_mujoco.py compare --keep`` leaves them), then the same
episodes (environment seeds 1000, 1001, ...) with the policy's observation normalizer
clipping at each value of ``--clips`` (the presets' normalizer clips at 5). Writes
benchmarks/results/input_clip.json (or ``--out``) and prints a table: the mean return per clip, and the
loss against the widest clip.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import tempfile
from pathlib import Path

from common import GENOME, RESULTS, save  # benchmarks/common.py (the script's directory is on sys.path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="halfcheetah-ars")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4, 5])
    parser.add_argument("--clips", type=float, nargs="*", default=[5.0, 3.0, 2.0])
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--keep")
    parser.add_argument("--out", default=str(RESULTS / "input_clip.json"))
    args = parser.parse_args(argv)

    from genome import load_policy
    from genome.evaluate import evaluate_policy

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.keep) if args.keep else Path(tmp)
        for seed in args.seeds:
            run = out / f"{args.preset}-{seed}"
            if not (run / "summary.json").exists():
                subprocess.run(GENOME + ["train", args.preset, "--seed", str(seed), "--out", str(out), "--name", run.name,
                                         "--quiet", "--overwrite", "--set", "run.workers=1"], check=True)
            policy = load_policy(run / "policy.gbn")
            net = policy.network
            env_id = json.loads((run / "summary.json").read_text())["env"]
            if getattr(net, "normalizer", None) is None:
                raise SystemExit(f"{args.preset} has no observation normalizer to clip (a real dense policy has one)")
            means = {}
            for clip in args.clips:
                net.normalizer = dataclasses.replace(net.normalizer, clip=float(clip))
                ev = evaluate_policy(policy, env_id, args.episodes, seed=1000, backend="gymnasium")
                means[f"{clip:g}"] = {key: ev[key] for key in ("mean", "std", "min")}
            rows.append({"seed": seed, "clips": means})
            print(f"{args.preset} seed {seed}: " + ", ".join(f"clip {k}: {v['mean']:.0f} ± {v['std']:.0f}" for k, v in means.items()), flush=True)
    save({"preset": args.preset, "episodes": args.episodes, "clips": [f"{c:g}" for c in args.clips], "rows": rows}, args.out)
    widest = f"{max(args.clips):g}"
    print("| seed | " + " | ".join(f"clip ±{c:g} std" for c in args.clips) + " |")
    print("| ---: |" + " ---: |" * len(args.clips))
    for r in rows:
        base = r["clips"][widest]["mean"]
        print(f"| {r['seed']} | " + " | ".join(f"{v['mean']:,.0f} ({v['mean'] - base:+,.0f})" for v in r["clips"].values()) + " |")


if __name__ == "__main__":
    main()
