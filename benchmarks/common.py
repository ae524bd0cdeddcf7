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
