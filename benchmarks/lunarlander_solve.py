"""Issue 6's check: `genome train lunarlander` then `genome eval RUN --episodes 100`, per seed.

Run:  python benchmarks/lunarlander_solve.py [--seeds 0 1 2]

Exactly the commands a user types (the preset's own budget and stopping rule), timed from
process start to the written run; the evaluation uses `genome eval`'s default seed, start
states the training never used. Writes benchmarks/results/lunarlander_solve.json and the
learning curve of the first seed to benchmarks/results/lunarlander.png.
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
from gym_presets import curve, plot

GENOME = [sys.executable, "-m", "genome.cli"]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            name = f"lunarlander-{seed}"
            t0 = time.perf_counter()
            subprocess.run(GENOME + ["train", "lunarlander", "--out", tmp, "--name", name, "--seed", str(seed), "--quiet"], check=True)
            wall = time.perf_counter() - t0
            run = Path(tmp) / name
            summary = json.loads((run / "summary.json").read_text())
            ev = json.loads(subprocess.run(GENOME + ["eval", str(run), "--episodes", "100", "--json"], check=True, capture_output=True, text=True).stdout)
            if seed == args.seeds[0]:
                plot("lunarlander", curve(run), RESULTS / "lunarlander.png")
            rows.append({"seed": seed, "solved": summary["solved"], "frames": summary["frames"], "generations": summary["generations"],
                         "wall_seconds": wall, "eval": ev})
            print(f"seed {seed}: {'solved' if summary['solved'] else 'budget'} after {summary['frames'] / 1e6:.1f} M frames, "
                  f"{wall / 60:.1f} min; genome eval --episodes 100: {ev['mean']:.1f} ± {ev['std']:.1f}", flush=True)
    result = {
        "rows": rows,
        "passed": sum(r["eval"]["mean"] >= 200 for r in rows),
        "median_frames": statistics.median(r["frames"] for r in rows),
        "median_wall_seconds": statistics.median(r["wall_seconds"] for r in rows),
    }
    save(result, RESULTS / "lunarlander_solve.json")
    print(f"{result['passed']}/{len(rows)} seeds >= 200; median {result['median_frames'] / 1e6:.1f} M frames, {result['median_wall_seconds'] / 60:.1f} min")
    return result


if __name__ == "__main__":
    main()
