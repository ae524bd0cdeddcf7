"""The conv (Nature-DQN) family: forward pass against plain loops, files, Atari runs."""

import os
import subprocess
import sys

import genome
import numpy as np
import pytest

from genome.config import Config, EnvConfig, GAConfig, OpenAIESConfig, PolicyConfig, RunConfig
from genome.errors import ConfigError, ModelFormatError
from genome.nets.conv import ConvStructure
from genome.policies.conv import ConvFamily
from genome.policies.heads import ActionHead
from genome.policy import load_network


def reference_forward(s: ConvStructure, params: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """One observation ``(C, H, W)`` through the network with explicit loops (float64)."""
    x = frames.astype(np.float64).transpose(1, 2, 0) * s.input_scale  # (H, W, C)
    layers = s.views(params.astype(np.float64))
    for (w, b), (f, k, stride) in zip(layers, s.convs):
        h, wd, c = x.shape
        ho, wo = (h - k) // stride + 1, (wd - k) // stride + 1
        y = np.zeros((ho, wo, f))
        for i in range(ho):
            for j in range(wo):
                for a in range(k):
                    for bb in range(k):
                        for ch in range(c):
                            y[i, j] += x[i * stride + a, j * stride + bb, ch] * w[(a * k + bb) * c + ch]
        x = np.maximum(y + b, 0)
    x = x.reshape(-1)
    dense = layers[len(s.convs):]
    for i, (w, b) in enumerate(dense):
        x = x @ w + b
        if i < len(dense) - 1:
            x = np.maximum(x, 0)
    return x


def test_rows_give_the_same_bits_whatever_blas_threads():
    code = ("import numpy as np; from genome.nets.conv import ConvStructure as S; s = S.nature_dqn((4, 84, 84), [512], 18, 1 / 255); "
            "r = np.random.default_rng(0); p = (r.standard_normal(s.n_params) * 0.05).astype(np.float32); "
            "x = r.integers(0, 256, (1, s.n_inputs)).astype(np.uint8); from genome.nets.conv import one_blas_thread; "
            "ctx = one_blas_thread(); ctx.__enter__(); print(s.forward(p, x).tobytes().hex())")
    outs = {subprocess.run([sys.executable, "-c", code], env={**os.environ, "OPENBLAS_NUM_THREADS": t, "OMP_NUM_THREADS": t},
                           capture_output=True, text=True, check=True).stdout for t in ("1", "2")}
    assert len(outs) == 1


def small_structure():
    # the Nature-DQN convolutions on 2 frames of 36x36: 8x8 -> 3x3 -> 1x1 maps
    return ConvStructure.nature_dqn((2, 36, 36), [8], 3, 1 / 255)


def test_forward_matches_plain_loops_on_every_row():
    s = small_structure()
    rng = np.random.default_rng(0)
    params = (rng.standard_normal(s.n_params) * 0.1).astype(np.float32)
    frames = rng.integers(0, 256, (3, 2, 36, 36)).astype(np.uint8)
    out = s.forward(params, frames.reshape(3, -1))
    assert out.shape == (3, 3)
    for r in range(3):
        np.testing.assert_allclose(out[r], reference_forward(s, params, frames[r]), rtol=1e-4, atol=1e-4)


def test_dense_layer_skips_zero_inputs_and_rows_do_not_depend_on_the_batch():
    from genome.nets.conv import dense

    rng = np.random.default_rng(3)
    x = np.maximum(rng.standard_normal((5, 40)), 0).astype(np.float32)  # ReLU outputs: about half 0
    x[2] = 0  # a row of zeros gives the biases (then ReLU)
    wt, b = rng.standard_normal((40, 7)).astype(np.float32), rng.standard_normal(7).astype(np.float32)
    for relu in (False, True):
        out = np.empty((5, 7), dtype=np.float32)
        dense(x, wt, b, relu, out)
        want = x.astype(np.float64) @ wt + b
        np.testing.assert_allclose(out, np.maximum(want, 0) if relu else want, rtol=1e-5, atol=1e-5)
        for r in range(5):
            one = np.empty((1, 7), dtype=np.float32)
            dense(x[r : r + 1], wt, b, relu, one)
            np.testing.assert_array_equal(one[0], out[r])


def test_nature_dqn_sizes_match_the_paper():
    s = ConvStructure.nature_dqn((4, 84, 84), [512], 18, 1 / 255)
    assert s.conv_shapes == ((20, 20, 32), (9, 9, 64), (7, 7, 64))
    assert s.n_params == 1_693_362  # Such et al. (2017) evolve these 1.7 M parameters on Frostbite


def test_forward_indexed_routes_rows_to_their_members():
    import gymnasium as gym

    s = small_structure()
    fam = ConvFamily(s, ActionHead.for_space(gym.spaces.Discrete(3), "tanh", 3, 1.0))
    genomes = np.stack([fam.initial_genome(seed) for seed in (1, 2)])
    arrays = fam.decode_arrays(genomes)
    obs = np.random.default_rng(3).integers(0, 256, (5, s.n_inputs)).astype(np.uint8)
    members = np.array([1, 0, 1, 1, 0])
    out = fam.forward_indexed(arrays, members, obs)
    for r, m in enumerate(members):
        np.testing.assert_array_equal(out[r], s.forward(arrays.params[m], obs[r : r + 1])[0])


def test_policy_file_round_trip_and_corruption(tmp_path):
    import gymnasium as gym

    s = small_structure()
    fam = ConvFamily(s, ActionHead.for_space(gym.spaces.Discrete(3), "tanh", 3, 1.0))
    net = fam.decode(fam.initial_genome(7))
    path = tmp_path / "p.gbn"
    net.save(path)
    back = load_network(path)
    assert back == net
    obs = np.random.default_rng(0).integers(0, 256, (2, 36, 36)).astype(np.uint8)
    assert back.act_obs(obs) == net.act_obs(obs)
    data = path.read_bytes()
    (tmp_path / "t.gbn").write_bytes(data[:-9])
    with pytest.raises(ModelFormatError, match="truncated"):
        load_network(tmp_path / "t.gbn")
    bad = bytearray(data)
    bad[40] ^= 0xFF
    (tmp_path / "c.gbn").write_bytes(bytes(bad))
    with pytest.raises(ModelFormatError, match="checksum"):
        load_network(tmp_path / "c.gbn")


def atari_cfg(**run):
    return Config(
        env=EnvConfig(id="ALE/Pong-v5", preprocess="atari", max_episode_steps=40, num_envs=2),
        policy=PolicyConfig(family="conv", hidden=[16]),
        strategy=GAConfig(population=3, truncation=2, elites=1, validation_episodes=1, sigma=0.002),
        run=RunConfig(**{"generations": 2, "target": "none", "eval_episodes": 1, "center_episodes": 1, "workers": 1, **run}),
    )


def test_ga_trains_a_conv_policy_on_atari_pixels(tmp_path):
    r = genome.train(atari_cfg(), run_dir=tmp_path / "run")
    s = r.summary
    assert s["family"] == "conv" and s["generations"] == 2
    assert s["n_params"] == ConvStructure.nature_dqn((4, 84, 84), [16], 6, 1 / 255).n_params
    # every step counts: 3 members x 40 steps, 2 validation episodes, the center's check
    assert s["frames"] >= 2 * 3 * 40
    # the saved policy acts on the frames of the preprocessed environment it names
    from genome.policy import load_policy
    from genome.problems.gym_env import make_env

    policy = load_policy(tmp_path / "run")
    assert policy.family == "conv" and policy.env_preprocess == "atari"
    env = make_env(policy.env_id, policy.env_kwargs, preprocess=policy.env_preprocess)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4, 84, 84) and policy.act(obs) in range(6)
    env.close()


def test_conv_needs_image_observations():
    with pytest.raises(ConfigError, match="image observations"):
        genome.train(Config(policy=PolicyConfig(family="conv"), run=RunConfig(generations=1)))
    with pytest.raises(ConfigError, match="env.preprocess"):
        genome.train(Config(env=EnvConfig(id="CartPole-v1", preprocess="crop")))


def test_large_genomes_are_evaluated_in_chunks_with_the_same_numbers(monkeypatch):
    from genome.build import build
    from genome.problems import base as problem_module
    from genome.problems import EpisodeRequest, evaluate_members

    setup = build(Config(env=EnvConfig(id="CartPole-v1", kwargs={"sutton_barto_reward": False}),
                         policy=PolicyConfig(family="mlp", hidden=[4]), strategy=OpenAIESConfig(population=10), run=RunConfig(seed=3)))
    members = setup.strategy.ask(setup.strategy.init(3))
    request = EpisodeRequest(2, 1, 0, False)
    whole = evaluate_members(setup.problem, members, 0, members.count, request)
    monkeypatch.setattr(problem_module, "CHUNK_BYTES", 3 * 4 * setup.family.n_params)  # 3 members a chunk
    chunked = evaluate_members(setup.problem, members, 0, members.count, request)
    np.testing.assert_array_equal(whole.returns, chunked.returns)
    np.testing.assert_array_equal(whole.frames, chunked.frames)


def test_export_c_refuses_conv_with_a_clear_error():
    import gymnasium as gym

    from genome.export_c import export_c

    fam = ConvFamily(small_structure(), ActionHead.for_space(gym.spaces.Discrete(3), "tanh", 3, 1.0))
    with pytest.raises(ConfigError, match="not conv"):
        export_c(fam.decode(fam.initial_genome(0)))
