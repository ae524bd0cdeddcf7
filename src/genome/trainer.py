"""The training loop: setup, then ask -> evaluate -> tell -> check the center, then finish.

Every generation the center network (the most likely genome, ``theta > 0``) is checked on
``run.center_episodes`` fresh episodes; when that mean reaches the target, it is tested on
``run.eval_episodes`` held-out episodes and the run stops if it passes. Budgets:
``run.generations``, ``run.max_frames`` (environment steps, all evaluations included) and
``run.max_seconds``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genome import rng
from genome.config import Config
from genome.encoders import ENCODERS
from genome.encoders.base import Encoder
from genome.envs.native import NativeEnvSpec, native_spec
from genome.errors import ConfigError
from genome.nets.binary import BinaryNetwork
from genome.policies.binary_mlp import BinaryMLP
from genome.policies.heads import ActionHead
from genome.rollout.executors import LocalExecutor
from genome.rollout.problem import EpisodeRequest, EvalResult, NativeProblem, random_observations
from genome.strategies import STRATEGIES, FixedMembers, Strategy


@dataclass
class TrainResult:
    """What :func:`train` returns: the summary (as written to ``summary.json``) and the policy."""

    summary: dict
    policy: BinaryNetwork
    history: list[dict] = field(default_factory=list)
    run_dir: Path | None = None


@dataclass
class Setup:
    """Everything a run is built from; a pure function of the config."""

    config: Config
    env: NativeEnvSpec
    family: BinaryMLP
    strategy: Strategy
    problem: NativeProblem
    target: float | None


# ------------------------------------------------------------------ building
def build_encoder(cfg: Config, env: NativeEnvSpec) -> Encoder:
    """The observation encoder; edges for unbounded dimensions (or all of them, with
    ``policy.edges = "samples"``) come from quantiles of random-policy observations."""
    pc = cfg.policy
    if pc.encoder not in ENCODERS or pc.encoder == "rawbits":
        raise ConfigError(f"policy.encoder must be thermometer, onehot or sign for {env.env_id}, got {pc.encoder!r}")
    cls = ENCODERS[pc.encoder]
    samples = np.zeros((pc.encoder_samples, env.obs_size), dtype=np.float32)
    low = float(env.action_low[0]) if not env.discrete else 0.0
    high = float(env.action_high[0]) if not env.discrete else 0.0
    random_observations(env.kernel, env.n_actions, low, high, env.max_episode_steps, cfg.run.seed, rng.ENCODER, pc.encoder_samples, samples)
    if pc.edges == "samples":
        return cls.from_samples(samples, pc.bits_per_dim)
    import gymnasium as gym

    space = gym.spaces.Box(env.obs_low, env.obs_high, dtype=np.float32)
    return cls.from_space(space, pc.bits_per_dim, samples=samples)


def build_head(cfg: Config, env: NativeEnvSpec) -> ActionHead:
    import gymnasium as gym

    pc = cfg.policy
    if env.discrete:
        space = gym.spaces.Discrete(env.n_actions)
    else:
        space = gym.spaces.Box(env.action_low, env.action_high, dtype=np.float32)
    return ActionHead.for_space(space, pc.action_head, pc.action_bins, pc.action_scale or None, n_hidden=pc.hidden[-1] if pc.hidden else 0)


def build(cfg: Config) -> Setup:
    env = native_spec(cfg.env.id)
    if env is None:
        raise ConfigError(
            f"env.id {cfg.env.id!r} is not a native environment; this version trains on "
            "CartPole-v1, Acrobot-v1, MountainCar-v0, MountainCarContinuous-v0 and Pendulum-v1"
        )
    if cfg.env.kwargs:
        raise ConfigError(f"native environment {env.env_id} takes no env.kwargs, got {cfg.env.kwargs}")
    family = BinaryMLP(build_encoder(cfg, env), cfg.policy.hidden, build_head(cfg, env), cfg.policy.bias_bits)
    sc = cfg.strategy
    if sc.name not in STRATEGIES:
        raise ConfigError(f"strategy.name must be one of {', '.join(STRATEGIES)}, got {sc.name!r}")
    strategy = STRATEGIES[sc.name](
        family.n_params, population=sc.population, lr=sc.lr, eps=sc.eps, theta_max=sc.theta_max, entropy=sc.entropy
    )
    problem = NativeProblem(env, family, cfg.run.seed, cfg.env.max_episode_steps or None)
    return Setup(cfg, env, family, strategy, problem, cfg.target_value(env.reward_threshold))


# ------------------------------------------------------------------- helpers
def _reached(mean: float, target: float | None) -> bool:
    return target is not None and mean >= target


def _describe(result: EvalResult) -> dict:
    r = result.returns.reshape(-1)
    return {
        "mean": float(r.mean()),
        "std": float(r.std()),
        "min": float(r.min()),
        "median": float(np.median(r)),
        "max": float(r.max()),
        "episodes": int(r.size),
    }


# ---------------------------------------------------------------------- train
def train(
    cfg: Config,
    *,
    label: str = "",
    log: Callable[[str], None] | None = print,
) -> TrainResult:
    """Train a binary policy for ``cfg``; returns the summary and the policy (no files written)."""
    t_start = time.perf_counter()
    setup = build(cfg)
    run = cfg.run
    strategy, problem, family = setup.strategy, setup.problem, setup.family
    executor = LocalExecutor(run.threads)
    state = strategy.init(run.seed)
    frames = 0
    history: list[dict] = []
    solved = False
    final_genome: np.ndarray | None = None
    final_eval: dict | None = None
    best_mean, best_genome = -math.inf, strategy.center(state)
    stop_reason = "generations"

    def evaluate(genome: np.ndarray, episodes: int, purpose: int, generation: int) -> EvalResult:
        nonlocal frames
        result = executor.evaluate(problem, FixedMembers(genome), EpisodeRequest(episodes, purpose, generation))
        frames += result.total_frames
        return result

    while True:
        gen = state.generation
        elapsed = time.perf_counter() - t_start
        if run.generations and gen >= run.generations:
            stop_reason = "generations"
            break
        if run.max_frames and frames >= run.max_frames:
            stop_reason = "max_frames"
            break
        if run.max_seconds and elapsed >= run.max_seconds:
            stop_reason = "max_seconds"
            break

        # ask -> evaluate -> tell
        members = strategy.ask(state)
        request = EpisodeRequest(cfg.env.episodes, rng.START, gen, cfg.env.common_starts)
        result = executor.evaluate(problem, members, request)
        frames += result.total_frames
        fitness = result.fitness
        center = strategy.center(state)
        state, metrics = strategy.tell(state, members, fitness)

        # the center network of the distribution the members came from
        check = evaluate(center, run.center_episodes, rng.CENTER, gen)
        center_mean = float(check.returns.mean())
        if center_mean > best_mean:
            best_mean, best_genome = center_mean, center
        row = {
            "generation": gen,
            "frames": frames,
            "seconds": time.perf_counter() - t_start,
            "fitness/mean": float(np.nanmean(fitness)),
            "fitness/max": float(np.nanmax(fitness)),
            "fitness/min": float(np.nanmin(fitness)),
            "center/return": center_mean,
            "center/rank": float(np.mean(fitness < center_mean)),
            **metrics,
        }
        history.append(row)
        if log and (gen % run.log_every == 0):
            log(
                f"gen {gen:4d}  frames {frames / 1e6:7.2f}M  members mean {row['fitness/mean']:8.1f} "
                f"max {row['fitness/max']:8.1f}  center {center_mean:8.1f} (beats {100 * row['center/rank']:3.0f}%)  "
                f"entropy {metrics['search/entropy_bits_mean']:.2f}"
            )
        if _reached(center_mean, setup.target):
            test = evaluate(center, run.eval_episodes, rng.EVAL, gen)
            row["eval/return_mean"] = float(test.returns.mean())
            if _reached(row["eval/return_mean"], setup.target):
                solved, stop_reason = True, "solved"
                final_genome, final_eval = center, _describe(test)
                if log:
                    log(f"gen {gen:4d}  solved: center mean {row['eval/return_mean']:.1f} over {run.eval_episodes} episodes")
                break

    if final_genome is None:
        # no stop on the target: keep the better of the final center and the best checked one
        candidates = [strategy.center(state), best_genome]
        tests = [evaluate(g, run.eval_episodes, rng.EVAL, state.generation) for g in candidates]
        pick = int(np.argmax([t.returns.mean() for t in tests]))
        final_genome, final_eval = candidates[pick], _describe(tests[pick])

    policy = family.decode(final_genome)
    wall = time.perf_counter() - t_start
    summary = {
        "solved": solved,
        "stop_reason": stop_reason,
        "env": setup.env.env_id,
        "config": label,
        "seed": run.seed,
        "target": setup.target,
        "generations": int(state.generation),
        "frames": int(frames),
        "wall_seconds": wall,
        "eval_mean": final_eval["mean"],
        "eval": final_eval,
        "n_params": family.n_params,
        "layer_sizes": list(family.layout.sizes),
        "policy_bytes": len(policy.to_bytes()),
    }
    return TrainResult(summary=summary, policy=policy, history=history)
