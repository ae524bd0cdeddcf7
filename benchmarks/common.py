"""Shared by the benchmark scripts: where results go and how they are written."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
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



GENOME = [sys.executable, "-m", "genome.cli"]


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def train_once(args: list[str], out: Path, name: str, seed: int) -> float:
    """``genome train ARGS --seed SEED`` into ``out/name``, unless that run already finished
    (its ``summary.json`` exists: runs kept with ``--keep`` are reported, not retrained).
    Returns the training command's wall seconds, kept in ``out/name/wall_seconds``; for a
    finished run trained outside the script, the run's own ``summary.json: wall_seconds``."""
    run_dir = out / name
    wall_file = run_dir / "wall_seconds"
    summary = run_dir / "summary.json"
    if summary.exists():
        return float(wall_file.read_text()) if wall_file.exists() else float(json.loads(summary.read_text())["wall_seconds"])
    t0 = time.perf_counter()
    proc = subprocess.run(GENOME + ["train", *args, "--out", str(out), "--name", name, "--seed", str(seed), "--quiet"],
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"training {name} failed ({proc.returncode}): genome train {' '.join(args)}\n{proc.stderr}")
    wall_file.write_text(f"{wall:.1f}\n")
    return wall


def train_and_report(args: list[str], out: Path, name: str, seed: int) -> dict:
    """:func:`train_once`, then the run's row of ``genome report --json``: mean and max of the
    run's final evaluation, weight parameters, bits, frames."""
    run_dir = out / name
    train_once(args, out, name, seed)
    row = json.loads(subprocess.run(GENOME + ["report", str(run_dir), "--json"], check=True, capture_output=True, text=True).stdout.splitlines()[0])[0]
    summary = json.loads((run_dir / "summary.json").read_text())
    row.update(seed=seed, params=summary["n_params"], episodes=summary.get("episodes"))
    print(f"{name}: mean {row['mean']:.1f}, max {row['max']:.1f}, {row['weight_params']} weights, {row['bits']} bits, {row['frames'] / 1e6:.2f} M frames", flush=True)
    return row
