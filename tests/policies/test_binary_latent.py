"""The binary_latent family: real latent weights -> bits -> a binary network."""

import numpy as np
import pytest

import genome
from genome.build import build
from genome.config import BernoulliNESConfig, Config, EnvConfig, OpenAIESConfig, PolicyConfig, RunConfig
from genome.errors import ConfigError
from genome.policies.binary_latent import BinaryLatent, dither_offsets, latent_map
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


def reference_bits(base, latents, groups):
    """The genome bits written out unit by unit, as docs describe the grouping."""
    sizes, enc = base.layout.sizes, base.encoder
    out, c = [], iter(latents)
    for layer in range(len(sizes) - 1):
        for _ in range(sizes[layer + 1]):
            if groups == "input" and layer == 0:
                for a, b in zip(enc.bit_offsets[:-1], enc.bit_offsets[1:]):
                    v = next(c)
                    out.extend(int(v + o > 0) for o in dither_offsets(int(b - a)))
            else:
                out.extend(int(next(c) > 0) for _ in range(sizes[layer]))
            if base.bias_bits:
                if groups == "input":
                    v = next(c)
                    out.extend(int(v + o > 0) for o in dither_offsets(base.bias_bits))
                else:
                    out.extend(int(next(c) > 0) for _ in range(base.bias_bits))
    assert next(c, None) is None
    return np.array(out, np.uint8)


@pytest.mark.parametrize("groups", ["input", "bit"])
@pytest.mark.parametrize("hidden", [(), (5,)])
def test_latents_decode_to_the_documented_bits_and_network(groups, hidden):
    family = build(cfg(groups, hidden)).family
    assert isinstance(family, BinaryLatent) and family.genome_kind == "reals"
    base = family.base
    genomes = np.random.default_rng(0).normal(size=(3, family.n_params)).astype(np.float32)
    bits = family.bits(genomes)
    for m in range(3):
        np.testing.assert_array_equal(bits[m], reference_bits(base, genomes[m].astype(np.float64), groups))
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
