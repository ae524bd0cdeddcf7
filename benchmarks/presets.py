"""Every native preset over several seeds: solved?, generations, frames, wall time, and an
independent 100-episode `genome eval` (fresh start states) of each policy.

Run:  python benchmarks/presets.py [--seeds 3] [--presets cartpole acrobot ...]

Writes benchmarks/results/presets.json; the README's results table comes from it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from common import RESULTS, save  # benchmarks/common.py (the script's directory is on sys.path)

PRESETS = ["cartpole", "acrobot", "mountaincar", "mountaincar-continuous", "pendulum"]
GENOME = [sys.executable, "-m", "genome.cli"]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--presets", nargs="*", default=PRESETS)
    parser.add_argument("--out", default=str(RESULTS / "presets.json"))
    args = parser.parse_args(argv)
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for preset in args.presets:
            runs = []
            for seed in range(args.seeds):
                name = f"{preset}-{seed}"
                subprocess.run(GENOME + ["train", preset, "--out", tmp, "--name", name, "--seed", str(seed), "--quiet"], check=True, capture_output=True)
                s = json.loads((Path(tmp) / name / "summary.json").read_text())
                ev = json.loads(
                    subprocess.run(GENOME + ["eval", str(Path(tmp) / name), "--episodes", "100", "--seed", str(1000 + seed), "--json"], check=True, capture_output=True, text=True).stdout
                )
                runs.append({"seed": seed, "solved": s["solved"], "generations": s["generations"], "frames": s["frames"], "wall_seconds": s["wall_seconds"], "stop_test_mean": s["eval_mean"], "eval_mean": ev["mean"], "eval_std": ev["std"], "target": s["target"]})
                print(f"{preset:24s} seed {seed}: {'solved' if s['solved'] else 'not solved':10s} {s['generations']:4d} gens {s['frames'] / 1e6:7.1f}M frames {s['wall_seconds']:6.1f} s  eval {ev['mean']:8.1f} ± {ev['std']:.1f}")
            out[preset] = {
                "runs": runs,
                "solved": sum(r["solved"] for r in runs),
                "eval_mean_median": statistics.median(r["eval_mean"] for r in runs),
                "frames_median": statistics.median(r["frames"] for r in runs),
                "wall_seconds_median": statistics.median(r["wall_seconds"] for r in runs),
            }
    save(out, args.out)
    return out


if __name__ == "__main__":
    main()
