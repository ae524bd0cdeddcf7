"""The binary_planes family: a linear binary policy whose weights are stacks of ±1 bit-planes."""

from dataclasses import replace

import numpy as np
import pytest

import genome
from genome import DitheredThermometerEncoder, ModelFormatError, ThermometerEncoder
from genome.build import build
from genome.config import Config, EnvConfig, OpenAIESConfig, PolicyConfig, RunConfig, from_dict, to_dict
from genome.errors import ConfigError, ShapeError
from genome.nets.planes import PlaneNetwork, from_plane_bits, plane_bits, quantize
from genome.policies.heads import ActionHead
from tests.resume import assert_resume_is_byte_identical
from tests.test_export_and_render import CC, FLOATS, c_agrees_over_episodes, compile_policy, observations


def cfg(planes=4, dither=True, generations=3, **run):
    """Pendulum through Gymnasium (``kwargs`` keep it off the fused native rollouts)."""
    return Config(env=EnvConfig(id="Pendulum-v1", kwargs={"g": 10.0}),
                  policy=PolicyConfig(family="binary_planes", hidden=[], bits_per_dim=9, edge_spread=2.0, dither=dither, planes=planes,
                                      encoder_samples=2000),
                  strategy=OpenAIESConfig(population=8, sigma=0.1, lr=0.05, top_directions=2, normalize_step=True, orthogonal=True),
                  run=RunConfig(generations=generations, target="none", eval_episodes=3, center_episodes=2, **run))


def random_net(encoder, planes, n_out, head=None, seed=0, bias=True):
    top = (1 << planes) - 1
    q = 2 * np.random.default_rng(seed).integers(0, 1 << planes, size=(n_out, encoder.n_inputs + bias)) - top
    return PlaneNetwork(q, planes, encoder, head)


@pytest.mark.parametrize("planes", [1, 2, 3, 5, 8])
def test_plane_bits_are_the_digits_of_every_odd_weight(planes):
    top = (1 << planes) - 1
    q = np.arange(-top, top + 1, 2)
    bits = plane_bits(q, planes)
    assert bits.shape == (q.size, planes) and np.unique(bits, axis=0).shape[0] == q.size  # 2^B weights, 2^B codes
    signs = 2 * bits.astype(np.int64) - 1
    assert np.array_equal((signs * (1 << np.arange(planes))).sum(axis=1), q)  # q = sum_b 2^b beta_b
    assert np.array_equal(from_plane_bits(bits, planes), q)


def test_quantize_is_the_documented_odd_grid():
    planes = 4
    c = np.linspace(-1.2, 1.2, 2001)
    q = quantize(c, planes)
    assert np.all(q % 2 == 1) and q.min() == -15 and q.max() == 15
    inside = np.abs(c) < 1
    assert np.all(np.abs(q[inside] / 16 - c[inside]) <= 1 / 16 + 1e-12)  # q / 2^B within half a bin of c
    assert np.array_equal(q, np.clip(2 * np.floor(c * 8) + 1, -15, 15))
    assert np.all(np.diff(q) >= 0)  # monotone in c
    assert quantize(np.array([np.nan, np.inf, -np.inf]), planes).tolist() == [1, 15, -15]


@pytest.mark.parametrize("dither,bias", [(False, True), (True, True), (True, False)])
def test_scores_are_the_plane_sums_of_xnor_popcounts(dither, bias):
    """Reference: per plane b, per output j, per dimension d, +-T_d from the thermometer's
    comparisons by hand (the dither's shifted observation), times 2^b; bias reads K ones."""
    samples = np.random.default_rng(1).normal(size=(400, 5))
    enc = (DitheredThermometerEncoder if dither else ThermometerEncoder).from_samples(samples, 7)
    net = random_net(enc, 6, 4, seed=2, bias=bias)
    assert net.bias == bias and net.size_bits == 4 * (5 + bias) * 6
    obs = observations(5, 300, scale=1.5)
    seen = enc.shifted(obs) if dither else obs.astype(np.float32)
    betas = 2 * net.plane_bits().astype(np.int64) - 1  # (outputs, dims + 1, planes)
    for o, x in zip(obs, seen):
        t = [sum(1 if (not np.isnan(v)) and v >= e else -1 for e in edges) for v, edges in zip(x, enc.edges)] + [7] * bias
        expected = [sum((1 << b) * betas[j, d, b] * t[d] for d in range(5 + bias) for b in range(6)) for j in range(4)]
        assert net.forward(enc.encode_bits(o)).tolist() == expected


def test_family_members_run_the_network_they_decode_to():
    setup = build(cfg(planes=5))
    fam = setup.family.with_stats(setup.stats)
    genomes = np.random.default_rng(3).normal(scale=0.4, size=(6, fam.n_params))
    arrays = fam.decode_arrays(genomes)
    obs = observations(3, 50, scale=1.0)
    obs = obs[np.all(np.isfinite(obs), axis=1)]
    members = np.arange(obs.shape[0]) % 6
    scores = fam.forward_indexed(arrays, members, obs)
    for r, m in enumerate(members):
        assert np.array_equal(scores[r], fam.decode(genomes[m]).forward(fam.encoder.encode_bits(obs[r])))
    assert fam.n_params == 1 * 3 and fam.size_bits == 3 * 5  # 1 output x 3 dims x 5 planes (no bias: ARS's linear policy)
    assert np.array_equal(fam.decode(np.zeros(fam.n_params)).weights, np.ones((1, 3)))  # zero latents: q = 1
    biased = build(cfg(planes=5).replace(policy=replace(cfg().policy, planes=5, output_bias=True))).family
    assert biased.n_params == 4 and biased.decode(np.zeros(4)).bias


def test_automatic_scale_makes_a_latent_the_action_per_standard_deviation():
    """Edges evenly on mean +- a std (K of them, steps of 2 a / (K - 1)): T_d ~ (K - 1) z / a,
    so with scale 2^B (K - 1) / a the action is half * c * z within a step (Pendulum: half = 2)."""
    base = cfg(planes=8, dither=False)
    setup = build(base.replace(policy=replace(base.policy, bits_per_dim=33)))
    fam = setup.family.with_stats(setup.stats)
    assert fam.head.name == "affine" and fam.head.scale == 2**8 * 32 / 2.0
    mean, std = setup.stats.mean, setup.stats.std
    net = fam.decode(np.array([0.0, 0.5, 0.0]))  # weight 0.5 on the second dimension
    for z in (-1.9, -1.0, -0.3, 0.3, 1.0, 1.9):
        o = (mean + z * std * np.array([0, 1, 0])).astype(np.float32)
        assert abs(float(net.act_obs(o)[0]) - 2 * 0.5 * z) <= 2 * 0.5 * (4 / 32) + 0.01  # a step: 2 a / (K - 1) std


def test_policy_file_round_trips_and_rejects_corruption(tmp_path):
    space = __import__("gymnasium").spaces.Box(-2.0, 2.0, (2,), np.float32)
    head = ActionHead.for_space(space, "affine", scale=300.0)
    enc = DitheredThermometerEncoder.from_samples(np.random.default_rng(4).normal(size=(300, 3)), 11)
    net = random_net(enc, 7, 2, head, seed=5)
    path = tmp_path / "p.gbn"
    unbiased = random_net(enc, 7, 2, head, seed=5, bias=False)
    unbiased.save(tmp_path / "u.gbn")
    assert genome.load_policy(tmp_path / "u.gbn").network == unbiased
    net.save(path)
    back = genome.load_policy(path)
    assert back.network == net and back.family == "binary_planes"
    for o in observations(3, 200):
        assert np.array_equal(back.act(o), net.act_obs(o))
    data = path.read_bytes()
    assert len(data) < 40 + 4 * 33 + 2 * 4 * 7 // 8 + 60  # header, 33 edges, 8 weights x 7 bits, head
    bad = bytearray(data)
    bad[20] ^= 0x10
    with pytest.raises(ModelFormatError, match="checksum"):
        PlaneNetwork.from_bytes(bytes(bad))
    with pytest.raises(ModelFormatError, match="truncated"):
        PlaneNetwork.from_bytes(data[:-9])
    # a well-framed record with an impossible plane count
    from genome.nets import fileformat

    record = data[11:-4]  # after magic, version, length and the family tag
    with pytest.raises(ModelFormatError, match="planes"):
        fileformat.read_network(fileformat.frame(10, bytes([0]) + record[1:]), "x.gbn")


def test_network_rejects_bad_weights_and_encoders():
    enc = ThermometerEncoder.from_samples(np.random.default_rng(0).normal(size=(50, 2)), 5)
    with pytest.raises(ShapeError, match="odd integers"):
        PlaneNetwork(np.array([[2, 1, 1]]), 3, enc)
    with pytest.raises(ShapeError, match="odd integers"):
        PlaneNetwork(np.array([[9, 1, 1]]), 3, enc)
    with pytest.raises(ShapeError, match="shape"):
        PlaneNetwork(np.array([[1]]), 3, enc)
    with pytest.raises(ShapeError, match="shape"):
        PlaneNetwork(np.array([[1, 1, 1, 1]]), 3, enc)
    with pytest.raises(ShapeError, match="planes"):
        PlaneNetwork(np.array([[1, 1, 1]]), 0, enc)
    with pytest.raises(ShapeError, match="thermometer"):
        PlaneNetwork(np.array([[1, 1, 1]]), 3, genome.SignEncoder([0.0, 0.0]))


@pytest.mark.skipif(CC is None, reason="no C compiler on this machine")
@pytest.mark.parametrize("dither", [True, False])
def test_exported_c_agrees_with_python(tmp_path, dither):
    """Scores and actions on random observations (NaN and inf included), and whole Pendulum
    episodes stepped by the C policy's actions."""
    import ctypes

    setup = build(cfg(planes=8, dither=dither))
    fam = setup.family.with_stats(setup.stats)
    net = fam.decode(np.random.default_rng(6).normal(scale=0.5, size=fam.n_params))
    assert isinstance(net.encoder, DitheredThermometerEncoder) == dither
    lib = compile_policy(net, tmp_path)
    source = (tmp_path / "p.c").read_text()
    assert "genome_edge_lo" in source and "genome_edges[" not in source  # evenly spaced edges: two floats per dimension
    assert "genome_levels(obs, t)" in source and "uint64_t" not in source  # bit sums counted, no bit buffer
    scores = (ctypes.c_int32 * 1)()
    lib.genome_act_continuous.argtypes = [FLOATS, FLOATS]
    action = np.zeros(1, np.float32)
    for o in observations(3, 1500, scale=3.0):
        lib.genome_scores(o.ctypes.data_as(FLOATS), scores)
        assert list(scores) == net.forward(net.encoder.encode_bits(o)).tolist()
        lib.genome_act_continuous(o.ctypes.data_as(FLOATS), action.ctypes.data_as(FLOATS))
        assert np.array_equal(action, net.act_obs(o))
    assert c_agrees_over_episodes(net, lib, "Pendulum-v1", episodes=2) == 2 * 200


def test_run_resumes_byte_identically_and_saves_a_plane_network(tmp_path):
    c = cfg(generations=3, checkpoint_every=1)
    assert_resume_is_byte_identical(c, tmp_path, first=1)
    policy = genome.load_policy(tmp_path / "whole")
    assert isinstance(policy.network, PlaneNetwork) and isinstance(policy.network.encoder, DitheredThermometerEncoder)
    summary = __import__("json").loads((tmp_path / "whole" / "summary.json").read_text())
    assert summary["size_bits"] == 1 * 3 * 4


def test_native_ids_run_through_gymnasium():
    """No fused native rollout runs plane networks: Pendulum-v1 without kwargs is Gymnasium's."""
    base = cfg()
    setup = build(base.replace(env=EnvConfig(id="Pendulum-v1")))
    assert setup.native is None and setup.family.name == "binary_planes"


def test_config_errors():
    base = cfg()
    assert from_dict(to_dict(base)) == base
    with pytest.raises(ConfigError, match="planes"):
        from_dict(to_dict(base.replace(policy=replace(base.policy, planes=17))))
    with pytest.raises(ConfigError, match="hidden"):
        build(base.replace(policy=replace(base.policy, hidden=[8])))
    with pytest.raises(ConfigError, match="Box"):
        build(base.replace(env=EnvConfig(id="FrozenLake-v1", kwargs={"is_slippery": False}), policy=replace(base.policy, dither=False)))
    with pytest.raises(ConfigError, match="running"):
        build(base.replace(policy=replace(base.policy, edges="samples")))


def test_evaluation_runs_native_ids_through_gymnasium():
    from genome.evaluate import evaluate_policy
    from genome.policy import Policy

    enc = ThermometerEncoder.from_samples(np.random.default_rng(0).normal(size=(200, 4)), 5)
    policy = Policy(random_net(enc, 3, 2, ActionHead.for_space(__import__("gymnasium").spaces.Discrete(2)), seed=1), "CartPole-v1")
    stats = evaluate_policy(policy, "CartPole-v1", episodes=2)
    assert stats["episodes"] == 2 and stats["min"] >= 1
    with pytest.raises(ConfigError, match="--backend gymnasium"):
        evaluate_policy(policy, "CartPole-v1", episodes=2, backend="native")
