"""Native environments (numba kernels), registered in Gymnasium as ``genome/<id>``.

``import genome`` registers them, so ``gymnasium.make("genome/CartPole-v1")`` works
afterwards (or in one step: ``gymnasium.make("genome:genome/CartPole-v1")``).
"""

from __future__ import annotations

import gymnasium as gym

from genome.envs.custom import NativeEnv, native_spec
from genome.envs.native import NATIVE_ENVS, NativeEnvSpec


def register_envs() -> None:
    """Register every native environment under ``genome/<id>`` (idempotent)."""
    for spec in NATIVE_ENVS.values():
        if spec.gym_id in gym.registry:
            continue
        gym.register(
            id=spec.gym_id,
            entry_point=f"genome.envs.gym_api:{spec.env_id.split('-')[0]}Env",
            max_episode_steps=spec.max_episode_steps,
            reward_threshold=spec.reward_threshold,
        )


register_envs()

__all__ = ["NATIVE_ENVS", "NativeEnv", "NativeEnvSpec", "native_spec", "register_envs"]
