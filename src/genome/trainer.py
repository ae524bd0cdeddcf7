"""The training loop: setup, then ask -> evaluate -> tell -> check the center, then finish.

Every ``run.center_every`` generations the strategy's center (Bernoulli NES: the most
likely genome; OpenAI-ES: the mean) is checked on ``run.center_episodes`` fresh episodes;
when that mean reaches the target, it is tested on ``run.eval_episodes`` held-out episodes
and the run stops if it passes: if the test's mean minus ``run.target_se`` standard errors
reaches the target. Budgets:
``run.generations``, ``run.max_frames`` (environment steps, all evaluations included) and
``run.max_seconds``. With a run directory, a checkpoint is written every
``run.checkpoint_every`` generations, at the end, and on Ctrl-C; :meth:`Trainer.restore`
resumes from the newest readable one, and the resumed run ends in exactly the state an
uninterrupted run would have reached.
"""

from __future__ import annotations

import json
import math
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genome import checkpoint, rng, warmup
from genome.build import build
from genome.config import Config
from genome.errors import ConfigError
from genome.evaluate import describe
from genome.io import atomic_write_text
from genome.encoders.auto import RunningStats
from genome.policies.chromatic import ARCHITECTURE_FILE, save_architecture
from genome.policy import POLICY_FILE, Policy
from genome.executors import make_executor
from genome.problems import EpisodeRequest, EvalResult
from genome.runlog import Progress, TensorBoardLog
from genome.strategies import FixedMembers


@dataclass
class TrainResult:
    """What training returns: the summary (as written to ``summary.json``) and the policy
    network (a :class:`~genome.nets.binary.BinaryNetwork` or a
    :class:`~genome.policies.dense.DenseNetwork`)."""

    summary: dict
    policy: object
    history: list[dict] = field(default_factory=list)
    run_dir: Path | None = None


@contextmanager
def _stop_at_generation_end():
    """While training, Ctrl-C and SIGTERM only set a flag that the loop checks after each
    generation, so an interrupt never lands inside TensorBoard's writer, a checkpoint or a
    half-logged generation; a second one interrupts at once. Yields ``stop_requested()``.
    Outside the main thread signals cannot be caught, and nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    requested: list[int] = []

    def handler(signum, frame):
        if requested:
            raise KeyboardInterrupt
        requested.append(signum)
        print("genome: stopping after this generation (Ctrl-C again to stop now)", file=sys.stderr, flush=True)

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in previous:
        signal.signal(s, handler)
    try:
        yield lambda: bool(requested)
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


#: seconds the first evaluation may take before the trainer says that kernels are compiling
COMPILE_NOTICE_AFTER = 2.0


class Trainer:
    """One training run. Without ``run_dir`` nothing is written (the Python API's default)."""

    def __init__(
        self,
        cfg: Config,
        *,
        label: str = "",
        run_dir: Path | None = None,
        progress: Progress | None = None,
        tensorboard: bool = True,
        render_every: int = 0,
        compile_ahead: bool = False,
    ):
        self.cfg = cfg
        self.label = label
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.progress = progress or Progress("quiet")
        self.render_every = int(render_every)
        if self.render_every and self.run_dir is not None:
            from genome.render import check_available

            check_available()
        # on a cold kernel cache: the rollout compiles here while a helper process compiles
        # the rest (genome/warmup.py); the helper only writes numba's cache
        self._helper = None
        if compile_ahead and warmup.enabled():
            try:
                self._helper = warmup.compile_ahead(cfg, self.progress.message)
            except Exception:  # an optimization only: build() below reports what is wrong
                self._helper = None
        self.setup = build(cfg)
        self.strategy = self.setup.strategy
        self.executor = make_executor(cfg.run, native=self.setup.native is not None)
        self.failures = 0
        self.state = self.strategy.init(cfg.run.seed)
        self.frames = 0
        self.episodes = 0  # training episodes of the members (center checks and tests not included)
        self.seconds_before = 0.0  # wall time of earlier sessions of this run
        self.best_mean = -math.inf
        center = self.strategy.center(self.state)
        self.best_genome = center if self.strategy.tracks_best else center[:0]
        self.history: list[dict] = []
        self.resumed_from: Path | None = None
        self._tensorboard = tensorboard and self.run_dir is not None
        self._tb: TensorBoardLog | None = None
        self._t0 = time.perf_counter()
        self._warm = False  # set after this process's first evaluation (kernels compiled or loaded)

    # ------------------------------------------------------------ checkpoints
    def _trainer_arrays(self) -> dict[str, np.ndarray]:
        arrays = {
            "frames": np.array(self.frames, dtype=np.int64),
            "episodes": np.array(self.episodes, dtype=np.int64),
            "seconds": np.array(self.seconds, dtype=np.float64),
            "best_mean": np.array(self.best_mean, dtype=np.float64),
            "best_genome": self.best_genome,
            "failures": np.array(self.failures, dtype=np.int64),
        }
        if self.setup.stats is not None:
            arrays.update(self.setup.stats.arrays())
        return arrays

    def save_checkpoint(self) -> Path | None:
        if self.run_dir is None:
            return None
        meta = {"env": self.setup.env_id, "n_params": self.setup.family.n_params, "strategy": self.strategy.name, "family": self.cfg.policy.family}
        return checkpoint.save(self.run_dir, self.state.generation, self.strategy.state_to_arrays(self.state), self._trainer_arrays(), meta)

    def restore(self) -> Path:
        """Continue from the newest readable checkpoint in the run directory."""
        path, meta, strategy_arrays, trainer = checkpoint.load_latest(self.run_dir, warn=self.progress.message)
        if (meta.get("n_params") != self.setup.family.n_params or meta.get("strategy") != self.strategy.name
                or meta.get("family", "binary_mlp") != self.cfg.policy.family):
            raise ConfigError(f"{path} does not match this run's config (different network size, family or strategy)")
        try:
            self.state = self.strategy.state_from_arrays(strategy_arrays)
            self.frames = int(trainer["frames"])
            self.episodes = int(trainer.get("episodes", 0))
            self.seconds_before = float(trainer["seconds"])
            self.best_mean = float(trainer["best_mean"])
            self.best_genome = np.asarray(trainer["best_genome"], dtype=self.best_genome.dtype)
            self.failures = int(trainer.get("failures", 0))
            if self.setup.stats is not None:
                self.setup.stats = RunningStats.from_arrays(trainer)
                self.setup.problem.set_family(self.setup.family.with_stats(self.setup.stats))
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"{path}: checkpoint is incomplete ({exc})") from None
        self.resumed_from = path
        return path

    # ------------------------------------------------------------------ steps
    @contextmanager
    def _compile_notice(self):
        """Say why the first generation takes long when numba compiles the kernels (the
        first run of an environment and network shape; later runs load them from disk)."""
        if self._warm:
            yield
            return
        text = (f"compiling the {self.setup.env_id} rollout for the {self.cfg.policy.family} family "
                "(first run only: numba caches it on disk) ...")
        timer = threading.Timer(COMPILE_NOTICE_AFTER, self.progress.message, args=(text,))
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()
            self._warm = True

    @property
    def seconds(self) -> float:
        return self.seconds_before + time.perf_counter() - self._t0

    def _run(self, genome: np.ndarray, episodes: int, purpose: int, generation: int) -> EvalResult:
        """Episodes of one genome (frames are the caller's to count)."""
        return self.executor.evaluate(self.setup.problem, FixedMembers(genome), EpisodeRequest(episodes, purpose, generation))

    def _record_failures(self, generation: int, result: EvalResult) -> None:
        if not result.failures:
            return
        if self.failures == 0:
            m, reason = next(iter(result.failures.items()))
            self.progress.message(f"gen {generation:5d}  member {m} failed: {reason} (it ranks last; the run goes on; see failures.jsonl)")
        self.failures += len(result.failures)
        if self.run_dir is not None:
            with open(self.run_dir / "failures.jsonl", "a") as fh:
                for m, reason in sorted(result.failures.items()):
                    fh.write(json.dumps({"generation": generation, "member": m, "reason": reason}) + "\n")

    def _budget_left(self) -> str | None:
        run = self.cfg.run
        if run.generations and self.state.generation >= run.generations:
            return "generations"
        if run.max_frames and self.frames >= run.max_frames:
            return "max_frames"
        if run.max_seconds and self.seconds >= run.max_seconds:
            return "max_seconds"
        return None

    def generation(self) -> tuple[dict, tuple | None]:
        """One generation; returns the logged row and, if the center passed the stopping
        test, ``(policy network, test result)``. The trainer's counters, statistics and the strategy
        state change together at the end, so an interrupt never leaves half a generation in
        a checkpoint."""
        cfg, run = self.cfg, self.cfg.run
        gen = self.state.generation
        t_gen = time.perf_counter()
        members = self.strategy.ask(self.state)
        request = EpisodeRequest(cfg.env.episodes, rng.START, gen, cfg.env.common_starts, cfg.env.paired_starts)
        with self._compile_notice():
            result = self.executor.evaluate(self.setup.problem, members, request)
        frames, episodes = result.total_frames, result.returns.size
        # the reward shift (ARS's survival bonus) applies to the members' training returns only
        shift = cfg.env.reward_shift
        fitness = (result.returns - shift * result.frames).mean(axis=1) if shift else result.fitness
        center = self.strategy.center(self.state)
        validation = None
        extra = self.strategy.validation(self.state, members, fitness)
        if extra is not None:  # members the strategy re-evaluates (the GA's elite candidates)
            candidates, validation_request = extra
            checked = self.executor.evaluate(self.setup.problem, candidates, validation_request)
            frames += checked.total_frames
            validation = (candidates, checked.fitness)
        state, metrics = self.strategy.tell(self.state, members, fitness, validation)

        center_mean = float("nan")  # not checked this generation (run.center_every)
        if gen % run.center_every == 0:
            check = self._run(center, run.center_episodes, rng.CENTER, gen)
            frames += check.total_frames
            center_mean = float(check.returns.mean())
        finite = fitness[np.isfinite(fitness)]
        row = {
            "generation": gen,
            "fitness/mean": float(finite.mean()) if finite.size else float("nan"),
            "fitness/max": float(finite.max()) if finite.size else float("nan"),
            "fitness/min": float(finite.min()) if finite.size else float("nan"),
            "fitness/failures": len(result.failures),
            "center/return": center_mean,
            "center/rank": float(np.mean(fitness < center_mean)) if center_mean == center_mean else float("nan"),
            **metrics,
        }
        passed = None
        target = self.setup.target
        if target is not None and center_mean >= target:
            test = self._run(center, run.eval_episodes, rng.EVAL, gen)
            frames += test.total_frames
            row["eval/return_mean"] = float(test.returns.mean())
            se = float(test.returns.std(ddof=1)) / np.sqrt(test.returns.size) if test.returns.size > 1 else 0.0
            if row["eval/return_mean"] - run.target_se * se >= target:
                # decoded now: the running statistics move on below, and the saved
                # policy must be the one that passed the test
                passed = (self.setup.family.decode(center), test, center)
        stats = self.setup.stats
        if self.setup.running and result.obs_sum is not None:
            # the next generation's encoder edges / normalizer: all observations seen so far
            stats = RunningStats(stats.count, stats.total.copy(), stats.total_sq.copy())
            stats.add(result.obs_count.sum(), result.obs_sum.sum(axis=0), result.obs_sumsq.sum(axis=0))

        # commit the generation
        self._record_failures(gen, result)
        self.frames += frames
        self.episodes += episodes
        if center_mean > self.best_mean and self.strategy.tracks_best:
            self.best_mean, self.best_genome = center_mean, center
        if stats is not self.setup.stats:
            self.setup.stats = stats
            self.setup.problem.set_family(self.setup.family.with_stats(stats))
        self.state = state
        row["seconds"] = self.seconds
        row["perf/frames"] = self.frames
        row["perf/episodes"] = self.episodes
        row["perf/frames_per_s"] = frames / max(time.perf_counter() - t_gen, 1e-9)
        return row, passed

    # -------------------------------------------------------------------- run
    def run(self) -> TrainResult:
        run = self.cfg.run
        if self.run_dir is not None and self._tensorboard:
            purge = self.state.generation if self.resumed_from is not None else None
            self._tb = TensorBoardLog(self.run_dir, purge_step=purge, histogram_every=run.histogram_every)
        solved, stop_reason, final = False, None, None
        try:
            with _stop_at_generation_end() as stop_requested:
                while (stop_reason := self._budget_left()) is None:
                    solved, stop_reason, final = self._after_generation(*self.generation())
                    if stop_reason is not None:
                        break
                    if stop_requested():
                        raise KeyboardInterrupt
        except KeyboardInterrupt:
            self.save_checkpoint()
            self.close()
            raise
        self.save_checkpoint()  # before the final evaluation, so a resumed run counts frames as an uninterrupted one
        result = self._finish(solved, stop_reason, final)
        self.close()
        return result

    def _after_generation(self, row: dict, passed) -> tuple[bool, str | None, tuple | None]:
        """Log the generation; ``(solved, stop reason, final)`` when the run is solved."""
        run = self.cfg.run
        self.history.append(row)
        if self._tb is not None:
            self._tb.write(row, self.strategy.histogram(self.state))
        self.progress.update(row)
        gen_done = self.state.generation
        if self.render_every and self.run_dir is not None and gen_done % self.render_every == 0:
            self._render(gen_done)
        if passed is not None:
            self.progress.message(
                f"gen {row['generation']:5d}  solved: center mean {row['eval/return_mean']:.2f} over {run.eval_episodes} episodes"
            )
            return True, "solved", passed
        if self.run_dir is not None and run.checkpoint_every and gen_done % run.checkpoint_every == 0:
            self.save_checkpoint()
        return False, None, None

    def _render(self, generation: int) -> None:
        from genome.render import render_policy

        ec = self.cfg.env
        policy = Policy(self.setup.family.decode(self.strategy.center(self.state)), self.setup.env_id, ec.kwargs, ec.preprocess, ec.observe)
        render_policy(policy, self.setup.env_id, self.run_dir / "videos" / f"gen-{generation:06d}.gif", seed=generation)

    def _finish(self, solved: bool, stop_reason: str, final) -> TrainResult:
        run = self.cfg.run
        if final is None:
            # no stop on the target: keep the better of the final center and the best checked one
            # (a GA's center is its validated elite already, and its checkpoints hold no weights)
            candidates = [self.strategy.center(self.state)] + ([self.best_genome] if self.strategy.tracks_best else [])
            tests = [self._run(g, run.eval_episodes, rng.EVAL, self.state.generation) for g in candidates]
            self.frames += sum(t.total_frames for t in tests)
            pick = int(np.argmax([t.returns.mean() for t in tests]))
            final = (self.setup.family.decode(candidates[pick]), tests[pick], candidates[pick])
        policy, test, genome = final
        evaluation = describe(test.returns)
        summary = {
            "solved": solved,
            "stop_reason": stop_reason,
            "env": self.setup.env_id,
            "failures": self.failures,
            "config": self.label,
            "seed": run.seed,
            "target": self.setup.target,
            "generations": int(self.state.generation),
            "frames": int(self.frames),
            "episodes": int(self.episodes),
            "wall_seconds": self.seconds,
            "eval_mean": evaluation["mean"],
            "eval": evaluation,
            "family": self.cfg.policy.family,
            "strategy": self.strategy.name,
            "n_params": self.setup.family.n_params,
            "size_bits": self.setup.family.size_bits,
            "layer_sizes": list(self.setup.family.layer_sizes),
            "policy_bytes": len(policy.to_bytes()),
        }
        arch = None
        if hasattr(self.setup.family, "architecture"):  # chromatic / masked: the chosen coloring or mask
            arch = self.setup.family.architecture(genome)
            summary.update({"partitions": arch["partitions"], "edges": arch["edges"], "weight_params": arch["weight_params"],
                            "storage_bits": arch["bits"], "controller": self.cfg.policy.controller})
        if self.resumed_from is not None:
            summary["resumed_from"] = self.resumed_from.name
        if self.run_dir is not None:
            policy.save(self.run_dir / POLICY_FILE)
            summary["policy"] = POLICY_FILE
            if arch is not None:
                save_architecture(self.run_dir / ARCHITECTURE_FILE, arch)
            atomic_write_text(self.run_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
        return TrainResult(summary=summary, policy=policy, history=self.history, run_dir=self.run_dir)

    def close(self) -> None:
        if self._helper is not None and self._helper.poll() is None:
            self._helper.terminate()  # still compiling for later runs: its cache writes are atomic
        self.progress.close()
        self.executor.close()
        self.setup.problem.close()
        if self._tb is not None:
            self._tb.close()
            self._tb = None
