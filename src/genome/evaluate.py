"""Evaluating a policy over many episodes with distinct start states.

An evolved policy's score varies with the start state, so it is reported as
mean ± std, min, median and max over episodes. Two backends:

* ``native``: the fused numba kernel (native environments only; start states from the
  counter-based generator keyed by ``(seed, REPORT, 0, episode)``);
* ``gymnasium``: Gymnasium's own original environment, reset with ``seed + episode``,
  the policy called from Python at every step -- the independent check.
"""

from __future__ import annotations

import numpy as np

from genome import rng
from genome.envs import native_spec
from genome.errors import ConfigError
from genome.policy import Policy
from genome.problems import EpisodeRequest
from genome.problems.native import run_native


def describe(returns: np.ndarray) -> dict:
    r = np.asarray(returns, dtype=np.float64).reshape(-1)
    return {
        "mean": float(r.mean()),
        "std": float(r.std()),
        "min": float(r.min()),
        "median": float(np.median(r)),
        "max": float(r.max()),
        "episodes": int(r.size),
    }


def episode_returns(policy: Policy, env_id: str, episodes: int = 100, seed: int = 0, backend: str = "auto") -> np.ndarray:
    """Return of each of ``episodes`` episodes."""
    if episodes < 1:
        raise ConfigError(f"--episodes must be >= 1, got {episodes}")
    if seed < 0:
        raise ConfigError(f"--seed must be >= 0, got {seed}")
    spec = native_spec(env_id) if not policy.env_kwargs and policy.env_preprocess == "none" else None
    if spec is not None:
        spec = spec.observing(policy.env_observe)
    fused = hasattr(policy.network, "kernel_arrays")  # binary_planes has no fused native rollout
    if backend == "auto":
        backend = "native" if spec is not None and fused else "gymnasium"
    if backend == "native":
        if spec is None:
            raise ConfigError(f"{env_id} is not a native environment; use --backend gymnasium")
        if not fused:
            raise ConfigError(f"a {policy.family} policy runs through Gymnasium, not genome's native rollouts; use --backend gymnasium")
        net = policy.network
        result = run_native(spec, spec.max_episode_steps, net, net.kernel_arrays(), seed, EpisodeRequest(episodes, rng.REPORT, 0))
        return result.returns[0]
    if backend == "gymnasium":
        return _gymnasium_returns(policy, env_id.removeprefix("genome/") if spec is not None else env_id, episodes, seed)
    raise ConfigError(f"--backend must be native, gymnasium or auto, got {backend!r}")


def _gymnasium_returns(policy: Policy, env_id: str, episodes: int, seed: int) -> np.ndarray:
    from genome.problems.gym_env import make_env

    env = make_env(env_id, policy.env_kwargs, preprocess=policy.env_preprocess, observe=policy.env_observe)
    out = np.zeros(episodes)
    try:
        for e in range(episodes):
            obs, _ = env.reset(seed=seed + e)
            policy.reset()
            total, done = 0.0, False
            while not done:
                obs, reward, terminated, truncated, _ = env.step(policy.act(obs))
                total += float(reward)
                done = terminated or truncated
            out[e] = total
    finally:
        env.close()
    return out


def evaluate_policy(policy: Policy, env_id: str, episodes: int = 100, seed: int = 0, backend: str = "auto") -> dict:
    """``{"mean", "std", "min", "median", "max", "episodes"}`` over ``episodes`` episodes."""
    return describe(episode_returns(policy, env_id, episodes, seed, backend))
