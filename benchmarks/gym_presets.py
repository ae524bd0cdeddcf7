"""The Gymnasium-environment presets (Box2D, MuJoCo, ALE): train with the preset's own
budget, then evaluate independently; a JSON result and a learning-curve PNG per preset.

Run:  python benchmarks/gym_presets.py [PRESET ...] [--seed 0] [--episodes 100]

Defaults to lunarlander, inverted-pendulum, hopper, halfcheetah, pong-ram, frostbite-ram.
Each writes benchmarks/results/<preset>.json and <preset>.png (center network's return
and the members' mean against environment steps, read back from the run's TensorBoard
events). Needs the extras: pip install -e ".[dev]".
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import RESULTS, save  # benchmarks/common.py (the script's directory is on sys.path)

PRESETS = ["lunarlander", "inverted-pendulum", "hopper", "halfcheetah", "pong-ram", "frostbite-ram"]
GENOME = [sys.executable, "-m", "genome.cli"]


def curve(run_dir: Path) -> dict[str, list[float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    frame_events = acc.Scalars("perf/frames")
    frames = [e.value for e in frame_events]
    at_step = {e.step: e.value for e in frame_events}
    center = acc.Scalars("center/return")  # every run.center_every generations, not each one
    return {
        "frames": frames,
        "center_frames": [at_step[e.step] for e in center],
        "center": [e.value for e in center],
        "members_mean": [e.value for e in acc.Scalars("fitness/mean")],
        "members_max": [e.value for e in acc.Scalars("fitness/max")],
    }


def plot(preset: str, data: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    f = [x / 1e6 for x in data["frames"]]
    ax.plot(f, data["members_max"], lw=0.8, alpha=0.5, label="best member")
    ax.plot(f, data["members_mean"], lw=1, label="members' mean")
    ax.plot([x / 1e6 for x in data["center_frames"]], data["center"], lw=1.5, label="center network")
    ax.set_xlabel("environment steps (millions)")
    ax.set_ylabel("return")
    ax.set_title(f"genome train {preset}")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("presets", nargs="*", default=PRESETS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--episodes", type=int, default=100, help="independent evaluation episodes")
    args = parser.parse_args(argv)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for preset in args.presets:
            run = Path(tmp) / preset
            t0 = time.perf_counter()
            proc = subprocess.run(GENOME + ["train", preset, "--out", tmp, "--name", preset, "--seed", str(args.seed), "--quiet"], capture_output=True, text=True)
            wall = time.perf_counter() - t0
            if proc.returncode != 0:
                raise SystemExit(f"{preset}: training failed\n{proc.stderr}")
            summary = json.loads((run / "summary.json").read_text())
            ev = json.loads(subprocess.run(GENOME + ["eval", str(run), "--episodes", str(args.episodes), "--seed", str(1000 + args.seed), "--json"], capture_output=True, text=True, check=True).stdout)
            data = curve(run)
            result = {
                "preset": preset,
                "env": summary["env"],
                "seed": args.seed,
                "solved": summary["solved"],
                "target": summary["target"],
                "generations": summary["generations"],
                "frames": summary["frames"],
                "wall_seconds": wall,
                "failures": summary.get("failures", 0),
                "eval": ev,
                "curve": data,
            }
            save(result, RESULTS / f"{preset}.json")
            plot(preset, data, RESULTS / f"{preset}.png")
            out[preset] = result
            print(
                f"{preset:18s} {summary['env']:22s} {'solved' if summary['solved'] else 'budget'}: {summary['frames'] / 1e6:6.2f}M frames, "
                f"{wall / 60:5.1f} min; eval {ev['mean']:.1f} ± {ev['std']:.1f} over {ev['episodes']} episodes",
                flush=True,
            )
    return out


if __name__ == "__main__":
    main()
