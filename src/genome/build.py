"""Assembly: a config becomes a run's parts -- environment, policy family, problem, strategy.

``build(cfg) -> Setup`` is a pure function of the config. It is the one place that knows
which family, problem and strategy a config names (the registries :data:`FAMILIES` and
:data:`genome.strategies.STRATEGIES`); below it, problems, executors and the trainer only
talk through the protocols described in docs/architecture.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from genome import rng
from genome.config import FAMILIES, Config, PolicyConfig
from genome.encoders import ENCODERS
from genome.encoders.auto import RunningStats, encoder_for_space, obs_dims, uses_running_stats
from genome.encoders.base import Encoder
from genome.envs import native_spec
from genome.envs.native import NativeEnvSpec
from genome.errors import ConfigError
from genome.nets.conv import ConvStructure
from genome.policies.binary_latent import BinaryLatent
from genome.policies.binary_planes import BinaryPlanes
from genome.policies.binary_mlp import BinaryMLP
from genome.policies.binary_rnn import BinaryRNN
from genome.policies.chromatic import ControlledFamily
from genome.policies.conv import ConvFamily
from genome.policies.conv_lstm import DEFAULT_FEATURES, ConvLSTMFamily
from genome.policies.dense import DenseFamily
from genome.policies.heads import ActionHead
from genome.policies.normalize import ObsNormalizer
from genome.policies.recurrent import RecurrentFamily
from genome.nets.recurrent import RecurrentStructure
from genome.problems.gym import GymProblem, GymSpec
from genome.problems.gym_env import episode_seed, make_env
from genome.problems.native import NativeProblem, random_observations
from genome.strategies import STRATEGIES, Strategy
from genome.strategies.controller import ControlledStrategy

#: real-valued family -> (layer kind, uses policy.hidden); every name of
#: :data:`genome.config.FAMILIES` is here or ``binary_mlp``
REAL_FAMILIES = {"linear": ("dense", False), "mlp": ("dense", True), "toeplitz": ("toeplitz", True), "circulant": ("circulant", True)}


@dataclass
class Setup:
    """Everything a run is built from; a pure function of the config."""

    config: Config
    env_id: str
    native: NativeEnvSpec | None  #: None for a Gymnasium environment
    strategy: Strategy
    problem: NativeProblem | GymProblem
    target: float | None
    #: running observation statistics (None when the family does not use them)
    stats: RunningStats | None = None
    #: the statistics move on every generation (else they were fixed at setup)
    running: bool = False

    @property
    def family(self):
        return self.problem.family


# ------------------------------------------------------------------ pieces
def build_head(cfg: Config, action_space, real: bool, n_in: int = 0) -> ActionHead:
    """The action head: ``argmax`` for discrete actions; for boxes ``policy.action_head``
    (``auto``: ``bins`` for binary networks, ``tanh`` with scale 1 for real ones). A binary
    network's ``tanh`` / ``affine`` scale defaults to ``sqrt`` of its output layer's inputs
    (the last hidden width, or ``n_in`` encoder bits without hidden layers)."""
    pc = cfg.policy
    mode = pc.action_head if pc.action_head != "auto" else ("tanh" if real else "bins")
    scale = pc.action_scale or (1.0 if real else None)
    n_hidden = pc.hidden[-1] if pc.hidden else n_in
    return ActionHead.for_space(action_space, mode, pc.action_bins, scale, n_hidden=n_hidden)


def native_spaces(env: NativeEnvSpec):
    import gymnasium as gym

    obs = gym.spaces.Box(env.obs_low, env.obs_high, dtype=np.float32)
    act = gym.spaces.Discrete(env.n_actions) if env.discrete else gym.spaces.Box(env.action_low, env.action_high, dtype=np.float32)
    return obs, act


def build_encoder(cfg: Config, env: NativeEnvSpec, observe: Callable[[int], np.ndarray]) -> Encoder:
    """The observation encoder of a native environment; edges for unbounded dimensions (or
    all of them, with ``policy.edges = "samples"``) come from quantiles of the random-policy
    observations ``observe(n)`` (zeros when :func:`build` is told ``observe=False``: the
    same encoder shape -- edge counts follow the config, not the values -- for compiling
    kernels ahead of a run, :mod:`genome.warmup`)."""
    pc = cfg.policy
    name = "thermometer" if pc.encoder == "auto" else pc.encoder
    if name not in ENCODERS or name in ("rawbits", "image"):
        raise ConfigError(f"policy.encoder must be auto, thermometer, onehot or sign for {env.env_id}, got {pc.encoder!r}")
    cls = ENCODERS[name]
    samples = observe(pc.encoder_samples)
    if pc.edges in ("samples", "running"):
        return cls.from_samples(samples, pc.bits_per_dim)
    return cls.from_space(native_spaces(env)[0], pc.bits_per_dim, samples=samples)


def real_family(cfg: Config, observation_space, action_space) -> DenseFamily:
    """A real-valued family for Box observations (flattened). For ``chromatic`` / ``masked``:
    the dense base network (``linear`` when ``policy.hidden`` is empty, else ``mlp``)."""
    import gymnasium as gym

    pc = cfg.policy
    if pc.family in ("chromatic", "masked"):
        pc = dataclasses.replace(pc, family="mlp" if pc.hidden else "linear")
    if not isinstance(observation_space, gym.spaces.Box):
        raise ConfigError(f"policy.family = {pc.family} needs Box observations, got {observation_space}; use policy.family = binary_mlp")
    kind, uses_hidden = REAL_FAMILIES[pc.family]
    hidden = list(pc.hidden) if uses_hidden else []
    if not uses_hidden and pc.hidden and pc.hidden != PolicyConfig().hidden and cfg.policy.family == "linear":
        raise ConfigError(f"policy.family = linear has no hidden layers, but policy.hidden = {pc.hidden}; use policy.family = mlp")
    head = build_head(cfg, action_space, real=True)
    return DenseFamily.create(pc.family, int(np.prod(observation_space.shape)), hidden, head, kind, pc.output_bias,
                              pc.obs_norm, pc.obs_std_floor, pc.obs_clip)


def conv_family(cfg: Config, observation_space, action_space) -> ConvFamily:
    """The Nature-DQN family for image observations ``(C, H, W)`` (pixels of ``uint8`` are
    scaled by 1/255); ``policy.hidden`` are the dense layers after the convolutions."""
    import gymnasium as gym

    shape = getattr(observation_space, "shape", None)
    if not isinstance(observation_space, gym.spaces.Box) or shape is None or len(shape) != 3:
        raise ConfigError(f"policy.family = conv needs image observations (channels, height, width), got {observation_space}; "
                          "for Atari set env.preprocess = atari (84x84 grayscale, 4 stacked frames)")
    scale = 1.0 / 255.0 if observation_space.dtype == np.uint8 else 1.0
    head = build_head(cfg, action_space, real=True)
    return ConvFamily(ConvStructure.nature_dqn(shape, cfg.policy.hidden, head.n_outputs, scale), head)


def controlled(cfg: Config, base):
    """Wrap the base family for ``chromatic``, ``masked`` and ``binary_chromatic``; other
    families pass through."""
    pc = cfg.policy
    if pc.family not in ("chromatic", "masked", "binary_chromatic"):
        return base
    if pc.family == "binary_chromatic":
        return ControlledFamily(pc.family, base, base.n_params, pc.partitions)
    s = base.structure
    choices = 2 if pc.family == "masked" else pc.partitions
    return ControlledFamily(pc.family, base, s.n_weight_params, choices, s.n_params - s.n_weight_params)


def build_strategy(cfg: Config, family) -> Strategy:
    sc = cfg.strategy
    cls = STRATEGIES[sc.name]
    if isinstance(family, ControlledFamily):
        if sc.name == "ga":
            raise ConfigError(f"policy.family = {family.name} trains with its controller and "
                              f"strategy.name = {'bernoulli_nes' if family.genome_kind == 'bits' else 'openai_es'}, not ga")
        inner = build_strategy(cfg, _SearchedPart(family))
        pc = cfg.policy
        return ControlledStrategy(inner, family.n_edges, family.n_choices, pc.controller, pc.controller_lr, pc.controller_entropy,
                                  pc.controller_decay, pc.controller_schedule, pc.controller_period, pc.controller_init)
    if family.genome_kind not in cls.genome_kinds:
        kinds = "bit" if family.genome_kind == "bits" else "real-valued"
        raise ConfigError(f"strategy {sc.name} cannot train policy.family = {cfg.policy.family} ({kinds} genomes); "
                          f"use strategy.name = {'bernoulli_nes' if family.genome_kind == 'bits' else 'openai_es'}")
    return cls.from_config(family, sc)


class _SearchedPart:
    """The searched part of a controlled family, as the inner strategy sees it."""

    def __init__(self, family: ControlledFamily):
        self.genome_kind, self.n_params, self.initial_genome = family.genome_kind, family.n_params, family.initial_genome
        self.name, self.layer_sizes = family.name, family.layer_sizes


# ----------------------------------------------------------------- families
@dataclass
class EnvView:
    """What a family builder sees of the environment: its spaces, whether it is native, and
    random-policy observations to fit encoders to (``samples(n)``)."""

    observation_space: object
    action_space: object
    native: NativeEnvSpec | None
    samples: Callable[[int], np.ndarray]


@dataclass
class Built:
    """A family and its observation statistics: ``stats`` (None when it has none) move with
    the members' observations when ``running``."""

    family: object
    stats: RunningStats | None = None
    running: bool = False


def binary_mlp(cfg: Config, env: EnvView) -> Built:
    """Encoder -> binary layers -> head. Native environments: thermometer edges from the
    space's bounds where finite, else from random-policy observations; Gymnasium Box
    observations: edges from running statistics (``policy.edges``)."""
    pc = cfg.policy
    stats, running = None, False
    if env.native is not None:
        if pc.dither:
            raise ConfigError(f"policy.dither runs on the Gymnasium path; {env.native.env_id} runs in genome's fused native "
                              "rollouts, which do not dither (set policy.dither = false)")
        encoder = build_encoder(cfg, env.native, env.samples)
    else:
        if uses_running_stats(env.observation_space):
            stats = RunningStats.empty(obs_dims(env.observation_space))
            stats.add_samples(env.samples(pc.encoder_samples))
            running = pc.edges in ("auto", "running")
        encoder = encoder_for_space(env.observation_space, pc, stats)
    head = build_head(cfg, env.action_space, real=False, n_in=encoder.n_bits)
    cls = BinaryRNN if pc.family == "binary_rnn" else BinaryMLP
    family = cls(encoder, pc.hidden, head, pc.bias_bits, pc.bits_per_dim if running else 0, pc.edge_spread)
    return Built(family, stats if running else None, running)


def binary_latent(cfg: Config, env: EnvView) -> Built:
    """The binary MLP searched through real latent weights (:mod:`genome.policies.binary_latent`)."""
    pc = cfg.policy
    if pc.relax > 0 and env.native is not None:
        raise ConfigError(f"policy.relax runs on the Gymnasium path; {env.native.env_id} runs in genome's fused native "
                          "rollouts, which run binary networks only (set policy.relax = 0)")
    built = binary_mlp(cfg, env)
    return replace(built, family=BinaryLatent(built.family, pc.latent, pc.relax, pc.relax_decay, pc.relax_min, pc.latent_order))


def binary_planes(cfg: Config, env: EnvView) -> Built:
    """A linear binary policy with bit-plane weights (:mod:`genome.policies.binary_planes`), on
    the Gymnasium path for every environment (:data:`GYMNASIUM_ONLY`): thermometer edges from running statistics, an affine head whose automatic scale
    ``2^B (K - 1) / edge_spread`` makes a latent the action per standard deviation."""
    import math

    pc = cfg.policy
    if pc.hidden:
        raise ConfigError(f"policy.family = binary_planes is linear: set policy.hidden = [], got {pc.hidden}")
    if not uses_running_stats(env.observation_space):
        raise ConfigError(f"policy.family = binary_planes reads float (Box) observations through thermometer bits; {cfg.env.id} has "
                          f"{env.observation_space} (use binary_mlp or binary_latent)")
    if pc.edges not in ("auto", "running"):
        raise ConfigError(f"policy.family = binary_planes places its thermometer edges from running statistics; set policy.edges = "
                          f"'running' (or 'auto'), got {pc.edges!r}")
    stats = RunningStats.empty(obs_dims(env.observation_space))
    stats.add_samples(env.samples(pc.encoder_samples))
    encoder = encoder_for_space(env.observation_space, pc, stats)
    # T_d's slope per standard deviation: K - 1 edges' steps of 2 over 2 a (even edges), or
    # 2 K phi(0) at the mean (normal-quantile edges)
    k = pc.bits_per_dim
    slope = max(k - 1, 1) / pc.edge_spread if pc.edge_spread > 0 else k * math.sqrt(2 / math.pi)
    scale = pc.action_scale or (2**pc.planes) * slope
    mode = "affine" if pc.action_head == "auto" else pc.action_head
    head = build_head(cfg.replace(policy=replace(pc, action_head=mode, action_scale=scale)), env.action_space, real=False, n_in=encoder.n_bits)
    return Built(BinaryPlanes(encoder, head, pc.planes, pc.bits_per_dim, pc.edge_spread, pc.dither, pc.output_bias), stats, True)


def dense(cfg: Config, env: EnvView) -> Built:
    """``linear``, ``mlp``, ``toeplitz``, ``circulant``: normalized observations, dense layers."""
    family = real_family(cfg, env.observation_space, env.action_space)
    if family.uses_obs_stats:
        return Built(family, RunningStats.empty(family.n_inputs), True)
    return Built(family)


def recurrent(cfg: Config, env: EnvView) -> Built:
    """``lstm``, ``gru``: normalized observations -> (input layer) -> the cell -> output layer."""
    import gymnasium as gym

    pc = cfg.policy
    space = env.observation_space
    if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
        raise ConfigError(f"policy.family = {pc.family} needs flat Box observations, got {space}; use policy.family = binary_rnn")
    if len(pc.hidden) != 1:
        raise ConfigError(f"policy.family = {pc.family} has one recurrent cell: policy.hidden = [units], got {pc.hidden}")
    if pc.input_layer < 0:
        raise ConfigError(f"policy.input_layer must be >= 0, got {pc.input_layer}")
    head = build_head(cfg, env.action_space, real=True)
    structure = RecurrentStructure(pc.family, int(space.shape[0]), pc.hidden[0], head.n_outputs, pc.input_layer, pc.output_bias)
    family = RecurrentFamily(structure, head, ObsNormalizer.identity(structure.n_in, pc.obs_clip), pc.obs_norm, pc.obs_std_floor)
    if family.uses_obs_stats:
        return Built(family, RunningStats.empty(family.n_inputs), True)
    return Built(family)


def conv_lstm(cfg: Config, env: EnvView) -> Built:
    """The Nature-DQN convolutions into an LSTM (:mod:`genome.policies.conv_lstm`)."""
    if env.native is not None:
        raise ConfigError(f"policy.family = conv_lstm needs image observations, and {cfg.env.id} has {env.native.obs_size} numbers; "
                          "use an Atari id with env.preprocess = atari")
    pc = cfg.policy
    if len(pc.hidden) != 1:
        raise ConfigError(f"policy.family = conv_lstm has one LSTM cell: policy.hidden = [units], got {pc.hidden}")
    base = conv_family(cfg.replace(policy=replace(pc, hidden=[])), env.observation_space, env.action_space)
    features = pc.input_layer or DEFAULT_FEATURES
    trunk = replace(base.structure, n_outputs=features)
    cell = RecurrentStructure("lstm", features, pc.hidden[0], base.head.n_outputs)
    return Built(ConvLSTMFamily(trunk, cell, base.head))


def conv(cfg: Config, env: EnvView) -> Built:
    if env.native is not None:
        raise ConfigError(f"policy.family = conv needs image observations, and {cfg.env.id} has {env.native.obs_size} numbers; "
                          "use an Atari id with env.preprocess = atari (e.g. the frostbite-ga preset)")
    return Built(conv_family(cfg, env.observation_space, env.action_space))


def controlled_family(base_builder: Callable[[Config, EnvView], Built]) -> Callable[[Config, EnvView], Built]:
    """``chromatic``, ``masked``, ``binary_chromatic``: the base family, colored or masked by
    a controller (:mod:`genome.policies.chromatic`)."""
    def build_controlled(cfg: Config, env: EnvView) -> Built:
        built = base_builder(cfg, env)
        return replace(built, family=controlled(cfg, built.family))
    return build_controlled


#: families without a fused native rollout: they run every environment through Gymnasium
GYMNASIUM_ONLY = ("binary_planes",)

#: ``policy.family`` -> its builder ``(config, environment) -> Built``; one line per family
#: (a test checks this table against :data:`genome.config.FAMILIES`)
FAMILY_BUILDERS: dict[str, Callable[[Config, EnvView], Built]] = {
    "binary_mlp": binary_mlp,
    "binary_latent": binary_latent,
    "binary_planes": binary_planes,
    "binary_chromatic": controlled_family(binary_mlp),
    "binary_rnn": binary_mlp,
    "linear": dense,
    "mlp": dense,
    "toeplitz": dense,
    "circulant": dense,
    "chromatic": controlled_family(dense),
    "masked": controlled_family(dense),
    "conv": conv,
    "lstm": recurrent,
    "gru": recurrent,
    "conv_lstm": conv_lstm,
}


# ------------------------------------------------------------------- build
def build(cfg: Config, observe: bool = True) -> Setup:
    """The run's parts. ``observe=False`` skips the random-policy observations a native
    binary family's encoder is fitted to (see :func:`build_encoder`)."""
    if cfg.policy.family not in FAMILY_BUILDERS:
        raise ConfigError(f"policy.family must be one of {', '.join(FAMILIES)}, got {cfg.policy.family!r}")
    env = native_spec(cfg.env.id)
    if env is None or cfg.env.kwargs or cfg.env.preprocess != "none" or cfg.env.backend == "envpool" or cfg.policy.family in GYMNASIUM_ONLY:
        return build_gym(cfg)
    env = env.observing(cfg.env.observe)

    def samples(n: int) -> np.ndarray:
        out = np.zeros((n, env.obs_size), dtype=np.float32)
        if observe:
            random_observations(env, cfg.run.seed, rng.ENCODER, n, out)
        return out

    built = FAMILY_BUILDERS[cfg.policy.family](cfg, EnvView(*native_spaces(env), env, samples))
    problem = NativeProblem(env, built.family, cfg.run.seed, cfg.env.max_episode_steps or None)
    return Setup(cfg, env.env_id, env, build_strategy(cfg, built.family), problem, cfg.target_value(env.reward_threshold),
                 built.stats, built.running)


def random_gym_observations(env, n: int, seed: int, max_episodes: int = 10_000) -> np.ndarray:
    """``n`` finite observations of random-action episodes (reset seeds from the counter RNG).
    An episode whose environment raises or goes non-finite is cut short, not fatal."""
    out, errors = [], []
    env.action_space.seed(seed)
    for episode in range(max_episodes):
        if len(out) >= n:
            break
        try:
            obs, _ = env.reset(seed=episode_seed(seed, rng.ENCODER, 0, episode))
            for _ in range(n):
                x = np.asarray(obs, np.float64).reshape(-1)
                if not np.all(np.isfinite(x)):
                    break
                out.append(x)
                obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
                if terminated or truncated or len(out) >= n:
                    break
        except Exception as exc:  # noqa: BLE001 - a misbehaving environment: keep what we have
            errors.append(f"{type(exc).__name__}: {exc}")
    if not out:
        raise ConfigError(f"could not observe {env.spec.id if env.spec else 'the environment'} with random actions ({errors[0] if errors else 'no observations'})")
    return np.array(out[:n])


def build_gym(cfg: Config) -> Setup:
    """Any Gymnasium id: the family follows the observation space, the head the action space."""
    import gymnasium as gym

    ec = cfg.env
    try:
        env = make_env(ec.id, ec.kwargs, ec.max_episode_steps or None, ec.preprocess, tuple(ec.observe))
    except ConfigError:
        raise
    except gym.error.DependencyNotInstalled as exc:
        raise ConfigError(f"{ec.id} needs an extra dependency ({exc}); e.g. pip install 'genome[box2d]', 'genome[mujoco]' or 'genome[atari]'") from None
    except Exception as exc:  # noqa: BLE001 - gymnasium.make can raise almost anything for bad ids/kwargs
        raise ConfigError(f"cannot make environment {ec.id!r} with env.kwargs {ec.kwargs}: {type(exc).__name__}: {exc}") from None
    try:
        view = EnvView(env.observation_space, env.action_space, None, lambda n: random_gym_observations(env, n, cfg.run.seed))
        built = FAMILY_BUILDERS[cfg.policy.family](cfg, view)
        threshold = env.spec.reward_threshold if env.spec is not None else None
    finally:
        env.close()
    if ec.backend == "envpool":  # fail now, with one line, if EnvPool lacks the id or a keyword
        from genome.problems.envpool import make_pool

        make_pool(ec.id, dict(ec.kwargs), [0], ec.max_episode_steps).close()
    spec = GymSpec(ec.id, dict(ec.kwargs), cfg.run.seed, ec.max_episode_steps, ec.step_limit, ec.num_envs, built.running, ec.preprocess, ec.backend,
                   tuple(ec.observe))
    problem = GymProblem(spec, built.family)
    return Setup(cfg, ec.id, None, build_strategy(cfg, built.family), problem, cfg.target_value(threshold), built.stats, built.running)
