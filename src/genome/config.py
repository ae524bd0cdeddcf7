"""Run configuration: frozen dataclasses loaded from TOML, overridable key by key.

A config has four sections -- ``env``, ``policy``, ``strategy``, ``run`` -- plus an
optional top-level ``description``. The ``strategy`` section's keys depend on
``strategy.name``: each strategy owns its keys (:data:`STRATEGY_CONFIGS`), and a key that
belongs to another strategy is an error naming both. Presets ship inside the package
(``genome/presets/*.toml``); ``--set section.key=value`` overrides any key (the value is
parsed as TOML, so ``--set policy.hidden=[64,64]`` works). Unknown keys and wrong types
raise :class:`ConfigError` naming the key.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from genome.errors import ConfigError


def _help(text: str, **kw):
    return field(metadata={"help": text}, **kw)


@dataclass(frozen=True)
class EnvConfig:
    id: str = _help("Gymnasium environment id (native ones run in fused numba kernels), Gymnasium module:EnvId, or your own native "
                    "environment FILE.py:Name / package.module:Name (docs/your-environment.md)", default="CartPole-v1")
    kwargs: dict = _help("keyword arguments for gymnasium.make", default_factory=dict)
    episodes: int = _help("episodes per member per generation (fitness is their mean return)", default=1)
    common_starts: bool = _help("all members of a generation share the same start states", default=True)
    paired_starts: bool = _help("with common_starts = false: the two members of each mirrored/antithetic pair share "
                                "their start states (every pair its own)", default=False)
    max_episode_steps: int = _help("episode step limit; 0 = the environment's own", default=0)
    step_limit: int = _help("an episode still running after this many steps fails its member (Gymnasium envs)", default=100000)
    num_envs: int = _help("environments each worker process steps together (Gymnasium envs)", default=16)
    preprocess: str = _help("'atari': Gymnasium's Atari preprocessing (84x84 grayscale, frame skip 4, up to 30 no-op starts) "
                            "and a stack of the last 4 frames, the conv family's input; 'noop': the env's own observations (e.g. Atari RAM) "
                            "after up to 30 no-op steps (the DQN protocol); 'none': observations as the env gives them", default="none")
    backend: str = _help("Gymnasium environments: 'gymnasium' (each env stepped from Python) or 'envpool' (EnvPool steps "
                         "them in C++, one call per batch: faster on MuJoCo; pip install 'genome[envpool]')", default="gymnasium")
    reward_shift: float = _help("subtracted from every step's reward in training only (ARS's survival-bonus shift); "
                                "center checks, stopping tests and evaluations see the true reward", default=0.0)
    observe: list = _help("the observation components the policy sees, as increasing indices into the environment's "
                          "observation (e.g. [0, 2]: CartPole's positions only, a partially observable task); [] = all",
                          default_factory=list)


#: env.preprocess values (problems/gym.py's make_env applies them)
PREPROCESS = ("none", "atari", "noop")

#: ``policy.family`` -> the kind of genome its strategies search ("bits" or "reals"); the
#: families' builders are in genome/build.py (``FAMILY_BUILDERS``, one line each)
FAMILIES = {
    "binary_mlp": "bits", "binary_latent": "reals", "binary_planes": "reals", "binary_chromatic": "bits", "binary_rnn": "bits",
    "linear": "reals", "mlp": "reals", "toeplitz": "reals", "circulant": "reals", "conv": "reals",
    "masked": "reals", "chromatic": "reals", "lstm": "reals", "gru": "reals", "conv_lstm": "reals",
}


@dataclass(frozen=True)
class PolicyConfig:
    family: str = _help("policy family: binary_mlp (bits, Bernoulli NES); binary_latent (a binary network searched through real latent weights: "
                        "OpenAI-ES / ARS); binary_planes (a linear binary policy whose weights are stacks of +-1 bit-planes, searched "
                        "through real latents); real-valued linear, mlp, toeplitz, circulant, conv (Nature-DQN on image frames); weight sharing "
                        "searched by a controller: chromatic, masked, binary_chromatic; with memory: lstm, gru (real), binary_rnn (bits), "
                        "conv_lstm (the Nature-DQN convolutions into an LSTM)",
                        default="binary_mlp")
    hidden: list = _help("hidden layer widths (binary_mlp, mlp, toeplitz, circulant; conv: the dense layers after the convolutions; linear has none; "
                         "lstm, gru: [units of the cell]; binary_rnn: the first is the recurrent layer)", default_factory=lambda: [64])
    input_layer: int = _help("lstm, gru: units of a dense tanh layer between the observation and the cell (0: none); "
                             "conv_lstm: the features between the convolutions and the cell (0: 256)", default=0)
    encoder: str = _help("observation encoder: auto (by observation space), thermometer, onehot, sign, rawbits", default="auto")
    bits_per_dim: int = _help("encoder bits per observation dimension", default=16)
    edges: str = _help("bucket edges: 'auto' (native: space bounds where finite, else samples; Gymnasium: running), 'samples' or 'running'", default="auto")
    edge_spread: float = _help("running thermometer edges mean + std * z_k: 0 = z_k the standard normal's quantiles; a > 0 = z_k evenly "
                               "spaced on [-a, a] (the bits' sum then follows the normalized observation linearly over that range)", default=0.0)
    dither: bool = _help("binary families, Gymnasium Box observations: shift each observation by a pseudo-random fraction of its "
                         "dimension's central edge gap (a hash of the observation, so the policy stays deterministic) before the "
                         "thermometer compares it: the expected code is linear between edges (dithered quantization)", default=False)
    image_size: list = _help("image observations are block-averaged to [height, width] bits", default_factory=lambda: [21, 16])
    encoder_samples: int = _help("random-policy observations gathered to fit edges from samples", default=20000)
    bias_bits: int = _help("bias bits per unit (constant +1 inputs; bias = 2*ones - bias_bits)", default=8)
    action_head: str = _help("Box actions: 'bins' (argmax per dimension), 'tanh', 'clip' (ARS), 'affine' (the integer readout: "
                             "a = clip(mid + half * s / action_scale)), or 'auto' (binary: bins, real: tanh)", default="auto")
    action_bins: int = _help("bins head: evenly spaced values per action dimension", default=3)
    action_scale: float = _help("tanh and affine heads: the score that maps to the half range; 0 = sqrt(inputs of the output layer) "
                                "for binary, 1 for real families", default=0.0)
    latent: str = _help("binary_latent: 'input' (one latent weight per unit and observation dimension, spread over its "
                        "thermometer bits by fixed offsets) or 'bit' (one latent per bit: its sign)", default="input")
    latent_order: str = _help("binary_latent, latent = input: the order in which a group's bits switch on as its latent grows: "
                              "'golden' (the additive recurrence frac(1/2 + k/phi)) or 'bitreversal' (van der Corput: at latent 0 "
                              "every other edge is on, so the zero genome responds +-1 per dimension, without the golden order's offset)",
                              default="golden")
    relax: float = _help("binary_latent without hidden layers, Gymnasium path: the training members run a relaxed network whose bit "
                         "i weighs clip((c + d_i) / w, -1, 1) instead of its sign, on the expected input code, with width "
                         "w = max(relax * relax_decay^generation, relax_min) in latent units; center checks, tests and the saved "
                         "policy stay binary (0: off)", default=0.0)
    relax_decay: float = _help("binary_latent: the relaxation width's factor per generation (1: constant)", default=1.0)
    relax_min: float = _help("binary_latent: the relaxation width's floor", default=0.0)
    planes: int = _help("binary_planes: +-1 bit-planes per weight (B): a weight is sum_b 2^b beta_b, one of 2^B odd integers; "
                        "the policy stores outputs x (dims + 1) x B bits", default=8)
    output_bias: bool = _help("real families and binary_planes: the output layer has a bias (hidden layers always do)", default=False)
    obs_norm: bool = _help("real families: normalize observations with running mean/std of the members' observations", default=True)
    obs_std_floor: float = _help("real families: normalization divides by max(std, this)", default=0.1)
    obs_clip: float = _help("real families: normalized observations are clipped to [-this, this]", default=5.0)
    partitions: int = _help("chromatic families: M, the number of shared weights (colors) every edge chooses from", default=8)
    controller: str = _help("chromatic/masked families: 'reinforce' (a per-edge controller learns the coloring/mask) or "
                            "'frozen' (a fixed random one: the baseline)", default="reinforce")
    controller_lr: float = _help("controller: REINFORCE step size on the per-edge logits", default=0.1)
    controller_entropy: float = _help("controller: entropy bonus", default=0.0)
    controller_decay: float = _help("controller: moving-average decay of the reward baseline", default=0.9)
    controller_schedule: str = _help("controller: 'joint' (weights and controller step on the same rollouts every generation) or "
                                     "'alternate' (one of the two per phase of controller_period generations)", default="joint")
    controller_period: int = _help("controller: generations per phase with controller_schedule = alternate", default=10)
    controller_init: float = _help("controller: logit added to one random choice per edge at the start (0: uniform, as the paper; "
                                   "c > 0 starts the search near that random coloring: p = e^c / (e^c + K - 1))", default=0.0)


@dataclass(frozen=True)
class StrategyConfig:
    """Keys every strategy has; each strategy's own keys are in its subclass."""

    name: str = _help("optimizer: bernoulli_nes (binary families), openai_es (real families), ga (either)", default="bernoulli_nes")
    population: int = _help("members per generation", default=256)

    def check(self) -> None:
        """Raise :class:`ConfigError` naming the key when a value is out of range: the one
        place a strategy's rules are written (its constructor calls this too)."""
        if self.population < 2:
            raise ConfigError(f"strategy.population must be >= 2, got {self.population}")

    def strategy_kwargs(self) -> dict[str, Any]:
        """The keys as the strategy's constructor takes them (every key but ``name``)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "name"}


@dataclass(frozen=True)
class BernoulliNESConfig(StrategyConfig):
    lr: float = _help("step size on the logits", default=10.0)
    eps: float = _help("Fisher damping in g = E[f (x - p)] / (p(1-p) + eps)", default=0.1)
    theta_max: float = _help("logit bound |theta| <= theta_max (exploration floor)", default=3.0)
    entropy: float = _help("natural-gradient entropy bonus: pull of logits toward 0", default=0.0)

    def check(self) -> None:
        super().check()
        if self.lr <= 0 or self.eps < 0 or self.theta_max <= 0 or self.entropy < 0:
            raise ConfigError("strategy.lr and strategy.theta_max must be > 0, strategy.eps and strategy.entropy >= 0")


@dataclass(frozen=True)
class OpenAIESConfig(StrategyConfig):
    name: str = _help("optimizer: bernoulli_nes (binary families), openai_es (real families), ga (either)", default="openai_es")
    population: int = _help("members per generation: population/2 antithetic pairs", default=100)
    sigma: float = _help("noise standard deviation: members are theta +- sigma * eps", default=0.02)
    lr: float = _help("optimizer step size (the gradient has no 1/sigma factor: docs/architecture.md)", default=0.01)
    optimizer: str = _help("'adam' or 'sgd' (with momentum)", default="adam")
    momentum: float = _help("sgd: momentum coefficient", default=0.9)
    beta1: float = _help("adam: first-moment decay", default=0.9)
    beta2: float = _help("adam: second-moment decay", default=0.999)
    l2: float = _help("L2 weight decay: the optimizer follows -g + l2 * theta", default=0.005)
    shaping: str = _help("fitness shaping: 'centered_ranks' or 'none' (raw returns, as ARS)", default="centered_ranks")
    top_directions: int = _help("use only the best b pairs by max(f+, f-) (ARS V1-t/V2-t); 0 = all", default=0)
    normalize_step: bool = _help("divide the gradient by the std of the 2b returns used (ARS)", default=False)
    orthogonal: bool = _help("orthogonal directions: the pairs' eps orthogonalized, each keeping its Gaussian length (Choromanski et al. 2018)", default=False)
    sigma_decay: float = _help("generation g's noise is max(sigma * sigma_decay^g, sigma_min); 1 = fixed", default=1.0)
    sigma_min: float = _help("the floor of the decaying noise scale", default=0.0)
    lr_decay: float = _help("generation g's step size is max(lr * lr_decay^g, lr_min); 1 = fixed", default=1.0)
    lr_min: float = _help("the floor of the decaying step size", default=0.0)

    def check(self) -> None:
        super().check()
        if self.population % 2:
            raise ConfigError(f"strategy.population must be even for openai_es (antithetic pairs), got {self.population}")
        if self.sigma <= 0 or self.lr <= 0 or self.l2 < 0:
            raise ConfigError("strategy.sigma and strategy.lr must be > 0, strategy.l2 >= 0")
        if self.optimizer not in ("adam", "sgd"):
            raise ConfigError(f"strategy.optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        if not (0 <= self.momentum < 1 and 0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise ConfigError("strategy.momentum, strategy.beta1 and strategy.beta2 must be in [0, 1)")
        if self.shaping not in ("centered_ranks", "none"):
            raise ConfigError(f"strategy.shaping must be 'centered_ranks' or 'none', got {self.shaping!r}")
        if not 0 <= self.top_directions <= self.population // 2:
            raise ConfigError(f"strategy.top_directions must be between 0 and population/2 = {self.population // 2}, got {self.top_directions}")
        if not 0 < self.sigma_decay <= 1 or self.sigma_min < 0:
            raise ConfigError(f"strategy.sigma_decay must be in (0, 1] and strategy.sigma_min >= 0, got {self.sigma_decay} and {self.sigma_min}")
        if not 0 < self.lr_decay <= 1 or self.lr_min < 0:
            raise ConfigError(f"strategy.lr_decay must be in (0, 1] and strategy.lr_min >= 0, got {self.lr_decay} and {self.lr_min}")


@dataclass(frozen=True)
class GAConfig(StrategyConfig):
    name: str = _help("optimizer: bernoulli_nes (binary families), openai_es (real families), ga (either)", default="ga")
    population: int = _help("members per generation (the elite's unmutated copy included)", default=100)
    truncation: int = _help("the best T members of a generation are the next one's parents", default=10)
    elites: int = _help("the best k children (and the current elite) are re-evaluated to pick the elite", default=5)
    validation_episodes: int = _help("episodes of each elite candidate's re-evaluation", default=30)
    elite_running_mean: bool = _help("score the elite by the mean of all its validation episodes so far (every generation's), not only this generation's", default=False)
    stratified_validation: bool = _help("validation episodes enumerate the ALE no-op starts (1-30) in turn instead of drawing them: "
                                        "30 episodes score every start once (ALE with env.preprocess 'noop' or 'atari')", default=False)
    sigma: float = _help("real genomes: mutation theta + sigma * eps", default=0.02)
    flip_prob: float = _help("binary genomes: each bit flips with this probability", default=0.01)

    def check(self) -> None:
        super().check()
        if not 1 <= self.truncation <= self.population or not 0 <= self.elites <= self.population:
            raise ConfigError(f"strategy.truncation must be in [1, population] and strategy.elites in [0, population], got {self.truncation} and {self.elites}")
        if self.validation_episodes < 1 or self.sigma <= 0 or not 0 < self.flip_prob < 1:
            raise ConfigError("strategy.validation_episodes must be >= 1, strategy.sigma > 0 and strategy.flip_prob in (0, 1)")


#: strategy.name -> its config class (each strategy owns its keys).
STRATEGY_CONFIGS: dict[str, type[StrategyConfig]] = {"bernoulli_nes": BernoulliNESConfig, "openai_es": OpenAIESConfig, "ga": GAConfig}


def default_strategy(family: str) -> str:
    """The strategy a family trains with when the config names none."""
    return "bernoulli_nes" if FAMILIES.get(family, "bits") == "bits" else "openai_es"


@dataclass(frozen=True)
class RunConfig:
    seed: int = _help("run seed: the whole run is a function of the config and this seed", default=0)
    generations: int = _help("generation budget (0 = no limit)", default=500)
    max_frames: int = _help("environment-step budget (0 = no limit)", default=0)
    max_seconds: float = _help("wall-time budget in seconds (0 = no limit)", default=0.0)
    target: Any = _help("stop when the center's mean return over eval_episodes reaches this; 'auto' = the env's threshold, 'none' = never", default="auto")
    eval_episodes: int = _help("episodes of the final / stopping evaluation of the center network", default=100)
    target_se: float = _help(
        "the stopping test passes when its mean minus this many standard errors reaches the target "
        "(guards against stopping on a lucky test with noisy returns)", default=0.0)
    center_episodes: int = _help("episodes of the per-generation check of the center network", default=10)
    center_every: int = _help("check the center (and maybe stop) every N generations", default=1)
    threads: int = _help("worker threads for native environments (0 = all cores)", default=0)
    workers: int = _help("worker processes for Gymnasium environments (0 = all cores, 1 = in-process)", default=0)
    task_timeout: float = _help("seconds before a worker's evaluation task counts as hung (its members fail)", default=600.0)
    executor: str = _help(
        "where evaluations run: local (threads for native environments, worker processes for Gymnasium ones), "
        "processes (worker processes for either) or ray (a Ray cluster: pip install 'genome[ray]'; docs/cluster.md)",
        default="local")
    ray_address: str = _help(
        "the Ray cluster of executor=ray: auto (the one running here, `ray start --head`), HOST:PORT, "
        "or local (start a private one on this machine)", default="auto")
    ray_cpus_per_task: int = _help("CPUs each Ray task reserves (native environments run that many threads)", default=1)
    log_every: int = _help("print a progress line every N generations (when not on a terminal)", default=10)
    checkpoint_every: int = _help("write a checkpoint every N generations (0 = only at the end and on Ctrl-C)", default=10)
    histogram_every: int = _help("TensorBoard histogram of the logits every N generations (0 = never)", default=10)
    render_every: int = _help("save a GIF of the center policy under videos/ every N generations (0 = never)", default=0)


#: ``run.executor`` values (genome/executors/__init__.py, docs/cluster.md)
EXECUTORS = ("local", "processes", "ray")


def _host_port(address: str) -> bool:
    host, _, port = address.rpartition(":")
    return bool(host) and port.isdigit() and 0 < int(port) < 65536


@dataclass(frozen=True)
class Config:
    env: EnvConfig = field(default_factory=EnvConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    strategy: StrategyConfig = field(default_factory=BernoulliNESConfig)
    run: RunConfig = field(default_factory=RunConfig)
    description: str = ""

    def replace(self, **sections) -> "Config":
        return dataclasses.replace(self, **sections)

    def target_value(self, env_threshold: float | None) -> float | None:
        """The stopping threshold: a number, or None for 'never stop on return'."""
        t = self.run.target
        if isinstance(t, str):
            return env_threshold if t == "auto" else None
        return float(t)


SECTIONS = {"env": EnvConfig, "policy": PolicyConfig, "strategy": StrategyConfig, "run": RunConfig}


# --------------------------------------------------------------------- checking
_ANNOTATIONS = {"Any": Any, "bool": bool, "int": int, "float": float, "str": str, "list": list, "dict": dict}


def _check_type(key: str, value: Any, annotation: Any) -> Any:
    ann = _ANNOTATIONS.get(annotation, annotation) if isinstance(annotation, str) else annotation
    if ann is Any:
        return value
    if ann is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {value!r}")
        return value
    if ann is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key} must be an integer, got {value!r}")
        return value
    if ann is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"{key} must be a number, got {value!r}")
        return float(value)
    if ann is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a string, got {value!r}")
        return value
    if ann is list:
        if not isinstance(value, list):
            raise ConfigError(f"{key} must be a list, got {value!r}")
        return value
    if ann is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a table (TOML {{...}} / JSON object), got {value!r}")
        return value
    raise AssertionError(f"unhandled annotation {ann} for {key}")  # pragma: no cover


def _strategy_class(values: dict) -> type[StrategyConfig]:
    strategy = values.get("name", StrategyConfig.name)
    if strategy not in STRATEGY_CONFIGS:
        raise ConfigError(f"strategy.name must be one of {', '.join(STRATEGY_CONFIGS)}, got {strategy!r}")
    return STRATEGY_CONFIGS[strategy]


def _section(name: str, cls, values: dict) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"[{name}] must be a table, got {values!r}")
    if name == "strategy":
        cls = _strategy_class(values)
    known = {f.name: f for f in fields(cls)}
    kwargs = {}
    for key, value in values.items():
        if key not in known:
            if name == "strategy":
                owners = [n for n, c in STRATEGY_CONFIGS.items() if key in {f.name for f in fields(c)}]
                if owners:
                    raise ConfigError(f"strategy.{key} belongs to {' and '.join(owners)}, not to {cls().name} "
                                      f"(its keys: {', '.join(sorted(known))}; set strategy.name to change the strategy)")
            raise ConfigError(f"unknown config key {name}.{key} (known: {', '.join(sorted(known))})")
        kwargs[key] = _check_type(f"{name}.{key}", value, known[key].type)
    return cls(**kwargs)


def _validate(cfg: Config) -> Config:
    run = cfg.run
    t = run.target
    if isinstance(t, str) and t not in ("auto", "none"):
        raise ConfigError(f"run.target must be a number, 'auto' or 'none', got {t!r}")
    if not isinstance(t, str) and (isinstance(t, bool) or not isinstance(t, (int, float))):
        raise ConfigError(f"run.target must be a number, 'auto' or 'none', got {t!r}")
    for key in ("seed", "generations", "max_frames", "threads", "checkpoint_every", "histogram_every", "render_every"):
        if getattr(run, key) < 0:
            raise ConfigError(f"run.{key} must be >= 0, got {getattr(run, key)}")
    for key in ("max_seconds", "target_se"):
        if getattr(run, key) < 0:
            raise ConfigError(f"run.{key} must be >= 0, got {getattr(run, key)}")
    for key in ("eval_episodes", "center_episodes", "center_every", "log_every"):
        if getattr(run, key) < 1:
            raise ConfigError(f"run.{key} must be >= 1, got {getattr(run, key)}")
    if cfg.env.episodes < 1:
        raise ConfigError(f"env.episodes must be >= 1, got {cfg.env.episodes}")
    if cfg.env.preprocess not in PREPROCESS:
        raise ConfigError(f"env.preprocess must be one of {', '.join(PREPROCESS)}, got {cfg.env.preprocess!r}")
    if cfg.env.preprocess != "none" and not cfg.env.id.startswith("ALE/"):
        raise ConfigError(f"env.preprocess = {cfg.env.preprocess!r} is for Atari (ALE/...) environments, not {cfg.env.id}")
    if cfg.env.backend not in ("gymnasium", "envpool"):
        raise ConfigError(f"env.backend must be 'gymnasium' or 'envpool', got {cfg.env.backend!r}")
    if cfg.env.backend == "envpool" and cfg.env.preprocess != "none":
        raise ConfigError("env.backend = 'envpool' takes the environment's own observations: set env.preprocess = 'none'")
    observe = cfg.env.observe
    if not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in observe) or list(observe) != sorted(set(observe)):
        raise ConfigError(f"env.observe must list distinct observation indices (integers >= 0) in increasing order, got {observe}")
    if observe and cfg.env.preprocess != "none":
        raise ConfigError("env.observe selects components of a flat observation; it does not combine with env.preprocess")
    if cfg.env.max_episode_steps < 0:
        raise ConfigError(f"env.max_episode_steps must be >= 0, got {cfg.env.max_episode_steps}")
    if not all(isinstance(h, int) and not isinstance(h, bool) and h >= 1 for h in cfg.policy.hidden):
        raise ConfigError(f"policy.hidden must be a list of positive integers, got {cfg.policy.hidden}")
    if cfg.policy.family not in FAMILIES:
        raise ConfigError(f"policy.family must be one of {', '.join(FAMILIES)}, got {cfg.policy.family!r}")
    if cfg.policy.action_head not in ("auto", "bins", "tanh", "clip", "affine"):
        raise ConfigError(f"policy.action_head must be 'auto', 'bins', 'tanh', 'clip' or 'affine', got {cfg.policy.action_head!r}")
    if cfg.policy.latent not in ("input", "bit"):
        raise ConfigError(f"policy.latent must be 'input' or 'bit', got {cfg.policy.latent!r}")
    if cfg.policy.dither and FAMILIES[cfg.policy.family] != "bits" and cfg.policy.family not in ("binary_latent", "binary_planes"):
        raise ConfigError(f"policy.dither shifts a binary family's thermometer inputs; policy.family = {cfg.policy.family} has none "
                          "(set policy.dither = false)")
    pc = cfg.policy
    if pc.latent_order not in ("golden", "bitreversal"):
        raise ConfigError(f"policy.latent_order must be 'golden' or 'bitreversal', got {pc.latent_order!r}")
    if pc.relax < 0 or pc.relax_min < 0 or not 0 < pc.relax_decay <= 1:
        raise ConfigError(f"policy.relax and policy.relax_min must be >= 0 and policy.relax_decay in (0, 1], got "
                          f"{pc.relax}, {pc.relax_min}, {pc.relax_decay}")
    if pc.relax > 0 and (pc.family != "binary_latent" or pc.hidden):
        raise ConfigError(f"policy.relax relaxes a linear binary_latent network (family binary_latent, hidden = []); got "
                          f"policy.family = {pc.family} with hidden = {pc.hidden} (set policy.relax = 0)")
    if not 1 <= pc.planes <= 16:
        raise ConfigError(f"policy.planes must be in 1 .. 16, got {pc.planes}")
    if cfg.policy.edge_spread < 0:
        raise ConfigError(f"policy.edge_spread must be >= 0, got {cfg.policy.edge_spread}")
    if cfg.policy.action_scale < 0:
        raise ConfigError(f"policy.action_scale must be >= 0 (0: the default scale), got {cfg.policy.action_scale}")
    if cfg.policy.obs_std_floor <= 0 or cfg.policy.obs_clip <= 0:
        raise ConfigError("policy.obs_std_floor and policy.obs_clip must be > 0")
    st = cfg.strategy
    st.check()
    if isinstance(st, GAConfig) and st.stratified_validation and not (cfg.env.id.startswith("ALE/") and cfg.env.preprocess != "none"):
        raise ConfigError("strategy.stratified_validation enumerates ALE no-op starts: it needs an ALE/... environment with "
                          f"env.preprocess = 'noop' or 'atari' (got {cfg.env.id} with {cfg.env.preprocess!r})")
    if cfg.policy.bits_per_dim < 1:
        raise ConfigError(f"policy.bits_per_dim must be >= 1, got {cfg.policy.bits_per_dim}")
    if cfg.policy.edges not in ("auto", "samples", "running"):
        raise ConfigError(f"policy.edges must be 'auto', 'samples' or 'running', got {cfg.policy.edges!r}")
    size = cfg.policy.image_size
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in size)):
        raise ConfigError(f"policy.image_size must be [height, width] with positive integers, got {size}")
    for key in ("step_limit", "num_envs"):
        if getattr(cfg.env, key) < 1:
            raise ConfigError(f"env.{key} must be >= 1, got {getattr(cfg.env, key)}")
    if run.workers < 0 or run.task_timeout <= 0:
        raise ConfigError("run.workers must be >= 0 and run.task_timeout > 0")
    if run.executor not in EXECUTORS:
        raise ConfigError(f"run.executor must be one of {', '.join(EXECUTORS)}, not {run.executor!r}")
    if run.ray_cpus_per_task < 1:
        raise ConfigError("run.ray_cpus_per_task must be >= 1")
    address = str(run.ray_address)
    if address not in ("auto", "local") and not _host_port(address):
        raise ConfigError(f"run.ray_address must be auto, local or HOST:PORT, not {address!r}")
    return cfg


def from_dict(data: dict) -> Config:
    """Build and validate a :class:`Config` from a parsed TOML document."""
    data = dict(data)
    description = data.pop("description", "")
    if not isinstance(description, str):
        raise ConfigError(f"description must be a string, got {description!r}")
    sections = {}
    strategy = data.get("strategy", {})
    if isinstance(strategy, dict) and "name" not in strategy:
        policy = data.get("policy", {})
        family = policy.get("family", PolicyConfig.family) if isinstance(policy, dict) else PolicyConfig.family
        data["strategy"] = {"name": default_strategy(family) if isinstance(family, str) else StrategyConfig.name, **strategy}
    for name, values in data.items():
        if name not in SECTIONS:
            raise ConfigError(f"unknown config section [{name}] (known: {', '.join(SECTIONS)})")
        sections[name] = _section(name, SECTIONS[name], values)
    return _validate(Config(description=description, **sections))


def to_dict(cfg: Config) -> dict:
    out = {"description": cfg.description} if cfg.description else {}
    for name in SECTIONS:
        out[name] = dataclasses.asdict(getattr(cfg, name))
    return out


# ------------------------------------------------------------------ overrides
def parse_override(text: str) -> tuple[str, str, Any]:
    """``"section.key=value"`` -> ``(section, key, value)``; the value is read as TOML, else
    taken as a plain string."""
    if "=" not in text:
        raise ConfigError(f"--set expects section.key=value, got {text!r}")
    path, raw = text.split("=", 1)
    parts = path.strip().split(".")
    if len(parts) != 2 or not all(parts):
        raise ConfigError(f"--set expects section.key=value, got {text!r}")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return parts[0], parts[1], value


def apply_overrides(cfg: Config, overrides: dict[str, dict[str, Any]]) -> Config:
    """``{"run": {"seed": 3}, ...}`` applied on top of ``cfg``, then validated."""
    data = to_dict(cfg)
    for section, values in overrides.items():
        if section not in SECTIONS:
            raise ConfigError(f"unknown config section {section!r} (known: {', '.join(SECTIONS)})")
        if section == "policy" and "family" in values and "name" not in overrides.get("strategy", {}):
            # a family of the other genome kind trains with its own default strategy
            name = default_strategy(str(values["family"]))
            if default_strategy(cfg.policy.family) != name:
                data["strategy"] = {"name": name, "population": cfg.strategy.population}
        if section == "strategy" and values.get("name", cfg.strategy.name) != cfg.strategy.name:
            # another strategy: its own defaults; only the population carries over
            data[section] = {"population": cfg.strategy.population}
        data[section].update(values)
    return from_dict(data)


# -------------------------------------------------------------------- presets
def preset_names() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("genome.presets").iterdir() if p.name.endswith(".toml"))


def _preset_data(name: str) -> dict:
    path = resources.files("genome.presets") / f"{name}.toml"
    if not path.is_file():
        raise ConfigError(f"unknown preset {name!r}; `genome presets` lists them ({', '.join(preset_names())})")
    return tomllib.loads(path.read_text())


def _resolve_preset(name: str) -> tuple[str | None, dict]:
    """``(alias target or None, the TOML data to build)``: each file is read once."""
    data = _preset_data(name)
    if "alias" not in data:
        return None, data
    target = data["alias"]
    if set(data) != {"alias"} or not isinstance(target, str) or "alias" in (target_data := _preset_data(target)):
        raise ConfigError(f"preset {name!r}: an alias file holds only alias = \"<another preset that is not an alias>\"")
    return target, target_data


def preset_alias(name: str) -> str | None:
    """The preset that ``name`` stands for when its file holds only ``alias = "other"``.

    An old name kept for a better method: ``hopper`` and ``halfcheetah`` name the binary
    flagship on their environment, ``hopper-binary`` / ``halfcheetah-binary``.
    """
    return _resolve_preset(name)[0]


def load_preset(name: str) -> Config:
    return from_dict(_resolve_preset(name)[1])


def load(preset_or_path: str) -> tuple[Config, str]:
    """A preset name or a TOML file path -> ``(config, label)``; the label names runs."""
    p = Path(preset_or_path)
    if p.suffix == ".toml" or p.exists():
        if not p.is_file():
            raise ConfigError(f"config file {p} does not exist")
        try:
            data = tomllib.loads(p.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: not valid TOML ({exc})") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{p}: cannot read ({exc})") from None
        return from_dict(data), p.stem
    if preset_or_path in preset_names():
        return load_preset(preset_or_path), preset_or_path
    if ":" in preset_or_path and not preset_or_path.startswith("ALE/"):
        from genome.envs import native_spec

        spec = native_spec(preset_or_path)  # a user environment: file.py:Name or package.module:Name
        if spec is not None:
            return Config(env=EnvConfig(id=preset_or_path)), spec.env_id.lower()
    return load_gym_id(preset_or_path)


def load_gym_id(env_id: str) -> tuple[Config, str]:
    """A bare Gymnasium id with no preset: the default config for that environment."""
    import gymnasium as gym

    import genome.envs  # noqa: F401  (registers genome/<id>)

    if env_id.startswith("ALE/"):
        try:
            import ale_py

            gym.register_envs(ale_py)
        except ImportError:
            raise ConfigError(f"{env_id} needs the Arcade Learning Environment: pip install 'genome[atari]'") from None
    if ":" in env_id:  # Gymnasium's module:EnvId: importing the module registers the id
        module, _, name = env_id.partition(":")
        try:
            __import__(module)
        except ImportError as exc:
            raise ConfigError(f"{env_id}: cannot import {module} ({exc})") from None
        if name not in gym.registry:
            raise ConfigError(f"{env_id}: importing {module} registers no Gymnasium id {name!r} and it names no genome.envs.NativeEnv")
        return Config(env=EnvConfig(id=env_id)), name.replace("/", "-").lower()
    if env_id not in gym.registry:
        raise ConfigError(f"unknown preset or environment {env_id!r}; `genome presets` lists presets, any Gymnasium id works too")
    return Config(env=EnvConfig(id=env_id)), env_id.replace("/", "-").lower()


# ---------------------------------------------------------------------- TOML
def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise ConfigError(f"cannot write {v!r} to TOML")


def to_toml(cfg: Config) -> str:
    """The fully resolved config as TOML (round-trips through :func:`from_dict`)."""
    data = to_dict(cfg)
    lines = []
    if "description" in data:
        lines.append(f"description = {_toml_value(data.pop('description'))}\n")
    for section, values in data.items():
        lines.append(f"[{section}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in values.items())
        lines.append("")
    return "\n".join(lines)


def help_table() -> list[tuple[str, str, str]]:
    """``(section.key, default, help)`` for every key, for ``genome train --help``."""
    rows = []
    for name, cls in SECTIONS.items():
        if name == "strategy":
            seen = set()
            for strategy, scls in STRATEGY_CONFIGS.items():
                default = scls()
                for f in fields(scls):
                    if f.name in ("name", "population") and f.name in seen:
                        continue
                    seen.add(f.name)
                    tag = "" if f.name in ("name", "population") else f"[{strategy}] "
                    rows.append((f"strategy.{f.name}", _toml_value(getattr(default, f.name)), tag + f.metadata.get("help", "")))
            continue
        default = cls()
        for f in fields(cls):
            rows.append((f"{name}.{f.name}", _toml_value(getattr(default, f.name)), f.metadata.get("help", "")))
    return rows
