"""The ``genome`` command line: train, eval, presets.

User errors (unknown preset, bad numbers, existing run, missing or corrupt files) print
one line on stderr and exit with status 2; Ctrl-C exits with 130. No tracebacks.
Heavy imports (numba, gymnasium) happen inside the commands, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump)."""

    def error(self, message: str):  # noqa: D401
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _target(text: str):
    if text.lower() in ("none", "auto"):
        return text.lower()
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, 'auto' or 'none', got {text!r}") from None


def _nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _pos_int(text: str) -> int:
    value = _nonneg_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _nonneg_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="genome", description="Train tiny binary-network policies by evolution.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    train = sub.add_parser(
        "train",
        help="train a policy from a preset, a TOML config or a Gymnasium id",
        description="Train a policy; writes OUT/NAME/{config.toml, policy.gbn, summary.json}.",
        epilog="Config keys for --set (section.key=value):\n"
        + "\n".join(f"  {k} (default {d}): {h}" for k, d, h in _help_rows()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument("config", nargs="?", metavar="PRESET_OR_CONFIG", help="preset name (genome presets), TOML file, Gymnasium id, or your own environment FILE.py:Name")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its last checkpoint (budget flags replace the stored ones)")
    train.add_argument("--name", help="run name (default: PRESET-YYYYmmdd-HHMMSS)")
    train.add_argument("--out", default="outputs", help="parent directory of runs (default: outputs)")
    train.add_argument("--seed", type=_nonneg_int, help="run seed (run.seed)")
    train.add_argument("--generations", type=_nonneg_int, help="generation budget, 0 = none (run.generations)")
    train.add_argument("--max-frames", type=_nonneg_int, help="environment-step budget, 0 = none (run.max_frames)")
    train.add_argument("--max-seconds", type=_nonneg_float, help="wall-time budget, 0 = none (run.max_seconds)")
    train.add_argument("--target", type=_target, metavar="R|auto|none", help="stop at this 100-episode mean return (run.target)")
    train.add_argument("--threads", type=_nonneg_int, help="worker threads, 0 = all cores (run.threads)")
    train.add_argument("--executor", choices=["local", "processes", "ray"], help="where evaluations run: local cores (default), worker processes, or a Ray cluster (run.executor; docs/cluster.md)")
    train.add_argument("--ray-address", metavar="auto|HOST:PORT|local", help="the Ray cluster of --executor ray (run.ray_address, default auto)")
    train.add_argument("--render-every", type=_nonneg_int, metavar="N", help="save a GIF of the center policy every N generations (run.render_every)")
    train.add_argument("--env-kwargs", metavar="JSON", help='keyword arguments for gymnasium.make, e.g. \'{"continuous": true}\' (env.kwargs)')
    train.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="override any config key (repeatable)")
    train.add_argument("--overwrite", action="store_true", help="replace an existing run directory of the same name")
    train.add_argument("--quiet", action="store_true", help="print only the final line")
    train.set_defaults(func=cmd_train)

    rd = sub.add_parser("render", help="save episodes of a trained policy as a GIF or MP4", description="Render a run's policy with Gymnasium's rgb_array renderer (headless).")
    rd.add_argument("run", metavar="RUN_DIR", help="run directory (or a policy .gbn file with --env)")
    rd.add_argument("--out", required=True, help="output file, .gif or .mp4")
    rd.add_argument("--episodes", type=_pos_int, default=1, help="episodes, one after another (default: 1)")
    rd.add_argument("--seed", type=_nonneg_int, default=0, help="reset seed of the first episode (default: 0)")
    rd.add_argument("--env", help="environment id (needed for a bare policy file)")
    rd.set_defaults(func=cmd_render)

    ev = sub.add_parser("eval", help="evaluate a trained policy over many episodes", description="Evaluate a run's policy: mean, min, median, max return.")
    ev.add_argument("run", metavar="RUN_DIR", help="run directory (or a policy .gbn file with --env)")
    ev.add_argument("--episodes", type=_pos_int, default=100, help="episodes, each from a distinct start state (default: 100)")
    ev.add_argument("--seed", type=_nonneg_int, default=0, help="seed of the start states (default: 0)")
    ev.add_argument("--env", help="environment id (needed for a bare policy file)")
    ev.add_argument("--backend", choices=["auto", "native", "gymnasium"], default="auto", help="native fused kernels, or Gymnasium's original env (default: auto)")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.set_defaults(func=cmd_eval)

    ex = sub.add_parser("export", help="export a trained policy as a dependency-free C99 file", description="Write the encoder and network as constant arrays with genome_act() / genome_act_continuous().")
    ex.add_argument("run", metavar="RUN_DIR", help="run directory (or a policy .gbn file)")
    ex.add_argument("--format", choices=["c"], default="c", help="output format (default: c)")
    ex.add_argument("--out", required=True, help="output file, e.g. policy.c")
    ex.add_argument("--prefix", default="genome", help="prefix of the C symbols (default: genome)")
    ex.set_defaults(func=cmd_export)

    rp = sub.add_parser("report", help="the chromatic-networks paper's table for runs, and a picture of their colorings",
                        description="Environment, architecture, partitions, mean and max reward, weight parameters, compression and bits of each run.")
    rp.add_argument("runs", nargs="+", metavar="RUN_DIR", help="finished run directories")
    rp.add_argument("--plot", metavar="FILE.png", help="draw each layer's coloring (or mask) of the chromatic/masked runs")
    rp.add_argument("--episodes", type=_nonneg_int, default=0, help="evaluate each policy again on N episodes (default: the run's final evaluation)")
    rp.add_argument("--json", action="store_true", help="print the rows as JSON")
    rp.set_defaults(func=cmd_report)

    pr = sub.add_parser("presets", help="list the built-in presets")
    pr.set_defaults(func=cmd_presets)
    return parser


def _help_rows():
    from genome.config import help_table

    return help_table()


# ----------------------------------------------------------------- commands
# what defines a run cannot change on resume; budgets and the target (a stopping criterion
# like the budgets) can
_RESUME_FORBIDDEN = ("config", "set", "seed", "name", "overwrite", "env_kwargs")


def cmd_train(args) -> int:
    import shutil
    from pathlib import Path

    from genome import config as config_mod
    from genome import rundir
    from genome.api import resolve_config
    from genome.errors import ConfigError
    from genome.runlog import Progress
    from genome.trainer import Trainer

    overrides: dict[str, dict] = {}
    for item in args.set:
        section, key, value = config_mod.parse_override(item)
        overrides.setdefault(section, {})[key] = value
    flags = {
        "seed": args.seed,
        "generations": args.generations,
        "max_frames": args.max_frames,
        "max_seconds": args.max_seconds,
        "target": args.target,
        "threads": args.threads,
        "render_every": args.render_every,
        "executor": args.executor,
        "ray_address": args.ray_address,
    }
    for key, value in flags.items():
        if value is not None:
            overrides.setdefault("run", {})[key] = value
    if args.env_kwargs is not None:
        try:
            kwargs = json.loads(args.env_kwargs)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--env-kwargs must be a JSON object, got {args.env_kwargs!r} ({exc.msg})") from None
        if not isinstance(kwargs, dict):
            raise ConfigError(f"--env-kwargs must be a JSON object, got {args.env_kwargs!r}")
        overrides.setdefault("env", {})["kwargs"] = kwargs

    if args.resume:
        given = [name for name in _RESUME_FORBIDDEN if getattr(args, name)]
        if given:
            raise ConfigError(
                f"--resume continues a run with its stored config; it cannot be combined with {', '.join(given)} "
                "(budget flags --generations, --max-frames, --max-seconds and --target are allowed)"
            )
        run_dir = Path(args.resume)
        cfg = rundir.read_config(run_dir)
        if overrides:
            cfg = config_mod.apply_overrides(cfg, overrides)
        label = run_dir.name
    else:
        if not args.config:
            raise ConfigError("give a preset, a TOML config or a Gymnasium id to train (genome presets lists presets), or --resume RUN_DIR")
        cfg, label = resolve_config(args.config, {})
        if overrides:
            cfg = config_mod.apply_overrides(cfg, overrides)
        run_dir = None

    progress = Progress(Progress.auto_mode(args.quiet), every=cfg.run.log_every, generations=cfg.run.generations, max_frames=cfg.run.max_frames, max_seconds=cfg.run.max_seconds)
    created = None  # a run directory this command made (removed again if training never starts)
    started = False
    try:
        if run_dir is None:
            run_dir = created = rundir.prepare(args.out, args.name or rundir.default_name(label), args.overwrite)
        trainer = Trainer(cfg, label=label, run_dir=run_dir, progress=progress, render_every=cfg.run.render_every,
                          compile_ahead=True)
        if args.resume:
            path = trainer.restore()
            progress.message(f"resuming {run_dir} from {path.name} (generation {trainer.state.generation})")
        rundir.write_config(run_dir, cfg)
        started = True
        result = trainer.run()
    except BaseException as exc:
        progress.close()
        if created is not None and not started:
            shutil.rmtree(created, ignore_errors=True)
        if not isinstance(exc, KeyboardInterrupt):
            raise
        if started:
            print(f"genome train: interrupted, checkpoint saved; continue with: genome train --resume {run_dir}", file=sys.stderr)
        else:
            print("genome train: interrupted before training started; nothing was saved", file=sys.stderr)
        return EXIT_INTERRUPTED
    s = result.summary
    status = "solved" if s["solved"] else f"stopped ({s['stop_reason']})"
    print(
        f"{status}: {s['env']} in {s['generations']} generations, {s['frames'] / 1e6:.2f}M frames, "
        f"{s['wall_seconds']:.2f} s; center mean {s['eval_mean']:.2f} over {s['eval']['episodes']} episodes "
        f"-> {run_dir / 'policy.gbn'} ({s['policy_bytes']} bytes)"
    )
    return 0


def _policy_and_env(args):
    from genome.errors import ConfigError
    from genome.policy import load_policy

    policy = load_policy(args.run)
    env_id = args.env or policy.env_id
    if env_id is None:
        raise ConfigError(f"{args.run} does not say which environment it was trained on; pass --env ID")
    return policy, env_id


def cmd_render(args) -> int:
    from genome.render import render_policy

    policy, env_id = _policy_and_env(args)
    returns = render_policy(policy, env_id, args.out, episodes=args.episodes, seed=args.seed)
    print(f"wrote {args.out}: {len(returns)} episode(s) of {env_id}, returns {', '.join(f'{r:.1f}' for r in returns)}")
    return 0


def cmd_eval(args) -> int:
    from genome.evaluate import evaluate_policy

    policy, env_id = _policy_and_env(args)
    stats = evaluate_policy(policy, env_id, args.episodes, args.seed, args.backend)
    stats.update(env=env_id, seed=args.seed)
    if args.json:
        print(json.dumps(stats))
    else:
        print(
            f"{env_id}: {stats['episodes']} episodes (seed {args.seed}): mean {stats['mean']:.2f} ± {stats['std']:.2f}, "
            f"min {stats['min']:.2f}, median {stats['median']:.2f}, max {stats['max']:.2f}"
        )
    return 0


def cmd_report(args) -> int:
    from genome import report

    rows = [report.run_row(Path(r), args.episodes) for r in args.runs]
    print(json.dumps(rows) if args.json else report.table(rows))
    if args.plot:
        report.plot([Path(r) for r in args.runs], args.plot)
        print(f"wrote {args.plot}")
    return 0


def cmd_export(args) -> int:
    import re

    from genome.errors import ConfigError
    from genome.export_c import export_c
    from genome.io import atomic_write_text
    from genome.policy import load_policy

    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", args.prefix):
        raise ConfigError(f"--prefix must be a C identifier, got {args.prefix!r}")
    policy = load_policy(args.run)
    source = export_c(policy.network, policy.env_id, args.prefix)
    atomic_write_text(args.out, source)
    kind = "genome_act_continuous" if policy.head is not None and policy.head.kind != 0 else "genome_act"
    print(f"wrote {args.out} ({len(source)} bytes of C99): {kind.replace('genome', args.prefix)}(const float *obs)")
    return 0


def cmd_presets(args) -> int:
    from genome import config as config_mod

    for name in config_mod.preset_names():
        cfg = config_mod.load_preset(name)
        alias = config_mod.preset_alias(name)
        description = f"the {alias} preset" if alias else cfg.description
        print(f"{name:26s} {cfg.policy.family:13s} {cfg.strategy.name:14s} {description}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from genome import __version__

        print(f"genome {__version__}")
        return 0
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    import signal

    from genome.errors import GenomeError

    def _terminate(signum, frame):  # SIGTERM behaves like Ctrl-C: checkpoint, then exit
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    try:
        return args.func(args)
    except GenomeError as exc:
        print(f"genome {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"genome {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
