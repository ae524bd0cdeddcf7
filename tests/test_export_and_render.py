"""C export compiled with the system compiler, and rendering to GIF / MP4."""

import ctypes
import shutil
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import genome
from genome import BinaryNetwork, DitheredThermometerEncoder, OneHotEncoder, RawBitsEncoder, SignEncoder, ThermometerEncoder
from genome.export_c import export_c
from genome.policies.heads import ActionHead
from genome.policy import Policy

CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")


def compile_policy(net, tmp_path, name="p"):
    src = tmp_path / f"{name}.c"
    src.write_text(export_c(net, "Test-v0"))
    lib = tmp_path / f"lib{name}.so"
    proc = subprocess.run([CC, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic", "-shared", "-fPIC", str(src), "-o", str(lib), "-lm"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return ctypes.CDLL(str(lib))


def observations(n_inputs, n=3000, seed=0, scale=2.0):
    obs = (np.random.default_rng(seed).normal(size=(n, n_inputs)) * scale).astype(np.float32)
    obs[::97, 0] = np.nan  # NaN sets no bit
    obs[::89, -1] = np.inf
    return obs


FLOATS = ctypes.POINTER(ctypes.c_float)
pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler on this machine")


def test_trained_cartpole_policy_same_actions(tmp_path):
    policy = Policy(genome.train("cartpole", seed=2).policy, "CartPole-v1")
    lib = compile_policy(policy.network, tmp_path)
    lib.genome_act.argtypes = [FLOATS]
    obs = observations(4, 5000, scale=1.0)
    c = [lib.genome_act(o.ctypes.data_as(FLOATS)) for o in obs]
    assert c == [policy.act(o) for o in obs]


@pytest.mark.parametrize(
    "encoder",
    [
        ThermometerEncoder.from_samples(np.random.default_rng(1).normal(size=(500, 5)), 30),
        DitheredThermometerEncoder.from_samples(np.random.default_rng(1).normal(size=(500, 5)), 30),
        OneHotEncoder.uniform([-2] * 3, [2] * 3, 40),
        SignEncoder(np.linspace(-1, 1, 70)),
    ],
)
def test_multiword_layers_and_every_bucket_encoder(tmp_path, encoder):
    net = BinaryNetwork.random([encoder.n_bits, 130, 65, 5], rng=3, bias_range=7, encoder=encoder)
    lib = compile_policy(net, tmp_path)
    lib.genome_act.argtypes = [FLOATS]
    scores = (ctypes.c_int32 * 5)()
    for o in observations(encoder.n_inputs):
        lib.genome_scores(o.ctypes.data_as(FLOATS), scores)
        assert list(scores) == net.forward(encoder.encode(o)).tolist()
        assert lib.genome_act(o.ctypes.data_as(FLOATS)) == net.act_obs(o)


def test_raw_bits_encoder(tmp_path):
    enc = RawBitsEncoder(16)
    net = BinaryNetwork.random([128, 64, 4], rng=4, encoder=enc)
    lib = compile_policy(net, tmp_path)
    lib.genome_act.argtypes = [FLOATS]
    obs = np.random.default_rng(5).integers(0, 256, size=(2000, 16)).astype(np.float32)
    assert [lib.genome_act(o.ctypes.data_as(FLOATS)) for o in obs] == [net.act_obs(o.astype(np.uint8)) for o in obs]


@pytest.mark.parametrize("mode", ["bins", "tanh", "clip", "affine"])
def test_continuous_heads(tmp_path, mode):
    space = gym.spaces.Box(np.array([-2.0, 0.0], np.float32), np.array([2.0, 1.0], np.float32))
    head = ActionHead.for_space(space, mode, bins=5, n_hidden=64)
    enc = ThermometerEncoder.uniform([-1] * 3, [1] * 3, 16)
    net = BinaryNetwork.random([48, 64, head.n_outputs], rng=6, bias_range=3, encoder=enc, head=head)
    lib = compile_policy(net, tmp_path)
    lib.genome_act_continuous.argtypes = [FLOATS, FLOATS]
    action = np.zeros(2, np.float32)
    for o in observations(3, 2000, scale=0.8):
        lib.genome_act_continuous(o.ctypes.data_as(FLOATS), action.ctypes.data_as(FLOATS))
        expected = net.act_obs(o)
        if mode == "tanh":  # the C library's tanh may differ from numba's in the last bit
            np.testing.assert_allclose(action, expected, rtol=0, atol=1e-6)
        else:  # integer scores through float32 / double steps written the same way: exact
            assert np.array_equal(action, expected)


def test_export_cli(tmp_path):
    run = tmp_path / "run"
    genome.train("cartpole", run_dir=run, generations=2, target="none", eval_episodes=2)
    out = tmp_path / "policy.c"
    proc = subprocess.run([sys.executable, "-m", "genome.cli", "export", str(run), "--format", "c", "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "int genome_act(const float *obs)" in out.read_text()
    bad = subprocess.run([sys.executable, "-m", "genome.cli", "export", str(run), "--out", str(out), "--prefix", "9x"], capture_output=True, text=True)
    assert bad.returncode == 2 and "C identifier" in bad.stderr


def test_render_gif_and_mp4(tmp_path):
    import imageio.v2 as imageio

    run = tmp_path / "run"
    genome.train("cartpole", run_dir=run, generations=3, target="none", eval_episodes=2)
    for name in ("ep.gif", "ep.mp4"):
        proc = subprocess.run([sys.executable, "-m", "genome.cli", "render", str(run), "--out", str(tmp_path / name), "--episodes", "2"], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        frames = imageio.mimread(tmp_path / name, memtest=False)
        assert len(frames) > 5 and frames[0].ndim == 3
    bad = subprocess.run([sys.executable, "-m", "genome.cli", "render", str(run), "--out", str(tmp_path / "x.avi")], capture_output=True, text=True)
    assert bad.returncode == 2 and ".gif or .mp4" in bad.stderr


def test_render_every_saves_videos_during_training(tmp_path):
    run = tmp_path / "run"
    genome.train("cartpole", run_dir=run, generations=4, target="none", eval_episodes=2, render_every=2)
    assert sorted(p.name for p in (run / "videos").iterdir()) == ["gen-000002.gif", "gen-000004.gif"]


def c_agrees_over_episodes(net, lib, env_id: str, episodes: int = 3, seed: int = 0, observe=()) -> int:
    """Run whole episodes of native environment ``env_id`` stepped by the compiled C policy's
    actions, asserting at every step that the Python policy picks the identical action (a
    policy with memory: both carry their state from the episode's start); returns the number
    of steps compared."""
    from genome import rng
    from genome.envs import native_spec
    from genome.envs.native import MAX_OBS, MAX_STATE, MAX_UNIFORMS, env_observe, env_reset, env_step

    spec = native_spec(env_id).observing(observe)
    policy = Policy(net, env_id, env_observe=observe)
    stateful = net.state_size > 0
    c_state = ctypes.create_string_buffer(8 * (2 * net.state_size + 8))  # room for any genome_state
    args = [ctypes.c_void_p] if stateful else []
    if spec.discrete:
        lib.genome_act.argtypes = args + [FLOATS]
    else:
        lib.genome_act_continuous.argtypes = args + [FLOATS, FLOATS]
    steps = 0
    for e in range(episodes):
        state, obs = np.zeros(MAX_STATE + 1), np.zeros(MAX_OBS, np.float32)
        env_reset(spec.kernel, state, rng.uniforms(np.uint64(rng.make_key(seed, rng.REPORT, 0, e)), MAX_UNIFORMS))
        policy.reset()
        if stateful:
            lib.genome_reset(c_state)
        pre = [c_state] if stateful else []
        for _ in range(spec.max_episode_steps):
            env_observe(spec.kernel, state, obs)
            o = np.ascontiguousarray(obs[list(observe)] if observe else obs[: spec.obs_size])
            if spec.discrete:
                a = lib.genome_act(*pre, o.ctypes.data_as(FLOATS))
                assert a == policy.act(o), f"episode {e}, step {steps}"
                value = np.float32(0)
            else:
                act = np.zeros(spec.action_dim, np.float32)
                lib.genome_act_continuous(*pre, o.ctypes.data_as(FLOATS), act.ctypes.data_as(FLOATS))
                assert np.array_equal(act, policy.act(o)), f"episode {e}, step {steps}"
                a, value = 0, act[0]
            steps += 1
            _, terminated = env_step(spec.kernel, state, a, value)
            if terminated:
                break
    return steps
