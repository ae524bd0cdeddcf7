"""Run directories: ``DIR/NAME/`` holding config.toml, policy.gbn and summary.json."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from genome import config as config_mod
from genome.errors import ConfigError
from genome.io import atomic_write_text
from genome.policy import POLICY_FILE


def default_name(label: str) -> str:
    return f"{label}-{time.strftime('%Y%m%d-%H%M%S')}"


def prepare(out: str | Path, name: str, overwrite: bool) -> Path:
    """Create ``out/name``; refuse an existing run unless ``overwrite``."""
    if not name or "/" in name or name in (".", ".."):
        raise ConfigError(f"--name must be a plain directory name, got {name!r}")
    run_dir = Path(out) / name
    if run_dir.exists():
        if not overwrite:
            raise ConfigError(
                f"run directory {run_dir} already exists; pass --overwrite to start it over "
                "(or choose another --name)"
            )
        if not run_dir.is_dir():
            raise ConfigError(f"{run_dir} exists and is not a directory")
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    return run_dir


def write_config(run_dir: Path, cfg) -> None:
    atomic_write_text(run_dir / "config.toml", config_mod.to_toml(cfg))


def write_results(run_dir: Path, result) -> None:
    """The policy file and summary.json (the summary names the policy file)."""
    result.policy.save(run_dir / POLICY_FILE)
    summary = dict(result.summary, policy=POLICY_FILE)
    atomic_write_text(run_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
