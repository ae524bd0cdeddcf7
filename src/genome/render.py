"""Rendering episodes of a policy to an animated GIF or an MP4, headless.

Frames come from Gymnasium's own ``rgb_array`` renderer of the original environment (for
classic control that is pygame drawing into an off-screen surface: no window, no display),
written with imageio. Needs the ``render`` extra: ``pip install 'genome[render]'``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from genome.errors import ConfigError
from genome.policy import Policy

FORMATS = (".gif", ".mp4")


def check_available() -> None:
    """Raise a one-line ConfigError naming the extra when rendering cannot work here."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    try:
        import imageio  # noqa: F401
        import pygame  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"rendering needs pygame and imageio ({exc.name} is missing): pip install 'genome[render]'") from None


def episode_frames(policy: Policy, env_id: str, seed: int = 0, max_frames: int = 1000, every: int = 1) -> tuple[list[np.ndarray], float]:
    """RGB frames of one episode (every ``every``-th step) and its return."""
    from genome.problems.gym_env import make_env

    check_available()
    env = make_env(env_id.removeprefix("genome/"), dict(policy.env_kwargs, render_mode="rgb_array"), preprocess=policy.env_preprocess,
                   observe=policy.env_observe)
    try:
        obs, _ = env.reset(seed=seed)
        policy.reset()
        frames, total, t = [env.render()], 0.0, 0
        while True:
            obs, reward, terminated, truncated, _ = env.step(policy.act(obs))
            total += float(reward)
            t += 1
            if t % every == 0 and len(frames) < max_frames:
                frames.append(env.render())
            if terminated or truncated:
                break
        return frames, total
    finally:
        env.close()


def _half(frame: np.ndarray) -> np.ndarray:
    """2x2 average pooling (thin lines survive as grey, unlike plain subsampling)."""
    h, w = frame.shape[0] // 2 * 2, frame.shape[1] // 2 * 2
    return frame[:h, :w].reshape(h // 2, 2, w // 2, 2, -1).mean(axis=(1, 3)).astype(np.uint8)


def render_policy(policy: Policy, env_id: str, out: str | os.PathLike, episodes: int = 1, seed: int = 0, fps: int = 30) -> list[float]:
    """Write ``episodes`` consecutive episodes to ``out`` (``.gif`` or ``.mp4``); returns their returns."""
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise ConfigError(f"--out must end in .gif or .mp4, got {out.name!r}")
    if episodes < 1:
        raise ConfigError(f"--episodes must be >= 1, got {episodes}")
    check_available()
    import imageio.v2 as imageio

    # GIFs get every second frame at half the frame rate (same speed) and half the
    # resolution: palette quantization per frame is what makes GIFs slow and large
    gif = out.suffix.lower() == ".gif"
    every = 2 if gif else 1
    frames, returns = [], []
    for e in range(episodes):
        f, r = episode_frames(policy, env_id, seed + e, every=every)
        frames.extend(_half(frame) if gif else frame for frame in f)
        returns.append(r)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.tmp{out.suffix}")
    try:
        if out.suffix.lower() == ".gif":
            imageio.mimsave(tmp, frames, duration=1000 * every / fps, loop=0)
        else:
            imageio.mimsave(tmp, frames, fps=fps, macro_block_size=8)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return returns
