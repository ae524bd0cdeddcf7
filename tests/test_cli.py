"""The command line, run as a user runs it (a subprocess per command)."""

import json
import subprocess
import sys

import pytest

from genome.cli import main


def genome_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "genome.cli", *args], capture_output=True, text=True, cwd=cwd)


def assert_one_line_error(proc, *fragments):
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for f in fragments:
        assert f in lines[0], lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    proc = genome_cli("train", "cartpole", "--out", str(out), "--name", "run", "--seed", "1", "--quiet")
    assert proc.returncode == 0, proc.stderr
    return out


def test_train_writes_the_run_directory(trained):
    run = trained / "run"
    assert {"config.toml", "policy.gbn", "summary.json"} <= {p.name for p in run.iterdir()}
    summary = json.loads((run / "summary.json").read_text())
    for key in ("solved", "generations", "frames", "wall_seconds", "eval_mean", "policy"):
        assert key in summary
    assert summary["solved"] is True and summary["policy"] == "policy.gbn"


def test_eval_json_and_text(trained):
    proc = genome_cli("eval", str(trained / "run"), "--episodes", "100", "--seed", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    stats = json.loads(proc.stdout)
    assert {"mean", "min", "median", "max", "std", "episodes"} <= set(stats)
    assert stats["episodes"] == 100 and stats["min"] <= stats["median"] <= stats["max"]
    assert stats["mean"] >= 475
    text = genome_cli("eval", str(trained / "run"), "--episodes", "5", "--backend", "gymnasium")
    assert text.returncode == 0 and "mean" in text.stdout and "median" in text.stdout


def test_existing_run_is_refused_and_overwrite_replaces_it(trained):
    before = (trained / "run" / "policy.gbn").read_bytes()
    proc = genome_cli("train", "cartpole", "--out", str(trained), "--name", "run", "--generations", "1")
    assert_one_line_error(proc, "already exists", "--overwrite")
    assert (trained / "run" / "policy.gbn").read_bytes() == before  # nothing lost
    proc = genome_cli("train", "cartpole", "--out", str(trained), "--name", "again", "--generations", "1", "--target", "none", "--quiet", "--set", "run.eval_episodes=2")
    assert proc.returncode == 0, proc.stderr
    proc = genome_cli("train", "cartpole", "--out", str(trained), "--name", "again", "--generations", "2", "--target", "none", "--quiet", "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((trained / "again" / "summary.json").read_text())["generations"] == 2


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["train", "cartpol"], ["unknown preset or environment 'cartpol'"]),
        (["train", "cartpole", "--generations", "abc"], ["--generations", "invalid integer 'abc'"]),
        (["train", "cartpole", "--generations", "-3"], ["--generations", "must be >= 0"]),
        (["train", "cartpole", "--target", "high"], ["--target", "expected a number"]),
        (["train", "cartpole", "--set", "strategy.lr_typo=1"], ["unknown config key strategy.lr_typo"]),
        (["train", "cartpole", "--set", "strategy.lr=fast"], ["strategy.lr must be a number"]),
        (["train", "cartpole", "--bogus"], ["unrecognized arguments: --bogus"]),
        (["eval", "/nonexistent/run"], ["no such run directory or policy file"]),
        (["eval", "."], ["not a genome run directory"]),
        (["eval", "x", "--episodes", "0"], ["--episodes", "must be >= 1"]),
    ],
)
def test_user_errors_are_one_line(tmp_path, args, fragments):
    assert_one_line_error(genome_cli(*args, cwd=tmp_path), *fragments)


def test_corrupt_policy_file(tmp_path, trained):
    bad = tmp_path / "run"
    bad.mkdir()
    data = bytearray((trained / "run" / "policy.gbn").read_bytes())
    data[40] ^= 0xFF
    (bad / "policy.gbn").write_bytes(bytes(data))
    (bad / "config.toml").write_text((trained / "run" / "config.toml").read_text())
    assert_one_line_error(genome_cli("eval", str(bad)), "checksum mismatch")
    (bad / "policy.gbn").write_bytes(b"")
    assert_one_line_error(genome_cli("eval", str(bad)), "empty")


def test_presets_and_help(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    for name in ["cartpole", "acrobot", "mountaincar", "mountaincar-continuous", "pendulum"]:
        assert name in out
    lines = {line.split()[0]: line.split()[1:3] for line in out.splitlines()}
    assert lines["cartpole"] == ["binary_mlp", "bernoulli_nes"] and lines["lunarlander-es"] == ["linear", "openai_es"]
    assert lines["cartpole-es"] == ["linear", "openai_es"] and lines["pendulum-es"] == ["mlp", "openai_es"]
    proc = genome_cli("train", "--help")
    assert proc.returncode == 0 and "--set" in proc.stdout and "strategy.lr" in proc.stdout
    assert "strategy.sigma" in proc.stdout and "[openai_es]" in proc.stdout and "policy.family" in proc.stdout


def test_a_failed_setup_leaves_no_run_directory_behind(tmp_path):
    proc = genome_cli("train", "LunarLander-v3", "--out", str(tmp_path), "--name", "bad", "--env-kwargs", '{"no_such_kwarg": 1}')
    assert_one_line_error(proc, "cannot make environment")
    assert not (tmp_path / "bad").exists()  # so the same --name works on the next try
    assert_one_line_error(genome_cli("train", "cartpole", "--env-kwargs", "[1, 2]", "--out", str(tmp_path)), "--env-kwargs must be a JSON object")
