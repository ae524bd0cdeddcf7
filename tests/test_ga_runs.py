"""The GA through the trainer: every family kind, validation frames, resume, workers."""

import genome
import numpy as np
import pytest

from genome.config import Config, EnvConfig, GAConfig, PolicyConfig, RunConfig
from genome.trainer import Trainer

GYM_CARTPOLE = EnvConfig(id="CartPole-v1", kwargs={"sutton_barto_reward": False})


def cfg(family="mlp", env=EnvConfig(id="CartPole-v1"), generations=4, **run):
    run = {"workers": 1, **run}
    return Config(env=env, policy=PolicyConfig(family=family, hidden=[] if family == "linear" else [8]),
                  strategy=GAConfig(population=12, truncation=3, elites=2, validation_episodes=3, sigma=0.1, flip_prob=0.02),
                  run=RunConfig(generations=generations, target="none", eval_episodes=5, center_episodes=2, **run))


@pytest.mark.parametrize("family", ["binary_mlp", "linear", "toeplitz"])
def test_ga_trains_every_genome_kind(family):
    r = genome.train(cfg(family))
    s = r.summary
    assert s["strategy"] == "ga" and s["generations"] == 4 and s["episodes"] == 4 * 12
    rows = r.history
    assert all("ga/elite_validation_mean" in h and h["ga/chain_length"] >= 1 for h in rows)
    # the elite only gets better or stays by its validation mean (deterministic CartPole)
    assert np.isfinite([h["ga/elite_validation_mean"] for h in rows]).all()


def test_ga_resume_is_byte_identical_and_checkpoints_hold_chains(tmp_path):
    c = cfg(generations=6, checkpoint_every=3)
    genome.train(c, run_dir=tmp_path / "whole")
    genome.train(c.replace(run=RunConfig(**{**c.run.__dict__, "generations": 3})), run_dir=tmp_path / "part")
    ckpt = np.load(next((tmp_path / "part" / "checkpoints").glob("gen-000003.npz")), allow_pickle=False)
    assert ckpt["strategy/parent_chains"].dtype == np.uint64 and ckpt["strategy/elite"].dtype == np.uint64
    # chains, not weights: nothing in the checkpoint grows with the network
    assert ckpt["trainer/best_genome"].size == 0
    t = Trainer(c, run_dir=tmp_path / "part")
    t.restore()
    t.run()
    assert (tmp_path / "part" / "policy.gbn").read_bytes() == (tmp_path / "whole" / "policy.gbn").read_bytes()


def test_ga_does_not_depend_on_workers_or_threads():
    gym = [genome.train(cfg(env=GYM_CARTPOLE, generations=3, workers=w)).policy.to_bytes() for w in (1, 2)]
    assert gym[0] == gym[1]
    native = [genome.train(cfg(generations=3, threads=t)).policy.to_bytes() for t in (1, 2)]
    assert native[0] == native[1]
