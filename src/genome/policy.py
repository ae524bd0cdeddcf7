"""``Policy``: a trained network of any family (a binary network with its encoder, or a
real-valued network with its observation normalizer) and its action head, acting on raw
observations; and :func:`load_policy` for policy files and run directories."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import numpy as np

from genome import policies  # noqa: F401  (every family registers its policy-file reader)
from genome.errors import ConfigError, ModelFormatError
from genome.nets import fileformat
from genome.nets.binary import BinaryNetwork

POLICY_FILE = "policy.gbn"


class Policy:
    """``act(obs)`` maps one raw observation to an environment action (an ``int`` for a
    discrete action space, a float32 array for a box). A policy with memory (a recurrent
    network) carries its state from one ``act`` to the next; call :meth:`reset` at the start
    of every episode (a new policy starts reset)."""

    def __init__(self, network, env_id: str | None = None, env_kwargs: dict | None = None, env_preprocess: str = "none",
                 env_observe=()):
        if isinstance(network, BinaryNetwork) and network.encoder is None:
            raise ModelFormatError("a policy needs a network with an encoder (this one has none)")
        self.network = network
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})
        self.env_preprocess = env_preprocess  #: env.preprocess of the run ("atari": frame stacks)
        self.env_observe = tuple(env_observe)  #: env.observe of the run: the components the policy sees
        self.state = np.zeros(network.state_size)  #: the recurrent state (empty without memory)

    def reset(self) -> None:
        """Forget: the recurrent state back to its start (zeros), as at an episode's start."""
        self.state[:] = 0

    @property
    def family(self) -> str:
        return getattr(self.network, "family", "binary_mlp")

    @property
    def encoder(self):
        return self.network.encoder

    @property
    def head(self):
        return self.network.head

    def act(self, obs):
        return self.network.act_obs(obs, self.state)

    def save(self, path: str | os.PathLike) -> None:
        self.network.save(path)

    @property
    def size_bytes(self) -> int:
        return len(self.network.to_bytes())

    def __repr__(self) -> str:
        env = f", env_id={self.env_id!r}" if self.env_id else ""
        return f"Policy({self.network!r}{env})"


def run_env(run_dir: Path) -> tuple[str | None, dict, str, tuple]:
    """The environment id, ``gymnasium.make`` kwargs, ``env.preprocess`` and ``env.observe`` a
    run was trained with (config.toml)."""
    cfg = run_dir / "config.toml"
    if not cfg.is_file():
        return None, {}, "none", ()
    try:
        env = tomllib.loads(cfg.read_text()).get("env", {})
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
        raise ModelFormatError(f"{cfg}: cannot read the run's config ({exc})") from None
    return env.get("id"), dict(env.get("kwargs", {})), str(env.get("preprocess", "none")), tuple(env.get("observe", ()))


def load_network(path: str | os.PathLike):
    """The network in a policy file, whatever its family; a bad file raises ``ValueError``."""
    return fileformat.read_network(fileformat.read_file(path), str(path))


def load_policy(path: str | os.PathLike) -> Policy:
    """Load a policy file (``*.gbn``) or a run directory (its ``policy.gbn``)."""
    p = Path(path)
    if p.is_dir():
        file = p / POLICY_FILE
        if not file.is_file():
            raise ConfigError(f"{p} is not a genome run directory (no {POLICY_FILE}; has the run finished?)")
        return Policy(load_network(file), *run_env(p))
    if not p.exists():
        raise ConfigError(f"{p}: no such run directory or policy file")
    return Policy(load_network(p), None)
