"""Policies with memory: lstm, gru (real) and binary_rnn (bits) -- kernels against plain-numpy
references, the state's life cycle, files, resume, workers, and C export over whole episodes."""

import numpy as np
import pytest

import genome
from genome.build import build
from genome.config import BernoulliNESConfig, Config, EnvConfig, GAConfig, OpenAIESConfig, PolicyConfig, RunConfig
from genome.errors import ConfigError
from genome.nets import fileformat
from genome.nets.recurrent import RecurrentStructure, recurrent_step
from genome.problems import EpisodeRequest

from tests.test_export_and_render import CC, c_agrees_over_episodes, compile_policy
from tests.resume import assert_resume_is_byte_identical

POSITIONS = [0, 2]  # CartPole's cart position and pole angle: no velocities


def cfg(family, env=None, hidden=(6,), generations=3, strategy=None, **run):
    real = family in ("lstm", "gru")
    strategy = strategy or (OpenAIESConfig(population=10, sigma=0.1, lr=0.05) if real else BernoulliNESConfig(population=10))
    return Config(env=env or EnvConfig(id="CartPole-v1", observe=POSITIONS), policy=PolicyConfig(family=family, hidden=list(hidden), bias_bits=2),
                  strategy=strategy, run=RunConfig(generations=generations, target="none", eval_episodes=5, center_episodes=2, **{"workers": 1, **run}))


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def reference_cell(s: RecurrentStructure, params, x, state):
    """PyTorch's LSTMCell / GRUCell gates written with numpy."""
    params = params.astype(np.float64)
    q = 0
    if s.input_width:
        w = params[q : q + s.input_width * s.n_in].reshape(s.input_width, s.n_in)
        q += w.size
        x = np.tanh(w @ x + params[q : q + s.input_width])
        q += s.input_width
    rows, H = s.gates * s.hidden, s.hidden
    w_ih = params[q : q + rows * x.size].reshape(rows, x.size)
    q += w_ih.size
    w_hh = params[q : q + rows * H].reshape(rows, H)
    q += w_hh.size
    b_ih, b_hh = params[q : q + rows], params[q + rows : q + 2 * rows]
    q += 2 * rows
    h = state[:H]
    if s.cell == "lstm":
        g = w_ih @ x + b_ih + w_hh @ h + b_hh
        i, f, gg, o = sigmoid(g[:H]), sigmoid(g[H : 2 * H]), np.tanh(g[2 * H : 3 * H]), sigmoid(g[3 * H :])
        c = f * state[H:] + i * gg
        new = np.concatenate([o * np.tanh(c), c])
    else:
        gi, gh = w_ih @ x + b_ih, w_hh @ h + b_hh
        r, z = sigmoid(gi[:H] + gh[:H]), sigmoid(gi[H : 2 * H] + gh[H : 2 * H])
        n = np.tanh(gi[2 * H :] + r * gh[2 * H :])
        new = (1 - z) * n + z * h
    w_out = params[q : q + s.n_out * H].reshape(s.n_out, H)
    scores = w_out @ new[:H] + (params[q + w_out.size : q + w_out.size + s.n_out] if s.output_bias else 0.0)
    return scores, new


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("input_width,output_bias", [(0, False), (5, True)])
def test_recurrent_step_matches_pytorch_gates_in_numpy(cell, input_width, output_bias):
    s = RecurrentStructure(cell, 3, 4, 2, input_width, output_bias)
    rng = np.random.default_rng(1)
    params = rng.normal(size=s.n_params).astype(np.float32)
    state = np.zeros(s.state_size)
    ref_state = state.copy()
    for _ in range(20):  # the state carries through steps
        x = rng.normal(size=3)
        scores = np.empty(2)
        recurrent_step(params, s.dims(), x, state, np.empty(s.work_size()), scores)
        ref_scores, ref_state = reference_cell(s, params, x, ref_state)
        np.testing.assert_allclose(scores, ref_scores, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(state, ref_state, rtol=1e-12, atol=1e-12)


def reference_binary_rnn_scores(net, obs_seq):
    """The binary recurrence from the dense ±1 matrices: h = sign(W0 [x; h] + b0) (ties +1)."""
    weights, biases = net.to_dense()
    H = net.hidden
    h = -np.ones(H, dtype=np.int64)
    out = []
    for obs in obs_seq:
        x = net.encoder.encode_bits(obs).astype(np.int64) * 2 - 1
        a = np.concatenate([x, h])
        h = np.where(weights[0].astype(np.int64) @ a + biases[0] >= 0, 1, -1)
        a = h
        for w, b in zip(weights[1:-1], biases[1:-1]):
            a = np.where(w.astype(np.int64) @ a + b >= 0, 1, -1)
        out.append(weights[-1].astype(np.int64) @ a + biases[-1])
    return np.array(out)


@pytest.mark.parametrize("hidden", [(5,), (70, 9)])
def test_binary_rnn_is_bit_exact_against_the_numpy_recurrence(hidden):
    family = build(cfg("binary_rnn", hidden=hidden)).family
    assert family.layer_sizes[0] == family.encoder.n_bits + hidden[0]
    bits = (np.random.default_rng(2).random(family.n_params) < 0.5).astype(np.uint8)
    net = family.decode(bits)
    obs_seq = np.random.default_rng(3).normal(size=(30, 2)).astype(np.float32)
    state = np.zeros(net.state_size)
    got = np.array([net.scores(o, state) for o in obs_seq])
    np.testing.assert_array_equal(got, reference_binary_rnn_scores(net, obs_seq))


@pytest.mark.parametrize("family", ["lstm", "gru", "binary_rnn"])
def test_fused_native_rollouts_match_the_gymnasium_path_step_by_step(family):
    """The fused kernel (state per task) and the slot loop (state per slot) agree: each
    episode's return and length equal a Python loop over the network with its state."""
    setup = build(cfg(family))
    fam = setup.family
    members = setup.strategy.ask(setup.strategy.init(0))
    genomes = members.genomes(0, 4)
    request = EpisodeRequest(3, 1, 0, common_starts=False)
    fused = setup.problem.evaluate(genomes, 0, request)
    from genome.envs.native import MAX_OBS, MAX_STATE, MAX_UNIFORMS, env_observe, env_reset, env_step
    from genome import rng

    env = setup.native
    for m in range(4):
        net = fam.decode(genomes[m])
        for e in range(3):
            key = rng.make_key(setup.problem.seed, 1, 0, m * 3 + e)
            state, obs = np.zeros(MAX_STATE + 1), np.zeros(MAX_OBS, np.float32)
            env_reset(env.kernel, state, rng.uniforms(np.uint64(key), MAX_UNIFORMS))
            memory = np.zeros(net.state_size)
            total, t = 0.0, 0
            while True:
                env_observe(env.kernel, state, obs)
                action = net.act_obs(obs[POSITIONS], memory)
                reward, terminated = env_step(env.kernel, state, action, np.float32(0))
                total, t = total + reward, t + 1
                if terminated or t >= 500:
                    break
            assert fused.returns[m, e] == total and fused.frames[m, e] == t


@pytest.mark.parametrize("family", ["lstm", "gru", "binary_rnn"])
def test_train_save_load_evaluate_and_members_never_share_state(family, tmp_path):
    result = genome.train(cfg(family), run_dir=tmp_path / "run")
    policy = genome.load_policy(tmp_path / "run")
    assert policy.network == result.policy and policy.env_observe == tuple(POSITIONS)
    assert fileformat.family_of(result.policy.to_bytes(), "x") == family
    from genome.evaluate import evaluate_policy

    native = evaluate_policy(policy, "CartPole-v1", episodes=5, backend="native")
    gym = evaluate_policy(policy, "CartPole-v1", episodes=5, backend="gymnasium")
    assert native["episodes"] == gym["episodes"] == 5 and native["mean"] >= 8 and gym["mean"] >= 8
    # evaluating one member alone or beside others gives the same numbers (no shared state)
    setup = build(cfg(family))
    genomes = setup.strategy.ask(setup.strategy.init(0)).genomes(0, 6)
    request = EpisodeRequest(2, 1, 0, common_starts=False)
    together = setup.problem.evaluate(genomes, 0, request)
    alone = setup.problem.evaluate(genomes[3:4], 3, request)
    np.testing.assert_array_equal(together.returns[3], alone.returns[0])


@pytest.mark.parametrize("family,strategy", [("lstm", None), ("gru", GAConfig(population=10, truncation=3, elites=2, validation_episodes=2)),
                                             ("binary_rnn", None), ("binary_rnn", GAConfig(population=10, truncation=3, elites=2, validation_episodes=2))])
def test_resume_is_byte_identical(family, strategy, tmp_path):
    assert_resume_is_byte_identical(cfg(family, generations=6, strategy=strategy, checkpoint_every=2), tmp_path, first=3)


@pytest.mark.parametrize("family", ["lstm", "binary_rnn"])
def test_same_bits_for_any_thread_or_worker_count(family):
    native = [genome.train(cfg(family, threads=t)).policy.to_bytes() for t in (1, 2)]
    assert native[0] == native[1]
    env = EnvConfig(id="CartPole-v1", observe=POSITIONS, kwargs={"sutton_barto_reward": False})
    gym = [genome.train(cfg(family, env=env, generations=2, workers=w)).policy.to_bytes() for w in (1, 2)]
    assert gym[0] == gym[1]


@pytest.mark.skipif(CC is None, reason="no C compiler on this machine")
@pytest.mark.parametrize("family,env_id,head", [("lstm", "CartPole-v1", "auto"), ("gru", "Pendulum-v1", "clip"), ("binary_rnn", "CartPole-v1", "auto"),
                                                ("binary_rnn", "Pendulum-v1", "affine")])
def test_exported_c_keeps_its_state_and_agrees_over_whole_episodes(family, env_id, head, tmp_path):
    observe = POSITIONS if env_id == "CartPole-v1" else [0, 1]
    c = cfg(family, env=EnvConfig(id=env_id, observe=observe), hidden=(70,) if family == "binary_rnn" else (6,))
    c = c.replace(policy=PolicyConfig(**{**c.policy.__dict__, "action_head": head, "input_layer": 3 if family == "gru" else 0}))
    fam = build(c).family
    rng = np.random.default_rng(7)
    g = (rng.random(fam.n_params) < 0.5).astype(np.uint8) if fam.genome_kind == "bits" else rng.normal(size=fam.n_params).astype(np.float32)
    net = fam.decode(g)
    lib = compile_policy(net, tmp_path)
    assert c_agrees_over_episodes(net, lib, env_id, episodes=3, observe=tuple(observe)) >= 3 * 9


def test_configuration_errors_are_one_line():
    with pytest.raises(ConfigError, match="one recurrent cell"):
        build(cfg("lstm", hidden=(4, 4)))
    with pytest.raises(ConfigError, match="needs a recurrent layer"):
        build(cfg("binary_rnn", hidden=()))
    with pytest.raises(ConfigError, match="env.observe must list distinct"):
        cfg("lstm", env=EnvConfig(id="CartPole-v1", observe=[2, 0]))
        from genome.config import from_dict, to_dict

        from_dict(to_dict(cfg("lstm", env=EnvConfig(id="CartPole-v1", observe=[2, 0]))))
    with pytest.raises(ConfigError, match="increasing order, from 0 to 3"):
        build(cfg("lstm", env=EnvConfig(id="CartPole-v1", observe=[0, 7])))


def conv_lstm_cfg(generations=4, **run):
    import tests.problems.flaky_env  # noqa: F401  (Frames-v0: image observations)

    return Config(env=EnvConfig(id="tests.problems.flaky_env:Frames-v0"), policy=PolicyConfig(family="conv_lstm", hidden=[8], input_layer=16),
                  strategy=GAConfig(population=6, truncation=2, elites=1, validation_episodes=2),
                  run=RunConfig(generations=generations, target="none", eval_episodes=3, center_episodes=1, **{"workers": 1, **run}))


def test_conv_lstm_carries_its_state_through_the_slot_loop_as_the_policy_does():
    setup = build(conv_lstm_cfg())
    fam = setup.family
    genome_ = fam.initial_genome(0).astype(np.float32)
    genome_[-fam.cell.n_out * fam.cell.hidden:] = np.random.default_rng(0).normal(size=fam.cell.n_out * fam.cell.hidden)
    frames = np.random.default_rng(1).integers(0, 256, size=(6, 2, 36, 36)).astype(np.uint8)
    arrays = fam.decode_arrays(genome_[None])
    state = np.zeros((1, fam.state_size))
    batched = [fam.forward_indexed(arrays, np.zeros(1, np.int64), f[None], state)[0] for f in frames]
    policy = genome.Policy(fam.decode(genome_))
    acted = [policy.act(f) for f in frames]
    assert acted == [int(np.argmax(s)) for s in batched]
    assert np.any(state != 0)  # the state moved


def test_conv_lstm_trains_with_the_ga_round_trips_and_resumes_exactly(tmp_path):
    whole, _ = assert_resume_is_byte_identical(conv_lstm_cfg(generations=4, checkpoint_every=2), tmp_path, first=2)
    assert fileformat.read_network((tmp_path / "whole" / "policy.gbn").read_bytes(), "x") == whole.policy
