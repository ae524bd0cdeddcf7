"""Compile a run's kernels on two cores at once, when numba's on-disk cache lacks them.

numba compiles one function at a time (it holds the GIL and a global compiler lock), so on
a cold cache a native run used to compile its kernels one after the other: the fused
rollout (7-8 s for CartPole's binary policy) and, before it, the encoder's random-policy
observations, the strategy's sampling and update and the population decoding (~3 s
together). :func:`compile_ahead` overlaps the two groups:

* this process compiles the rollout first, for a stand-in of the run's problem whose
  encoder edges come from zero observations instead of random-policy ones (the same
  argument types: edge *counts* follow the config, not the values), by evaluating zero
  members;
* the moment numba starts compiling -- that is how a cold cache shows, so a warm run starts
  nothing -- a second process (``python -m genome.warmup CONFIG.toml``) runs every other
  part of one generation once: build, ask, sample, decode, tell, without a rollout. The
  kernels it compiles land in the cache, where this process loads them a few seconds later.

``GENOME_COMPILE_AHEAD=0`` turns this off. Nothing depends on the second process: it runs at a lower priority with its output
discarded, and whatever it has not cached by the time this process needs it, this process
compiles itself, as it would have anyway. The result of a run does not change: the same
kernels run on the same arguments. README, "Cold compilation", has the measured times.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from numba.core import event

from genome.config import Config


#: environment variable: ``0`` turns the helper process off (everything compiles in the
#: run's own process, one kernel after the other, as with a single core)
SWITCH = "GENOME_COMPILE_AHEAD"


def enabled() -> bool:
    """Whether ``genome train`` and :func:`genome.train` compile ahead (``GENOME_COMPILE_AHEAD``
    is not ``0``)."""
    return os.environ.get(SWITCH, "1").strip() != "0"


class _FirstCompile(event.Listener):
    """Calls ``action`` once, when numba starts its first compilation while installed."""

    def __init__(self, action):
        self.action = action
        self.fired = False

    def on_start(self, event_):
        if not self.fired:
            self.fired = True
            self.action()

    def on_end(self, event_):
        pass


def compile_ahead(cfg: Config, notice=None) -> subprocess.Popen | None:
    """Before building a native, in-process run of ``cfg``: compile (or load) its fused
    rollout here and, if that needs compiling, start the process that compiles the rest.
    ``notice(text)`` is told once when compiling starts. Returns that process (wait for it
    or let it finish; it writes only numba's cache) or None."""
    from genome import rng
    from genome.build import build
    from genome.envs import native_spec
    from genome.problems import EpisodeRequest
    from genome.problems.native import NativeProblem

    if cfg.run.executor != "local" or native_spec(cfg.env.id) is None:
        return None
    setup = build(cfg, observe=False)
    problem = setup.problem
    if not isinstance(problem, NativeProblem):
        return None
    started: list[subprocess.Popen] = []

    def start_helper():
        started.append(_spawn(cfg))
        if notice is not None:
            notice(f"compiling the {setup.env_id} rollout for the {cfg.policy.family} family "
                   "(first run only: numba caches it on disk) ...")

    family = problem.family
    dtype = np.uint8 if getattr(family, "genome_kind", "bits") == "bits" else np.float32
    # zero members (a controlled family's members carry their coloring: n_genome entries)
    none = np.zeros((0, getattr(family, "n_genome", family.n_params)), dtype=dtype)
    listener = _FirstCompile(start_helper)
    with event.install_listener("numba:compile", listener):
        problem.evaluate(none, 0, EpisodeRequest(1, rng.START, 0))
    return started[0] if started else None


def _spawn(cfg: Config) -> subprocess.Popen | None:
    from genome.config import to_toml

    path = None
    try:
        fd, path = tempfile.mkstemp(prefix="genome-warmup-", suffix=".toml")
        with os.fdopen(fd, "w") as fh:
            fh.write(to_toml(cfg))
        # the helper removes the file once it has read it
        return subprocess.Popen(
            [sys.executable, "-m", "genome.warmup", path],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
    except OSError:  # no helper: this process compiles everything, as before
        if path is not None:
            Path(path).unlink(missing_ok=True)
        return None


def compile_generation(cfg: Config) -> None:
    """Everything of one generation but the rollout, once: the kernels a run needs besides
    it get compiled (and cached)."""
    from genome.build import build

    setup = build(cfg)
    strategy = setup.strategy
    state = strategy.init(cfg.run.seed)
    members = strategy.ask(state)
    genomes = members.genomes(0, members.count)
    setup.family.decode_arrays(genomes[: min(2, genomes.shape[0])])
    strategy.tell(state, members, np.zeros(members.count), None)


def main(argv: list[str] | None = None) -> int:
    from genome.config import load

    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0])
    try:
        os.nice(5)  # the run's own process is on the critical path
    except OSError:
        pass
    try:
        cfg, _ = load(str(path))
    finally:
        path.unlink(missing_ok=True)
    compile_generation(cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
