"""Your own environment at native speed: numba kernels of yours, fused with the policy.

Write the three kernels the built-in environments use (``genome/envs/cartpole.py`` is one),
describe the environment with :class:`NativeEnv`, and name it where a Gymnasium id would
go -- ``genome train path/to/file.py:Name`` or ``genome train package.module:Name`` (also
``env.id`` in a TOML file and ``genome.train``). genome checks it once, with a one-line
error naming the function or field at fault, and runs it inside the same compiled rollouts
as its own environments, for every family and strategy (docs/your-environment.md).

The protocol (``state`` a float64 array of ``state_size``, ``obs`` float32 of ``obs_size``)::

    @numba.njit
    def reset(state, u):               # u: n_uniforms numbers in [0, 1) (float64)
        ...                             # write the start state into state
    @numba.njit
    def step(state, action, value):    # action: int (discrete), value: float32 (continuous)
        ...                             # advance state in place
        return reward, terminated       # (float, bool)
    @numba.njit
    def observe(state, obs):           # write the observation into obs
        ...

Randomness comes only from ``u``: genome draws the uniforms of every reset from its
counter-based generator (run seed, purpose, generation, episode), so a run stays a function
of its config and seed. A stochastic environment keeps a seed in its state, set from one
of the reset's uniforms, and draws its step noise with :func:`genome.rng.random_uniform`
(``random_uniform(key, counter)``: a uniform in [0, 1) for a uint64 key and an int counter)
-- the same numbers wherever the episode runs.

A user environment compiles with each run's rollout (numba cannot cache a kernel that calls
code from a file it does not know): its first generation costs the compilation, a few
seconds (benchmarks/native_env.py measures it).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from genome.errors import ConfigError


@dataclass
class NativeEnv:
    """A user environment: its kernels and the spec genome needs (see the module docstring).

    Discrete actions: ``n_actions``; continuous (one dimension, passed to ``step`` as
    ``value``): ``action_low`` and ``action_high``. ``render(state) -> (H, W, 3) uint8`` is
    optional (``genome render``)."""

    id: str
    reset: Callable
    step: Callable
    observe: Callable
    obs_low: Any
    obs_high: Any
    state_size: int
    max_episode_steps: int
    n_uniforms: int = 0
    n_actions: int = 0
    action_low: Any = None
    action_high: Any = None
    reward_threshold: float | None = None
    render: Callable | None = None
    #: filled by :func:`resolve`: where the environment was loaded from
    source: str = field(default="", repr=False)


_RESOLVED: dict[str, Any] = {}


def _fail(env: str, what: str) -> ConfigError:
    return ConfigError(f"native environment {env}: {what}")


def load_object(reference: str):
    """The object ``Name`` of ``path/to/file.py:Name`` or ``package.module:Name``."""
    module_ref, _, name = reference.rpartition(":")
    if not module_ref or not name:
        raise ConfigError(f"{reference!r} is not FILE.py:Name or package.module:Name")
    if module_ref.endswith(".py"):
        path = Path(module_ref)
        if not path.is_file():
            raise ConfigError(f"{reference}: no such file {path}")
        # a name that is the same in every process: numba's cache refers to the module by it
        mod_name = "genome_user_env_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]
        module = sys.modules.get(mod_name)
        if module is None:
            spec = importlib.util.spec_from_file_location(mod_name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[mod_name] = module
            try:
                spec.loader.exec_module(module)
            except Exception as exc:  # noqa: BLE001 - the user's module: report, don't crash
                del sys.modules[mod_name]
                raise ConfigError(f"{reference}: importing {path} raised {type(exc).__name__}: {exc}") from None
    else:
        try:
            module = importlib.import_module(module_ref)
        except ImportError as exc:
            raise ConfigError(f"{reference}: cannot import {module_ref} ({exc}); is it on PYTHONPATH?") from None
    if not hasattr(module, name):
        raise ConfigError(f"{reference}: {module_ref} has no {name!r}")
    return getattr(module, name)


def resolve(reference: str):
    """The checked, registered :class:`~genome.envs.native.NativeEnvSpec` of a user
    environment, or None when ``reference`` names no :class:`NativeEnv` (a Gymnasium
    ``module:EnvId``, for example)."""
    if reference in _RESOLVED:
        return _RESOLVED[reference]
    if ":" not in reference or reference.startswith("genome/"):
        return None
    module_ref, _, name = reference.rpartition(":")
    if not module_ref.endswith(".py"):
        # package.module:Name -- or Gymnasium's module:EnvId, which names no attribute
        if not name.isidentifier() or importlib.util.find_spec(module_ref.split(".")[0]) is None:
            return None
        try:
            module = importlib.import_module(module_ref)
        except ImportError:
            return None
        if not isinstance(getattr(module, name, None), NativeEnv):
            return None
    obj = load_object(reference)
    if not isinstance(obj, NativeEnv):
        raise ConfigError(f"{reference}: {name} is a {type(obj).__name__}, not a genome.NativeEnv (docs/your-environment.md)")
    spec = check(obj, reference)
    _RESOLVED[reference] = spec
    from genome.envs.native import RENDERERS

    RENDERERS[reference] = obj.render
    _register_gym(spec)
    return spec


def _register_gym(spec) -> None:
    """``gymnasium.make("genome/<id>")`` for a loaded user environment, as for the built-in ones."""
    import gymnasium as gym

    from genome.envs.gym_api import env_class

    if spec.gym_id in gym.registry:
        return
    gym.register(id=spec.gym_id, entry_point=env_class(spec), max_episode_steps=spec.max_episode_steps,
                 reward_threshold=spec.reward_threshold)


def _jitted(env: str, name: str, fn, arity: int):
    import numba
    from numba.core.registry import CPUDispatcher

    if not callable(fn):
        raise _fail(env, f"{name} must be a function, got {type(fn).__name__}")
    py = fn.py_func if isinstance(fn, CPUDispatcher) else fn
    try:
        params = [p for p in inspect.signature(py).parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    if len(params) != arity:
        args = {"reset": "(state, u)", "step": "(state, action, value)", "observe": "(state, obs)"}[name]
        raise _fail(env, f"{name} must take {arity} arguments {args}, it takes {len(params)}")
    return (fn if isinstance(fn, CPUDispatcher) else numba.njit(fn)), py


def _vector(env: str, name: str, values, n: int | None = None) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise _fail(env, f"{name} must be a list of numbers, got {values!r}") from None
    if arr.size == 0 or (n is not None and arr.size != n):
        raise _fail(env, f"{name} must have {n} values, got {arr.size}")
    if np.any(np.isnan(arr)):
        raise _fail(env, f"{name} must not contain NaN")
    return arr.astype(np.float32)


def check(env: NativeEnv, reference: str):
    """Validate ``env`` (one-line :class:`ConfigError` naming the function or field), run a
    few episodes of it in plain Python on buffers of exactly the declared sizes, and register
    its kernels -- compiled inline into the rollouts with numpy's error model (a division by
    zero gives inf or nan, as in genome's own kernels); returns its
    :class:`~genome.envs.native.NativeEnvSpec`."""
    import numba

    from genome.envs.native import NativeEnvSpec, register_kernels

    name = env.id if isinstance(env.id, str) and env.id else reference
    if not isinstance(env.id, str) or not env.id or "/" in env.id:
        raise _fail(reference, f"id must be a name such as 'Catch-v0' (no '/'), got {env.id!r}")
    for key in ("state_size", "max_episode_steps"):
        v = getattr(env, key)
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise _fail(name, f"{key} must be an integer >= 1, got {v!r}")
    for key in ("n_uniforms", "n_actions"):
        v = getattr(env, key)
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise _fail(name, f"{key} must be an integer >= 0, got {v!r}")
    low = _vector(name, "obs_low", env.obs_low)
    high = _vector(name, "obs_high", env.obs_high, low.size)
    if np.any(low > high):
        raise _fail(name, "obs_low must not exceed obs_high")
    continuous = env.action_low is not None or env.action_high is not None
    if continuous == (env.n_actions > 0):
        raise _fail(name, "give either n_actions (discrete) or action_low and action_high (continuous), not both or neither")
    a_low = a_high = None
    if continuous:
        a_low = _vector(name, "action_low", env.action_low)
        a_high = _vector(name, "action_high", env.action_high, a_low.size)
        if a_low.size != 1:
            raise _fail(name, f"a continuous action has one dimension (step's value), got {a_low.size}")
        if not (np.all(np.isfinite(a_low)) and np.all(np.isfinite(a_high)) and np.all(a_low < a_high)):
            raise _fail(name, "action_low and action_high must be finite with action_low < action_high")
    if env.reward_threshold is not None and not (isinstance(env.reward_threshold, (int, float)) and math.isfinite(env.reward_threshold)):
        raise _fail(name, f"reward_threshold must be a number or None, got {env.reward_threshold!r}")
    reset, reset_py = _jitted(name, "reset", env.reset, 2)
    step, step_py = _jitted(name, "step", env.step, 3)
    observe, observe_py = _jitted(name, "observe", env.observe, 2)
    if env.render is not None and not callable(env.render):
        raise _fail(name, "render must be a function state -> RGB array, or None")
    _try_episodes(name, env, reset_py, step_py, observe_py, low.size, a_low, a_high)
    _compiled_types(name, reset, step, observe, low.size, env.state_size, env.n_uniforms)
    # the rollouts inline the kernels into their step loop, as they do genome's own
    inline = [numba.njit(inline="always", nogil=True, error_model="numpy")(py) for py in (reset_py, step_py, observe_py)]
    code = register_kernels(reference, _digest(reference), *inline)
    return NativeEnvSpec(name, code, low, high, int(env.n_actions), a_low, a_high, int(env.max_episode_steps),
                         None if env.reward_threshold is None else float(env.reward_threshold), int(env.n_uniforms),
                         buffers=(int(env.state_size), int(low.size), int(env.n_uniforms)), source=reference)


def _digest(reference: str) -> bytes:
    """Where a user environment's module lives and what it says: its kernel code follows
    both, so a kernel numba compiled and cached for one file or version is never taken for
    another (the cache refers to the module by a name made from its path)."""
    module_ref, _, name = reference.rpartition(":")
    path = Path(module_ref) if module_ref.endswith(".py") else Path(getattr(sys.modules.get(module_ref), "__file__", "") or "")
    try:
        return f"{path.resolve()}:{name}".encode() + path.read_bytes()
    except OSError:
        return reference.encode()


def _try_episodes(name, env, reset, step, observe, obs_size, a_low, a_high, episodes: int = 3, steps: int = 50) -> None:
    """Run the kernels as plain Python on exactly-sized buffers: an index past the declared
    state or observation size raises here, with the function's name."""
    rng = np.random.default_rng(0)
    for e in range(episodes):
        state = np.zeros(env.state_size)
        obs = np.zeros(obs_size, dtype=np.float32)
        u = rng.random(env.n_uniforms)
        _call(name, "reset", reset, state, u, sizes=f"state_size = {env.state_size}, n_uniforms = {env.n_uniforms}")
        _call(name, "observe", observe, state, obs, sizes=f"state_size = {env.state_size}, {obs_size} observation values")
        if not np.all(np.isfinite(obs)):
            raise _fail(name, f"observe returned non-finite values {obs.tolist()} after reset")
        for _ in range(steps):
            if env.n_actions:
                action, value = int(rng.integers(env.n_actions)), np.float32(0.0)
            else:
                action, value = 0, np.float32(rng.uniform(a_low[0], a_high[0]))
            out = _call(name, "step", step, state, action, value, sizes=f"state_size = {env.state_size}")
            if not (isinstance(out, tuple) and len(out) == 2):
                raise _fail(name, f"step must return (reward, terminated), got {out!r}")
            reward, terminated = out
            if not isinstance(reward, (int, float, np.floating, np.integer)) or isinstance(reward, bool):
                raise _fail(name, f"step must return a number as the reward, got {type(reward).__name__}")
            if not isinstance(terminated, (bool, np.bool_)):
                raise _fail(name, f"step must return a bool as terminated, got {type(terminated).__name__}")
            _call(name, "observe", observe, state, obs, sizes=f"{obs_size} observation values")
            if terminated:
                break


def _call(name, fn_name, fn, *args, sizes: str):
    try:
        return fn(*args)
    except IndexError as exc:
        raise _fail(name, f"{fn_name} indexed past its buffers ({exc}): declared {sizes}") from None
    except Exception as exc:  # noqa: BLE001 - the user's code: one line, its name
        raise _fail(name, f"{fn_name} raised {type(exc).__name__}: {exc}") from None


def _compiled_types(name, reset, step, observe, obs_size, state_size, n_uniforms) -> None:
    """Compile the kernels for the types the rollouts pass and check what they return."""
    from numba.core import types

    state = np.zeros(state_size)
    checks = (("reset", reset, (types.float64[::1], types.float64[::1])), ("observe", observe, (types.float64[::1], types.float32[::1])),
              ("step", step, (types.float64[::1], types.int64, types.float32)))
    for fn_name, fn, argtypes in checks:
        try:
            fn.compile(argtypes)
        except Exception as exc:  # noqa: BLE001
            first = str(exc).strip().splitlines()
            raise _fail(name, f"{fn_name} does not compile with numba for {argtypes}: {first[0] if first else type(exc).__name__}") from None
        ret = fn.overloads[argtypes].signature.return_type
        if fn_name != "step" and ret != types.none:
            raise _fail(name, f"{fn_name} must return nothing (it writes into its arrays), numba infers {ret}")
        if fn_name == "step" and not (isinstance(ret, types.BaseTuple) and len(ret) == 2 and isinstance(ret[0], (types.Float, types.Integer))
                                      and isinstance(ret[1], types.Boolean)):
            raise _fail(name, f"step must return (reward: float, terminated: bool), numba infers {ret}")


def native_spec(env_id: str):
    """The spec for ``CartPole-v1`` or ``genome/CartPole-v1``, or a user environment
    ``file.py:Name`` / ``package.module:Name`` (loaded and checked once); None when not native."""
    from genome.envs.native import builtin_spec

    spec = builtin_spec(env_id)
    if spec is None and ":" in env_id:
        spec = resolve(env_id)
    return spec


def bound(spec):
    """``spec`` with this process's kernel code: a user environment's spec may come from
    another process (a worker receives it pickled), and is bound here by its source."""
    from genome.envs.native import registered_source

    if not spec.source or registered_source(spec.kernel) == spec.source:
        return spec
    return resolve(spec.source).observing(spec.observe)
