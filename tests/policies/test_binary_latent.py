"""The binary_latent family: real latent weights -> bits -> a binary network."""

import numpy as np
import pytest

import genome
from genome.build import build
from genome.config import BernoulliNESConfig, Config, EnvConfig, OpenAIESConfig, PolicyConfig, RunConfig
from genome.errors import ConfigError
from genome.policies.binary_latent import BinaryLatent, bitreversal_offsets, dither_offsets, latent_map
from tests.resume import assert_resume_is_byte_identical
from tests.test_export_and_render import CC, c_agrees_over_episodes, compile_policy


def cfg(latent="input", hidden=(), env="CartPole-v1", head="auto", generations=3, **run):
    return Config(env=EnvConfig(id=env), policy=PolicyConfig(family="binary_latent", hidden=list(hidden), latent=latent, bias_bits=4, action_head=head),
                  strategy=OpenAIESConfig(population=10, sigma=0.2, lr=0.1),
                  run=RunConfig(generations=generations, target="none", eval_episodes=5, center_episodes=2, **run))


def test_offsets_switch_on_a_share_of_the_bits_spread_over_every_prefix():
    k = 16
    d = dither_offsets(k)
    assert d[0] == 0 and np.all(np.abs(d) < 1) and np.unique(d).size == k
    for c in np.linspace(-1, 1, 41):
        on = (c + d > 0).astype(int)
        # about K (1 + c) / 2 bits on in all, and in every prefix of the thermometer's edges
        # its share: the staircase sum_k w_k x_k follows the slope c within a few steps
        prefix = np.cumsum(on)
        expected = np.arange(1, k + 1) * (1 + c) / 2
        assert np.max(np.abs(prefix - expected)) <= 2.0
    assert np.all(1.0 + d > 0) and not np.any(-1.0 + d > 0)  # c = +-1: all on / all off


def test_bitreversal_order_switches_every_other_edge_on_at_zero():
    """The van der Corput order: 8 bits switch on as 0, 4, 2, 6, 1, 5, 3, 7; at c = 0 the
    even-indexed ceil(k/2) bits are on, so on an odd number of thermometer edges the zero
    latent's response sum_k w_k x_k is +-1 for every observation (the golden order's is not)."""
    d8 = bitreversal_offsets(8)
    switch_on = np.argsort(-d8, kind="stable")
    assert switch_on.tolist() == [0, 4, 2, 6, 1, 5, 3, 7]
    for k in (7, 15, 16, 27):
        d = bitreversal_offsets(k)
        assert np.all(np.abs(d) <= 1) and np.unique(d).size == k
        assert np.flatnonzero(d > 0).tolist() == list(range(0, k, 2))
        for c in np.linspace(-1, 1, 41):  # about K (1 + c) / 2 bits on, spread over every prefix
            on = (c + d > 0).astype(int)
            assert abs(on.sum() - k * (1 + c) / 2) <= 1.0
            assert np.max(np.abs(np.cumsum(on) - np.arange(1, k + 1) * (1 + c) / 2)) <= 3.0
        assert np.all(1.0 + d > 0) and not np.any(-1.0 + d > 0)
    edges = np.linspace(-2, 2, 27)
    x = (np.linspace(-3, 3, 999)[:, None] > edges[None, :]) * 2.0 - 1.0  # every bucket of the thermometer
    assert set((x @ np.where(bitreversal_offsets(27) > 0, 1, -1)).tolist()) == {-1.0, 1.0}
    assert (x @ np.where(dither_offsets(27) > 0, 1, -1)).min() <= -3


def reference_bits(base, latents, groups, order="golden"):
    """The genome bits written out unit by unit, as docs describe the grouping."""
    sizes, enc = base.layout.sizes, base.encoder
    offsets = bitreversal_offsets if order == "bitreversal" else dither_offsets
    out, c = [], iter(latents)
    for layer in range(len(sizes) - 1):
        for _ in range(sizes[layer + 1]):
            if groups == "input" and layer == 0:
                for a, b in zip(enc.bit_offsets[:-1], enc.bit_offsets[1:]):
                    v = next(c)
                    out.extend(int(v + o > 0) for o in offsets(int(b - a)))
            else:
                out.extend(int(next(c) > 0) for _ in range(sizes[layer]))
            if base.bias_bits:
                if groups == "input":
                    v = next(c)
                    out.extend(int(v + o > 0) for o in offsets(base.bias_bits))
                else:
                    out.extend(int(next(c) > 0) for _ in range(base.bias_bits))
    assert next(c, None) is None
    return np.array(out, np.uint8)


@pytest.mark.parametrize("groups,order", [("input", "golden"), ("bit", "golden"), ("input", "bitreversal")])
@pytest.mark.parametrize("hidden", [(), (5,)])
def test_latents_decode_to_the_documented_bits_and_network(groups, order, hidden):
    from dataclasses import replace

    c = cfg(groups, hidden)
    family = build(c.replace(policy=replace(c.policy, latent_order=order))).family
    assert family.order == order
    assert isinstance(family, BinaryLatent) and family.genome_kind == "reals"
    base = family.base
    genomes = np.random.default_rng(0).normal(size=(3, family.n_params)).astype(np.float32)
    bits = family.bits(genomes)
    for m in range(3):
        np.testing.assert_array_equal(bits[m], reference_bits(base, genomes[m].astype(np.float64), groups, order))
        assert family.decode(genomes[m]) == base.decode(bits[m])
    w, t = family.decode_arrays(genomes)
    w_ref, t_ref = base.decode_arrays(bits)
    np.testing.assert_array_equal(w, w_ref)
    np.testing.assert_array_equal(t, t_ref)
    assert family.size_bits == base.n_params  # the stored policy's weight and threshold bits


def test_input_groups_search_one_number_per_unit_and_dimension():
    family = build(cfg("input")).family
    n_dims, n_out = 4, 2  # CartPole: 4 observations, 2 actions (argmax)
    assert family.n_params == n_out * (n_dims + 1)  # + one bias group per unit
    assert latent_map(family.base, "bit")[2] == family.base.n_params
    assert np.all(family.initial_genome(0) == 0)


def test_binary_latent_trains_with_openai_es_and_refuses_bernoulli_nes(tmp_path):
    result = genome.train(cfg(generations=5), run_dir=tmp_path / "run")
    assert result.summary["family"] == "binary_latent" and result.summary["strategy"] == "openai_es"
    policy = genome.load_policy(tmp_path / "run")
    assert policy.network == result.policy  # a binary network, saved as binary_mlp
    with pytest.raises(ConfigError, match="bernoulli_nes cannot train policy.family = binary_latent"):
        build(cfg().replace(strategy=BernoulliNESConfig()))


def test_switching_to_binary_latent_picks_openai_es():
    from genome.config import apply_overrides, load

    c, _ = load("cartpole")
    assert apply_overrides(c, {"policy": {"family": "binary_latent"}}).strategy.name == "openai_es"


def test_resume_is_byte_identical(tmp_path):
    assert_resume_is_byte_identical(cfg(generations=6, checkpoint_every=2), tmp_path, first=3)


def test_gymnasium_path_moves_the_edges_with_running_statistics():
    env = EnvConfig(id="CartPole-v1", kwargs={"sutton_barto_reward": False})
    setup = build(cfg(env="CartPole-v1").replace(env=env))
    assert setup.running and setup.family.uses_obs_stats
    stats = setup.stats
    stats.add_samples(np.random.default_rng(0).normal(size=(500, 4)) * 3 + 1)
    moved = setup.family.with_stats(stats)
    assert isinstance(moved, BinaryLatent) and moved.n_params == setup.family.n_params
    assert moved.encoder != setup.family.encoder and moved.base.encoder == moved.encoder
    genome_ = np.linspace(-1, 1, moved.n_params).astype(np.float32)
    np.testing.assert_array_equal(moved.bits(genome_[None]), setup.family.bits(genome_[None]))  # same bits, new edges


@pytest.mark.skipif(CC is None, reason="no C compiler on this machine")
@pytest.mark.parametrize("env_id,head", [("Pendulum-v1", "affine"), ("MountainCarContinuous-v0", "affine"), ("CartPole-v1", "auto")])
def test_exported_c_agrees_with_python_over_whole_episodes(env_id, head, tmp_path):
    fam = build(cfg(env=env_id, head=head, hidden=(8,))).family
    net = fam.decode(np.random.default_rng(5).normal(size=fam.n_params).astype(np.float32))
    lib = compile_policy(net, tmp_path)
    assert c_agrees_over_episodes(net, lib, env_id, episodes=3) >= 3 * (200 if env_id == "Pendulum-v1" else 9)


def test_dithered_run_resumes_byte_identically_and_saves_its_encoder(tmp_path):
    """policy.dither on the Gymnasium path: the dithered edges move with the statistics, the
    run resumes to the same bits, and the policy file keeps the dithered encoder."""
    from dataclasses import replace

    from genome import DitheredThermometerEncoder

    base = cfg(generations=6, checkpoint_every=2)
    c = base.replace(env=EnvConfig(id="CartPole-v1", kwargs={"sutton_barto_reward": False}), policy=replace(base.policy, dither=True))
    assert_resume_is_byte_identical(c, tmp_path, first=3)
    policy = genome.load_policy(tmp_path / "whole")
    assert isinstance(policy.network.encoder, DitheredThermometerEncoder)
    setup = build(c)
    assert isinstance(setup.family.with_stats(setup.stats).encoder, DitheredThermometerEncoder)


@pytest.mark.skipif(CC is None, reason="no C compiler on this machine")
def test_dithered_policy_exported_to_c_agrees_over_whole_episodes(tmp_path):
    from genome import DitheredThermometerEncoder

    fam = build(cfg(env="Pendulum-v1", head="affine", hidden=(8,))).family
    enc = fam.encoder
    dithered = DitheredThermometerEncoder([e * 1.0 for e in enc.edges])
    net = fam.decode(np.random.default_rng(5).normal(size=fam.n_params).astype(np.float32))
    net = type(net).from_dense(*net.to_dense(), encoder=dithered, head=net.head)
    assert net.encoder is dithered
    lib = compile_policy(net, tmp_path)
    assert c_agrees_over_episodes(net, lib, "Pendulum-v1", episodes=3) >= 3 * 200


def relaxed_cfg(dither=False, relax=0.3, decay=0.9, floor=0.05, **kw):
    from dataclasses import replace

    base = cfg(**kw)
    env = EnvConfig(id="Pendulum-v1", kwargs={"g": 10.0}) if "env" not in kw else base.env
    return base.replace(env=env, policy=replace(base.policy, action_head="affine", dither=dither, relax=relax, relax_decay=decay, relax_min=floor))


@pytest.mark.parametrize("dither", [False, True])
def test_relaxed_network_is_the_documented_formula_and_tends_to_the_binary_one(dither):
    """s_j = sum_i clip((c + d_i)/w, -1, 1) xbar_i + sum_b clip((c + d_b)/w, -1, 1), checked
    against plain numpy; as w -> 0 it is the binary network's popcount scores, averaged over
    the dither's shifts."""
    from genome.encoders.kernels import DITHER_LEVELS
    from genome.policies.binary_latent import RelaxedArrays

    setup = build(relaxed_cfg(dither=dither))
    fam = setup.family.with_stats(setup.stats)
    rng_ = np.random.default_rng(3)
    genomes = rng_.normal(scale=0.5, size=(4, fam.n_params))
    obs = rng_.normal(size=(7, 3)).astype(np.float32) * 1.5
    members = rng_.integers(0, 4, size=7)
    # plain numpy: bit table, signs, averaged over the shifts
    enc = fam.encoder
    shifts = enc.shifts if dither else np.zeros((3, 1), np.float32)
    xbar = np.zeros((7, enc.n_bits))
    for m in range(shifts.shape[1]):
        cols = [np.asarray(obs[:, d] - shifts[d, m], np.float32)[:, None] > np.asarray(enc.edges[d])[None, :] for d in range(3)]
        xbar += np.concatenate(cols, axis=1) * 2.0 - 1.0
    xbar /= shifts.shape[1]
    assert shifts.shape[1] == (DITHER_LEVELS if dither else 1)
    n_in, bias = enc.n_bits, fam.base.bias_bits
    for width in (0.7, 0.05):
        w = np.clip((genomes[:, fam.group] + fam.offset) / width, -1, 1).reshape(4, 1, n_in + bias)
        expected = np.einsum("rk,rk->r", w[members, 0, :n_in], xbar)[:, None] + w[members, 0, n_in:].sum(axis=1)[:, None]
        arrays = fam.relaxed_arrays(genomes, width)
        assert isinstance(arrays, RelaxedArrays)
        np.testing.assert_allclose(fam.forward_indexed(arrays, members, obs), expected, rtol=1e-12, atol=1e-12)
    # w -> 0: the binary scores (averaged over the shifts when dithered)
    tiny = fam.forward_indexed(fam.relaxed_arrays(genomes, 1e-12), members, obs)
    binary = np.zeros((7, 1))
    arrays = fam.decode_arrays(genomes)
    for m in range(shifts.shape[1]):
        plain = fam.base.encoder if not dither else genome.ThermometerEncoder(enc.edges)
        base = type(fam.base)(plain, [], fam.head, bias)
        binary += base.forward_indexed(arrays, members, obs - shifts[:, m][None, :])
    np.testing.assert_allclose(tiny, binary / shifts.shape[1], atol=1e-9)


def test_relaxation_width_schedule_and_which_episodes_run_relaxed():
    from genome import rng
    from genome.policies.binary_latent import RelaxedArrays
    from genome.problems.base import EpisodeRequest, member_arrays

    fam = build(relaxed_cfg(relax=0.3, decay=0.9, floor=0.05)).family
    assert [fam.relax_width(g) for g in (0, 1, 5, 40)] == [0.3, 0.3 * 0.9, max(0.3 * 0.9**5, 0.05), 0.05]
    genomes = np.zeros((2, fam.n_params))
    assert isinstance(member_arrays(fam, genomes, EpisodeRequest(1, rng.START, 3)), RelaxedArrays)
    for purpose in (rng.CENTER, rng.EVAL, rng.REPORT):  # checks, tests and reports run the binary network
        assert isinstance(member_arrays(fam, genomes, EpisodeRequest(1, purpose, 3)), tuple)
        assert not isinstance(member_arrays(fam, genomes, EpisodeRequest(1, purpose, 3)), RelaxedArrays)
    assert build(relaxed_cfg(relax=0.0)).family.relax_width(0) == 0.0


def test_relaxed_run_resumes_byte_identically(tmp_path):
    """A relaxed run (width shrinking over the generations) resumes to the same bits; the
    policy file is the binary network."""
    c = relaxed_cfg(dither=True, generations=6, checkpoint_every=2)
    whole, _ = assert_resume_is_byte_identical(c, tmp_path, first=3)
    assert isinstance(genome.load_policy(tmp_path / "whole").network, genome.BinaryNetwork)


def test_relaxation_config_errors():
    from dataclasses import replace

    from genome.config import from_dict, to_dict

    base = relaxed_cfg()
    assert from_dict(to_dict(base)) == base
    for policy, match in [(replace(base.policy, relax=-1.0), "relax"), (replace(base.policy, relax_decay=0.0), "relax_decay"),
                          (replace(base.policy, hidden=[8]), "hidden = \\[\\]"), (replace(base.policy, family="binary_mlp"), "binary_latent")]:
        with pytest.raises(ConfigError, match=match):
            from_dict(to_dict(base.replace(policy=policy)))
    with pytest.raises(ConfigError, match="Gymnasium path"):  # the fused native rollouts run binary networks only
        build(relaxed_cfg(env="CartPole-v1"))
