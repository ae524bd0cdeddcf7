"""Run directories: ``DIR/NAME/`` holding config.toml, policy.gbn and summary.json."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from genome import config as config_mod
from genome.errors import ConfigError
from genome.io import atomic_write_text


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
                f"run directory {run_dir} already exists; continue it with --resume {run_dir} "
                "or start it over with --overwrite (or choose another --name)"
            )
        if not run_dir.is_dir():
            raise ConfigError(f"{run_dir} exists and is not a directory")
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    return run_dir


def write_config(run_dir: Path, cfg) -> None:
    atomic_write_text(run_dir / "config.toml", config_mod.to_toml(cfg))


def read_config(run_dir: Path):
    """The resolved config a run was started with."""
    path = Path(run_dir) / "config.toml"
    if not Path(run_dir).is_dir():
        raise ConfigError(f"{run_dir}: no such run directory")
    if not path.is_file():
        raise ConfigError(f"{run_dir} is not a genome run directory (no config.toml)")
    return config_mod.load(str(path))[0]
