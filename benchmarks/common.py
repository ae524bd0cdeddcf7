"""Shared by the benchmark scripts: where results go and how they are written."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def save(results: dict, path: str | Path) -> None:
    """Write ``results`` as indented JSON and say where."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {path}")


def run(cmd: list[str]) -> tuple[float, str]:
    """Run a command; ``(wall seconds, stdout)``, or exit with its stderr if it fails."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    return wall, proc.stdout



def train_and_report(args: list[str], out: Path, name: str, seed: int) -> dict:
    """``genome train ARGS --seed SEED`` into ``out/name`` (skipped when that run already
    finished), then its row of ``genome report --json``: mean and max of the run's final
    evaluation, weight parameters, bits, frames."""
    import sys

    genome = [sys.executable, "-m", "genome.cli"]
    run_dir = out / name
    if not (run_dir / "summary.json").exists():
        subprocess.run(genome + ["train", *args, "--out", str(out), "--name", name, "--seed", str(seed), "--quiet"], check=True, capture_output=True)
    row = json.loads(subprocess.run(genome + ["report", str(run_dir), "--json"], check=True, capture_output=True, text=True).stdout.splitlines()[0])[0]
    summary = json.loads((run_dir / "summary.json").read_text())
    row.update(seed=seed, params=summary["n_params"], episodes=summary.get("episodes"))
    print(f"{name}: mean {row['mean']:.1f}, max {row['max']:.1f}, {row['weight_params']} weights, {row['bits']} bits, {row['frames'] / 1e6:.2f} M frames", flush=True)
    return row
