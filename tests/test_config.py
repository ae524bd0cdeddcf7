import tomllib

import pytest

from genome import config
from genome.config import Config
from genome.errors import ConfigError

PRESETS = ["acrobot", "cartpole", "mountaincar", "mountaincar-continuous", "pendulum"]


def test_presets_are_listed_and_load():
    assert set(PRESETS) <= set(config.preset_names())
    for name in PRESETS:
        cfg = config.load_preset(name)
        assert cfg.description
        assert config.from_dict(tomllib.loads(config.to_toml(cfg))) == cfg  # resolved TOML round-trips


def test_overrides_parse_toml_values():
    assert config.parse_override("strategy.lr=0.05") == ("strategy", "lr", 0.05)
    assert config.parse_override("policy.hidden=[64, 64]") == ("policy", "hidden", [64, 64])
    assert config.parse_override("run.target=none") == ("run", "target", "none")
    assert config.parse_override("env.common_starts=false") == ("env", "common_starts", False)
    cfg = config.apply_overrides(Config(), {"strategy": {"lr": 2}, "policy": {"hidden": [8, 8]}})
    assert cfg.strategy.lr == 2.0 and isinstance(cfg.strategy.lr, float) and cfg.policy.hidden == [8, 8]


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"strategy": {"lr_typo": 1}}, "unknown config key strategy.lr_typo"),
        ({"nope": {"x": 1}}, "unknown config section"),
        ({"run": {"seed": "zero"}}, "run.seed must be an integer"),
        ({"run": {"seed": 1.5}}, "run.seed must be an integer"),
        ({"strategy": {"lr": "fast"}}, "strategy.lr must be a number"),
        ({"env": {"common_starts": 1}}, "env.common_starts must be true or false"),
        ({"run": {"target": "sometimes"}}, "run.target must be a number"),
        ({"run": {"generations": -1}}, "run.generations must be >= 0"),
        ({"env": {"episodes": 0}}, "env.episodes must be >= 1"),
        ({"policy": {"hidden": [64, 0]}}, "policy.hidden must be a list of positive integers"),
        ({"policy": {"edges": "magic"}}, "policy.edges"),
    ],
)
def test_bad_values_name_the_key(overrides, match):
    with pytest.raises(ConfigError, match=match):
        config.apply_overrides(Config(), overrides)


@pytest.mark.parametrize("text", ["strategy.lr", "lr=1", "a.b.c=1", ".x=1"])
def test_malformed_set(text):
    with pytest.raises(ConfigError, match="section.key=value"):
        config.parse_override(text)


def test_load_from_file_and_errors(tmp_path):
    p = tmp_path / "mine.toml"
    p.write_text('[env]\nid = "Acrobot-v1"\n[strategy]\npopulation = 32\n')
    cfg, label = config.load(str(p))
    assert cfg.env.id == "Acrobot-v1" and cfg.strategy.population == 32 and label == "mine"
    bad = tmp_path / "bad.toml"
    bad.write_text("[env\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(str(bad))
    with pytest.raises(ConfigError, match="does not exist"):
        config.load(str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="unknown preset or environment 'cartpol'"):
        config.load("cartpol")


def test_gym_id_without_preset():
    cfg, label = config.load("Acrobot-v1")
    assert cfg.env.id == "Acrobot-v1" and label == "acrobot-v1"


def test_target_value():
    assert Config().target_value(475.0) == 475.0
    assert config.apply_overrides(Config(), {"run": {"target": "none"}}).target_value(475.0) is None
    assert config.apply_overrides(Config(), {"run": {"target": 100}}).target_value(475.0) == 100.0


def test_each_strategy_owns_its_keys():
    from genome import config

    cfg = config.load_preset("cartpole")
    with pytest.raises(ConfigError, match="strategy.sigma belongs to openai_es and ga, not to bernoulli_nes"):
        config.apply_overrides(cfg, {"strategy": {"sigma": 0.1}})
    es = config.load_preset("cartpole-es")
    with pytest.raises(ConfigError, match="strategy.theta_max belongs to bernoulli_nes, not to openai_es"):
        config.apply_overrides(es, {"strategy": {"theta_max": 2.0}})
    with pytest.raises(ConfigError, match="strategy.name must be one of"):
        config.apply_overrides(es, {"strategy": {"name": "cma"}})
    # a family of the other genome kind brings its default strategy; the population carries over
    switched = config.apply_overrides(cfg, {"policy": {"family": "mlp"}})
    assert switched.strategy.name == "openai_es" and switched.strategy.population == 256 and switched.strategy.lr == 0.01
    assert config.from_dict({"policy": {"family": "toeplitz"}}).strategy.name == "openai_es"
    assert config.from_dict({}).strategy.name == "bernoulli_nes"
    # same key name, different meaning and default per strategy
    assert config.load_preset("cartpole").strategy.lr == 10.0 and config.from_dict({"strategy": {"name": "openai_es"}}).strategy.lr == 0.01
    text = config.to_toml(es)
    assert config.from_dict(__import__("tomllib").loads(text)) == es


@pytest.mark.parametrize("overrides,match", [
    ({"policy": {"family": "resnet"}}, "policy.family must be one of"),
    ({"strategy": {"population": 7}}, "must be even for openai_es"),
    ({"strategy": {"name": "ga", "truncation": 0}}, "strategy.truncation must be in"),
])
def test_family_and_population_checks(overrides, match):
    from genome import config

    with pytest.raises(ConfigError, match=match):
        config.apply_overrides(config.load_preset("cartpole-es"), overrides)


def test_python_api_takes_any_strategys_keys_by_name():
    import genome

    r = genome.train("cartpole-es", sigma=0.05, generations=1, target="none", eval_episodes=2, center_episodes=1)
    assert r.summary["strategy"] == "openai_es" and r.summary["generations"] == 1
    with pytest.raises(ConfigError, match="strategy.sigma belongs to openai_es and ga, not to bernoulli_nes"):
        genome.train("cartpole", sigma=0.05)


def test_every_preset_loads_and_round_trips():
    for name in config.preset_names():
        cfg = config.load_preset(name)
        assert cfg.description, name
        assert config.from_dict(tomllib.loads(config.to_toml(cfg))) == cfg, name


def test_the_frostbite_ga_presets_build_the_papers_configuration():
    from genome.build import build

    pixels = build(config.load_preset("frostbite-ga"))
    assert pixels.family.name == "conv" and pixels.family.n_params == 1_693_362
    assert (pixels.strategy.population, pixels.strategy.truncation, pixels.strategy.sigma, pixels.strategy.validation_episodes) == (1000, 20, 0.002, 30)
    ram = build(config.load_preset("frostbite-ram-ga"))
    assert ram.family.name == "binary_mlp" and ram.strategy.name == "ga" and ram.family.layer_sizes[0] == 1024
    # both on the paper's protocol: no sticky actions, no-op starts, the elite on 30 episodes
    for name in ("frostbite-ga", "frostbite-ram-ga"):
        env = config.load_preset(name).env
        assert env.kwargs["repeat_action_probability"] == 0.0 and env.preprocess in ("atari", "noop")
    assert ram.strategy.validation_episodes == 30


def test_an_alias_preset_is_its_target():
    assert config.preset_alias("hopper") == "hopper-binary" and config.preset_alias("hopper-binary") is None
    assert config.load_preset("hopper") == config.load_preset("hopper-binary")
    assert config.load_preset("halfcheetah") == config.load_preset("halfcheetah-binary")
    cfg, label = config.load("hopper")
    assert label == "hopper" and cfg.policy.family == "binary_planes"  # runs keep the name the user typed


@pytest.mark.parametrize("files", [
    {"a": {"alias": "b", "env": {"id": "Hopper-v5"}}, "b": {}},  # an alias holds nothing else
    {"a": {"alias": 3}},
    {"a": {"alias": "b"}, "b": {"alias": "c"}, "c": {}},  # one level only
])
def test_a_malformed_alias_preset_says_so(monkeypatch, files):
    monkeypatch.setattr(config, "_preset_data", lambda name: files[name])
    with pytest.raises(ConfigError, match="preset 'a': an alias file holds only alias"):
        config.load_preset("a")


def test_an_alias_to_a_missing_preset_names_it(monkeypatch):
    real = config._preset_data
    monkeypatch.setattr(config, "_preset_data", lambda name: {"alias": "nope"} if name == "a" else real(name))
    with pytest.raises(ConfigError, match="unknown preset 'nope'"):
        config.load_preset("a")
