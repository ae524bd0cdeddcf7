"""The Python API, mirroring the command line: ``genome.train`` and ``genome.load_policy``."""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path
from typing import Any

from genome import config as config_mod
from genome.config import SECTIONS, STRATEGY_CONFIGS, Config
from genome.errors import ConfigError
from genome.policy import load_policy  # noqa: F401  (re-exported)
from genome.trainer import TrainResult

_KEY_SECTION = {f.name: section for section, cls in SECTIONS.items() for f in fields(cls)}
_KEY_SECTION.update({f.name: "strategy" for cls in STRATEGY_CONFIGS.values() for f in fields(cls)})


def resolve_config(preset_or_config: str | os.PathLike | Config, overrides: dict[str, Any]) -> tuple[Config, str]:
    """A preset name, TOML path or :class:`Config`, plus overrides given either as section
    tables (``run={"seed": 3}``) or as bare key names (``seed=3``, ``lr=5.0``, ``sigma=0.05``:
    any strategy's keys; one that the config's strategy lacks is an error naming both)."""
    if isinstance(preset_or_config, Config):
        cfg, label = preset_or_config, "config"
    else:
        cfg, label = config_mod.load(str(preset_or_config))
    nested: dict[str, dict[str, Any]] = {}
    for key, value in overrides.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"override {key}= must be a dict of {key} keys, got {value!r}")
            nested.setdefault(key, {}).update(value)
        elif key in _KEY_SECTION:
            nested.setdefault(_KEY_SECTION[key], {})[key] = value
        else:
            raise ConfigError(f"unknown override {key!r}; use a config key name such as seed= or lr=")
    return (config_mod.apply_overrides(cfg, nested) if nested else cfg), label


def train(
    preset_or_config: str | os.PathLike | Config,
    *,
    run_dir: str | os.PathLike | None = None,
    overwrite: bool = False,
    verbose: bool = False,
    **overrides: Any,
) -> TrainResult:
    """Train a policy. ``genome.train("cartpole", seed=3)`` returns a :class:`TrainResult`
    with ``.summary`` and ``.policy``; with ``run_dir`` the run is written there as
    ``genome train`` does (config.toml, checkpoints, TensorBoard events, policy.gbn,
    summary.json)."""
    from genome import rundir
    from genome.runlog import Progress
    from genome.trainer import Trainer

    cfg, label = resolve_config(preset_or_config, overrides)
    progress = Progress("plain" if verbose else "quiet", every=cfg.run.log_every)
    target_dir = None
    if run_dir is not None:
        run_dir = Path(run_dir)
        target_dir = rundir.prepare(run_dir.parent, run_dir.name, overwrite)
        rundir.write_config(target_dir, cfg)
    trainer = Trainer(cfg, label=label, run_dir=target_dir, progress=progress, render_every=cfg.run.render_every,
                      compile_ahead=True)
    return trainer.run()
