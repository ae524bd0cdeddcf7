"""ALE episode starts (genome.problems.ale_starts): no-op starts drawn from the reset seed
or enumerated (stratified), and plain resets of a deterministic emulator that reach the seeded reset's state."""

import numpy as np
import pytest

pytest.importorskip("ale_py")

from genome import rng  # noqa: E402
from genome.build import build  # noqa: E402
from genome.config import Config, EnvConfig, GAConfig, PolicyConfig, from_dict  # noqa: E402
from genome.errors import ConfigError  # noqa: E402
from genome.problems.ale_starts import NOOP_MAX, AleStarts, stratified_noops  # noqa: E402
from genome.problems.gym_env import make_env  # noqa: E402
from genome.problems import EpisodeRequest  # noqa: E402

DET = {"obs_type": "ram", "repeat_action_probability": 0.0}


def episode(env, seed, actions):
    obs, _ = env.reset(seed=seed)
    traj, total = [obs.copy()], 0.0
    for a in actions:
        obs, r, term, trunc, _ = env.step(int(a))
        traj.append(obs.copy())
        total += r
        if term or trunc:
            break
    return np.array(traj), total


def count_loads(env):
    calls = []
    base = env.unwrapped
    original = base.load_game
    base.load_game = lambda: (calls.append(1), original())[1]
    return calls


@pytest.mark.parametrize("game, preprocess", [("Pong", "none"), ("Pong", "noop"), ("Frostbite", "none"), ("Frostbite", "noop")])
def test_later_resets_of_a_deterministic_emulator_match_seeded_ones(game, preprocess):
    """Whatever an environment ran before, a reset reaches the seeded reset's state. (A plain
    ``reset_game`` does not: Frostbite's episodes after one depended on the earlier ones.)"""
    fresh = make_env(f"ALE/{game}-v5", DET, 0, preprocess)
    n = fresh.action_space.n
    actions = np.random.default_rng(0).integers(0, n, 2000)
    reference = episode(fresh, 11, actions)
    reused = make_env(f"ALE/{game}-v5", DET, 0, preprocess)
    loads = count_loads(reused)
    for seed in (5, 6):  # other episodes first, played out
        episode(reused, seed, np.random.default_rng(seed).integers(0, n, 3000))
    again = episode(reused, 11, actions)
    assert len(loads) == 1  # only the first reset reloaded the ROM
    np.testing.assert_array_equal(again[0], reference[0])
    assert again[1] == reference[1]


def test_sticky_actions_keep_every_reset_seeded():
    env = make_env("ALE/Pong-v5", {"obs_type": "ram"}, 50, "noop")
    loads = count_loads(env)
    a = episode(env, 3, np.zeros(60, int))
    episode(env, 4, np.zeros(60, int))
    b = episode(env, 3, np.zeros(60, int))
    assert len(loads) == 3
    np.testing.assert_array_equal(a[0], b[0])


def test_noop_starts_depend_on_the_seed_only():
    env = make_env("ALE/Pong-v5", DET, 10, "noop")
    starts = {}
    for seed in range(12):
        starts[seed] = env.reset(seed=seed)[0].copy()
    for seed in (3, 7):  # again, in another order: the same start
        np.testing.assert_array_equal(env.reset(seed=seed)[0], starts[seed])
    assert len({s.tobytes() for s in starts.values()}) > 3  # different no-op counts, different starts
    plain = make_env("ALE/Pong-v5", DET, 10, "none")
    assert all(not np.array_equal(plain.reset(seed=s)[0], starts[s]) for s in range(12))  # at least one no-op each


def test_noop_start_steps_match_stepping_noops_by_hand():
    seed = 9
    n = int(np.random.default_rng(seed).integers(1, 31))
    plain = make_env("ALE/Pong-v5", DET, 0, "none")
    obs, _ = plain.reset(seed=seed)
    for _ in range(n):
        obs = plain.step(0)[0]
    np.testing.assert_array_equal(make_env("ALE/Pong-v5", DET, 0, "noop").reset(seed=seed)[0], obs)


def test_preprocess_is_for_atari_only():
    with pytest.raises(ConfigError, match="Atari"):
        from_dict({"env": {"id": "CartPole-v1", "preprocess": "noop"}})
    with pytest.raises(ConfigError, match="Atari"):
        make_env("CartPole-v1", {}, preprocess="noop")


def test_a_given_noop_count_matches_stepping_noops_by_hand():
    plain = make_env("ALE/Pong-v5", DET, 0, "none")
    obs, _ = plain.reset(seed=4)
    for _ in range(7):
        obs = plain.step(0)[0]
    env = make_env("ALE/Pong-v5", DET, 0, "noop")
    np.testing.assert_array_equal(env.reset(seed=4, options={"noops": 7})[0], obs)
    np.testing.assert_array_equal(env.reset(seed=123, options={"noops": 7})[0], obs)  # the count, not the seed, decides
    with pytest.raises(ValueError, match="1..30"):
        env.reset(seed=4, options={"noops": 31})


@pytest.mark.parametrize("rotation", [0, 7, 29])
def test_stratified_noops_take_every_count_once_in_noop_max_episodes(rotation):
    for first in (0, 13):
        counts = [stratified_noops(first + e, rotation) for e in range(NOOP_MAX)]
        assert sorted(counts) == list(range(1, NOOP_MAX + 1))


def test_a_stratified_request_enumerates_the_starts(monkeypatch):
    """A GA validation request with stratified starts resets its 30 episodes with each no-op
    count once (whichever worker slice runs them); a plain request draws them from the seed."""
    cfg = Config(env=EnvConfig(id="ALE/Pong-v5", kwargs=DET, preprocess="noop", max_episode_steps=3),
                 policy=PolicyConfig(hidden=[4]), strategy=GAConfig(population=4, truncation=2, elites=1, stratified_validation=True))
    setup = build(cfg)
    seen = []
    original = AleStarts.reset

    def record(self, *, seed=None, options=None):
        seen.append((options or {}).get("noops"))
        return original(self, seed=seed, options=options)

    monkeypatch.setattr(AleStarts, "reset", record)
    genomes = np.stack([setup.family.initial_genome(0)])
    request = EpisodeRequest(NOOP_MAX, rng.VALIDATE, 5, stratified=True)
    whole = setup.problem.evaluate(genomes, 0, request)
    assert sorted(seen) == list(range(1, NOOP_MAX + 1))
    seen.clear()
    parts = [setup.problem.evaluate(genomes, 0, request.slice(a, b)) for a, b in ((0, 11), (11, NOOP_MAX))]
    assert sorted(seen) == list(range(1, NOOP_MAX + 1))
    np.testing.assert_array_equal(np.concatenate([p.returns for p in parts], axis=1), whole.returns)
    seen.clear()
    setup.problem.evaluate(genomes, 0, EpisodeRequest(4, rng.VALIDATE, 5))
    assert seen == [None] * 4


def test_stratified_validation_needs_ale_noop_starts():
    with pytest.raises(ConfigError, match="stratified_validation"):
        from_dict({"env": {"id": "ALE/Pong-v5", "kwargs": {"obs_type": "ram"}}, "strategy": {"name": "ga", "stratified_validation": True}})
    with pytest.raises(ConfigError, match="stratified_validation"):
        from_dict({"env": {"id": "CartPole-v1"}, "strategy": {"name": "ga", "stratified_validation": True}})
    cfg = from_dict({"env": {"id": "ALE/Pong-v5", "kwargs": DET, "preprocess": "noop"}, "strategy": {"name": "ga", "stratified_validation": True}})
    assert cfg.strategy.stratified_validation
