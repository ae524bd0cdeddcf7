"""Run directories end to end: checkpoints and resume, SIGKILL / Ctrl-C recovery, TensorBoard."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from genome import checkpoint
from genome.runlog import Progress


def genome_cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "genome.cli", *args], capture_output=True, text=True, **kw)


def start(*args):
    return subprocess.Popen([sys.executable, "-m", "genome.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def train(out, name, *extra):
    proc = genome_cli("train", "cartpole", "--out", str(out), "--name", name, "--target", "none", "--quiet", *extra)
    assert proc.returncode == 0, proc.stderr
    return out / name


def test_stop_after_5_and_resume_to_10_is_byte_identical(tmp_path):
    whole = train(tmp_path, "whole", "--generations", "10")
    part = train(tmp_path, "part", "--generations", "5", "--set", "run.checkpoint_every=2")
    assert sorted(p.name for p in (part / "checkpoints").iterdir()) == ["gen-000002.npz", "gen-000004.npz", "gen-000005.npz"]
    proc = genome_cli("train", "--resume", str(part), "--generations", "10", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert (part / "policy.gbn").read_bytes() == (whole / "policy.gbn").read_bytes()
    a, b = (json.loads((d / "summary.json").read_text()) for d in (whole, part))
    assert a["frames"] == b["frames"] and a["generations"] == b["generations"] == 10
    assert b["resumed_from"] == "gen-000005.npz"
    assert "generations = 10" in (part / "config.toml").read_text()  # the new budget is stored


def wait_for_checkpoint(run: Path, generation: int, proc, timeout=60):
    """Until a checkpoint of ``generation`` or later exists (older ones get pruned)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        done = [int(p.stem.split("-")[1]) for p in (run / "checkpoints").glob("gen-*.npz")] if (run / "checkpoints").is_dir() else []
        if done and max(done) >= generation:
            return
        if proc.poll() is not None:
            pytest.fail(f"training ended early: {proc.stderr.read()}")
        time.sleep(0.02)
    pytest.fail("no checkpoint appeared")


def test_sigkill_then_resume_continues_from_the_last_good_checkpoint(tmp_path):
    run = tmp_path / "killed"
    args = ["train", "cartpole", "--out", str(tmp_path), "--name", "killed", "--target", "none", "--quiet",
            "--generations", "1000000", "--set", "run.checkpoint_every=1", "--set", "strategy.population=64"]
    proc = start(*args)
    try:
        wait_for_checkpoint(run, 3, proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    ckpts = sorted((run / "checkpoints").glob("gen-*.npz"))
    assert ckpts and not (run / "summary.json").exists()
    # a crash in the middle of a write: a damaged newest checkpoint and a stray temporary file
    newest = ckpts[-1]
    data = newest.read_bytes()
    newest.write_bytes(data[: len(data) // 2])
    (run / "checkpoints" / ".gen-999999.npz.x.tmp").write_bytes(b"partial")
    target = int(ckpts[-1].stem.split("-")[1]) + 3
    resume = genome_cli("train", "--resume", str(run), "--generations", str(target))
    assert resume.returncode == 0, resume.stderr
    assert "skipping damaged checkpoint" in resume.stdout + resume.stderr
    assert json.loads((run / "summary.json").read_text())["generations"] == target
    # ... and the result is still exactly the uninterrupted run's
    whole = train(tmp_path, "whole", "--generations", str(target), "--set", "strategy.population=64")
    assert (run / "policy.gbn").read_bytes() == (whole / "policy.gbn").read_bytes()


def test_ctrl_c_checkpoints_and_exits_130(tmp_path):
    run = tmp_path / "interrupted"
    proc = start("train", "cartpole", "--out", str(tmp_path), "--name", "interrupted", "--target", "none",
                 "--generations", "100000", "--quiet", "--set", "run.checkpoint_every=1", "--set", "strategy.population=64")
    # the Ctrl-C is meant to land during training, not during a cold cache's first-run
    # compilation (a minute or more): wait for the first generation's checkpoint
    deadline = time.time() + 600
    while not list((run / "checkpoints").glob("*.npz")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:  # never leave a training process behind
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted, checkpoint saved" in err and f"--resume {run}" in err
    assert "Traceback" not in err
    _, meta, _, _ = checkpoint.load_latest(run)
    assert meta["generation"] >= 1
    resumed = genome_cli("train", "--resume", str(run), "--generations", str(meta["generation"] + 2), "--quiet")
    assert resumed.returncode == 0, resumed.stderr


def test_resume_errors_are_one_line(tmp_path):
    for args, fragment in [
        (["train", "--resume", str(tmp_path / "nope")], "no such run directory"),
        (["train", "--resume", str(tmp_path), "--set", "strategy.lr=1"], "cannot be combined with set"),
        (["train", "cartpole", "--resume", str(tmp_path)], "cannot be combined with config"),
        (["train"], "give a preset"),
    ]:
        proc = genome_cli(*args)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and fragment in proc.stderr, (args, proc.stderr)
    run = train(tmp_path, "r", "--generations", "2")
    for p in (run / "checkpoints").iterdir():
        p.write_bytes(b"garbage")
    proc = genome_cli("train", "--resume", str(run), "--generations", "4")
    assert proc.returncode == 2 and "no checkpoint could be read" in proc.stderr and "Traceback" not in proc.stderr


def test_tensorboard_events_read_back_with_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = train(tmp_path, "tb", "--generations", "12", "--set", "run.histogram_every=5")
    acc = EventAccumulator(str(run), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    scalars = set(acc.Tags()["scalars"])
    expected = {"fitness/mean", "fitness/max", "fitness/min", "center/return", "center/rank", "search/entropy_bits_mean",
                "search/prob_spread", "search/lr", "perf/frames", "perf/frames_per_s"}
    assert expected <= scalars
    assert [e.step for e in acc.Scalars("fitness/mean")] == list(range(12))
    frames = [e.value for e in acc.Scalars("perf/frames")]
    assert frames == sorted(frames) and frames[0] > 0
    assert [h.step for h in acc.Histograms("search/logits")] == [0, 5, 10]


def test_progress_modes(capsys):
    row = {"generation": 0, "seconds": 0.1, "fitness/mean": 1.0, "fitness/max": 2.0, "fitness/min": 0.0, "center/return": 1.5,
           "center/rank": 0.5, "perf/frames": 1000, "perf/frames_per_s": 1e6}
    import io

    plain = io.StringIO()
    p = Progress("plain", every=1, stream=plain)
    p.update(row)
    p.close()
    assert "gen     0" in plain.getvalue() and "center" in plain.getvalue()
    live = io.StringIO()
    p = Progress("live", generations=10, stream=live)
    p.update(row)
    p.message("hello")
    p.close()
    assert "hello" in live.getvalue()
    quiet = io.StringIO()
    p = Progress("quiet", stream=quiet)
    p.update(row)
    p.message("x")
    assert quiet.getvalue() == ""
    assert Progress.auto_mode(True) == "quiet" and Progress.auto_mode(False, io.StringIO()) == "plain"


def test_checkpoint_round_trip_keeps_newest_three(tmp_path):
    for g in range(1, 6):
        checkpoint.save(tmp_path, g, {"theta": np.full(3, g, float)}, {"frames": np.array(g)}, {"env": "x"})
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["gen-000003.npz", "gen-000004.npz", "gen-000005.npz"]
    path, meta, strategy, trainer = checkpoint.load_latest(tmp_path)
    assert meta["generation"] == 5 and strategy["theta"].tolist() == [5, 5, 5] and int(trainer["frames"]) == 5
    assert os.access(path, os.R_OK)


def test_resume_accepts_a_target_and_refuses_what_defines_the_run(tmp_path):
    part = train(tmp_path, "part", "--generations", "2")
    proc = genome_cli("train", "--resume", str(part), "--generations", "4", "--target", "none", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((part / "summary.json").read_text())["generations"] == 4
    proc = genome_cli("train", "--resume", str(part), "--seed", "3")
    assert proc.returncode != 0 and "cannot be combined with seed" in proc.stderr and "--target" in proc.stderr


def test_openai_es_preset_resumes_byte_identical(tmp_path):
    def es(name, *extra):
        proc = genome_cli("train", "cartpole-es", "--out", str(tmp_path), "--name", name, "--target", "none", "--quiet", *extra)
        assert proc.returncode == 0, proc.stderr
        return tmp_path / name

    whole = es("whole", "--generations", "6")
    part = es("part", "--generations", "3")
    proc = genome_cli("train", "--resume", str(part), "--generations", "6", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert (part / "policy.gbn").read_bytes() == (whole / "policy.gbn").read_bytes()
