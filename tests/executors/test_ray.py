"""The Ray executor on a real local cluster: a head node and a worker node on 127.0.0.1.

Both nodes are ``ray start --block`` processes of this module (``ray_node.py`` keeps them on
the loopback address), each with one CPU, torn down at the end. The runs compare policy
files byte for byte against the local executors, and one run loses the worker node by
pid in the middle of a generation.
"""

from __future__ import annotations

import os

# the driver side of ray_node.py: resolve 127.0.0.1 to itself, not to a routable address
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
# a loopback-only test cluster: no authentication token to share between its nodes
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import ray

import genome
from genome.build import build
from genome.config import BernoulliNESConfig, Config, EnvConfig, OpenAIESConfig, PolicyConfig, RunConfig
from genome.errors import ConfigError
from genome.executors import make_executor, split_tasks
from genome.problems import EpisodeRequest
from genome.rng import START
from genome.trainer import Trainer

pytestmark = pytest.mark.xdist_group("ray")  # one cluster, one test process

NODE = Path(__file__).with_name("ray_node.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node(args: list[str], log: Path) -> subprocess.Popen:
    """A Ray node in its own process group (so that its raylet and workers die together)."""
    common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--object-store-memory=80000000", "--disable-usage-stats", "--block"]
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "1"}  # the driver's setting would refuse a second node
    with open(log, "w") as fh:
        return subprocess.Popen([sys.executable, str(NODE), "start", *args, *common], stdout=fh, stderr=subprocess.STDOUT, start_new_session=True, env=env)


def _kill(node: subprocess.Popen) -> None:
    try:
        os.killpg(node.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    node.wait(10)


def _alive_nodes(address: str) -> int:
    ray.init(address=address, logging_level="ERROR", log_to_driver=False)
    try:
        return sum(1 for n in ray.nodes() if n["Alive"])
    finally:
        ray.shutdown()


class Cluster:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="gray"))  # short: Ray's socket paths live under it
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.head = self.worker = None

    def start(self) -> None:
        self.head = _node(["--head", f"--port={self.port}", "--include-dashboard=false", f"--temp-dir={self.dir}"], self.dir / "head.log")
        self._wait_port()
        self.worker = _node([f"--address={self.address}"], self.dir / "worker.log")
        deadline = time.monotonic() + 60
        while _alive_nodes(self.address) < 2:
            if self.worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker node did not join:\n{(self.dir / 'worker.log').read_text()[-2000:]}")
            time.sleep(0.5)

    def _wait_port(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.head.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the head node did not start:\n{(self.dir / 'head.log').read_text()[-2000:]}") from None
                time.sleep(0.3)

    def kill_worker(self) -> None:
        _kill(self.worker)

    def close(self) -> None:
        if ray.is_initialized():
            ray.shutdown()
        for node in (self.worker, self.head):
            if node is not None:
                _kill(node)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster():
    c = Cluster()
    try:
        c.start()
        yield c
    finally:
        c.close()


def _policy_bytes(cfg: Config, run_dir: Path) -> bytes:
    genome.train(cfg, run_dir=run_dir)
    return (run_dir / "policy.gbn").read_bytes()


def _on_ray(cfg: Config, cluster: Cluster) -> Config:
    return replace(cfg, run=replace(cfg.run, executor="ray", ray_address=cluster.address))


NES_CARTPOLE = Config(
    env=EnvConfig(id="CartPole-v1"),
    policy=PolicyConfig(hidden=[64], encoder_samples=200),
    strategy=BernoulliNESConfig(population=16),
    run=RunConfig(generations=3, target="none", eval_episodes=4, center_episodes=2, checkpoint_every=0),
)
ES_LUNAR = Config(
    env=EnvConfig(id="LunarLander-v3", episodes=1, max_episode_steps=120),
    policy=PolicyConfig(family="linear"),
    strategy=OpenAIESConfig(population=8, sigma=0.1, lr=0.05),
    run=RunConfig(generations=3, target="none", eval_episodes=4, center_episodes=2, checkpoint_every=0, workers=2),
)


def test_bernoulli_nes_on_a_native_env_gives_the_same_policy_bytes_on_ray(cluster, tmp_path):
    local = _policy_bytes(NES_CARTPOLE, tmp_path / "local")
    on_ray = _policy_bytes(_on_ray(NES_CARTPOLE, cluster), tmp_path / "ray")
    assert on_ray == local


def test_openai_es_on_a_gymnasium_env_gives_the_same_policy_bytes_on_ray(cluster, tmp_path):
    local = _policy_bytes(ES_LUNAR, tmp_path / "local")
    on_ray = _policy_bytes(_on_ray(ES_LUNAR, cluster), tmp_path / "ray")
    assert on_ray == local


def test_the_executor_connects_by_address_and_uses_both_nodes(cluster):
    cfg = _on_ray(ES_LUNAR, cluster)
    setup = build(cfg)
    members = setup.strategy.ask(setup.strategy.init(0))
    request = EpisodeRequest(1, START, 0, True)
    with make_executor(cfg.run, native=False) as ex:
        assert ex.slots == 2  # one CPU on each node
        result = ex.evaluate(setup.problem, members, request)
        assert ex.puts == 1 and 0 < ex.put_bytes < 10_000  # the members' description, not their genomes
    assert not ray.is_initialized()  # the executor that connected also disconnects
    direct = setup.problem.evaluate(members.genomes(0, members.count), 0, request)
    np.testing.assert_array_equal(result.returns, direct.returns)
    np.testing.assert_array_equal(result.obs_sum, direct.obs_sum)


def test_a_hanging_task_times_out_and_fails_its_members_not_the_run(cluster):
    from tests.problems.test_gym import members_and_problem

    setup, members, request = members_and_problem("hang", population=4)
    healthy, healthy_members, _ = members_and_problem("none", population=4)
    run = replace(NES_CARTPOLE.run, executor="ray", ray_address=cluster.address, task_timeout=120.0)
    with make_executor(run, native=False) as ex:
        # warm both nodes' workers first (imports, kernels): the 2 s limit is for the episodes
        assert not ex.evaluate(healthy.problem, healthy_members, request).failures
        ex.timeout = 2.0
        result = ex.evaluate(setup.problem, members, request)
    assert result.failures and all("timed out after 2 s" in r for r in result.failures.values())
    assert len(result.failures) < members.count  # the other tasks finished


def test_the_ga_gives_the_same_policy_bytes_on_ray(cluster, tmp_path):
    from genome.config import GAConfig

    cfg = replace(NES_CARTPOLE, strategy=GAConfig(population=16, truncation=4, elites=2, validation_episodes=3))
    assert _policy_bytes(_on_ray(cfg, cluster), tmp_path / "ray") == _policy_bytes(cfg, tmp_path / "local")


def test_losing_the_worker_node_mid_run_changes_nothing(cluster, tmp_path, monkeypatch):
    from genome.executors import ray as ray_executor

    cfg = replace(ES_LUNAR, run=replace(ES_LUNAR.run, generations=5))
    undisturbed = _policy_bytes(cfg, tmp_path / "local")

    run_dir = tmp_path / "ray"
    run_dir.mkdir()
    trainer = Trainer(_on_ray(cfg, cluster), run_dir=run_dir)
    wait, calls = ray_executor.ray.wait, []

    def kill_while_tasks_run(refs, **kw):
        # the first wait of generation 2's members: its tasks were submitted to both nodes
        calls.append(len(refs))
        if trainer.state.generation == 2 and cluster.worker.poll() is None:
            cluster.kill_worker()
        return wait(refs, **kw)

    monkeypatch.setattr(ray_executor.ray, "wait", kill_while_tasks_run)
    trainer.run()
    trainer.close()
    assert cluster.worker.poll() is not None  # the node really died during the run
    assert trainer.failures == 0  # every task lost with it ran again
    assert (run_dir / "policy.gbn").read_bytes() == undisturbed


def test_split_tasks_cover_members_or_episode_slices():
    setup = build(ES_LUNAR)
    tasks, by_episode = split_tasks(setup.problem, 8, EpisodeRequest(1, START, 0), 4)
    assert not by_episode and [(a, b) for a, b, _ in tasks] == [(0, 2), (2, 4), (4, 6), (6, 8)]
    tasks, by_episode = split_tasks(setup.problem, 1, EpisodeRequest(10, START, 0), 4)
    assert by_episode and [(r.first_episode, r.episodes) for _, _, r in tasks] == [(0, 2), (2, 3), (5, 2), (7, 3)]
    native = build(NES_CARTPOLE)  # native kernels run a member's episodes together: never sliced
    tasks, by_episode = split_tasks(native.problem, 1, EpisodeRequest(10, START, 0), 4)
    assert not by_episode and len(tasks) == 1


def test_an_unreachable_address_is_a_one_line_error(tmp_path):
    address = f"127.0.0.1:{_free_port()}"
    cfg = replace(NES_CARTPOLE, run=replace(NES_CARTPOLE.run, executor="ray", ray_address=address))
    with pytest.raises(ConfigError, match=rf"cannot reach the Ray cluster at {address}"):
        Trainer(cfg)
    out = subprocess.run(
        [sys.executable, "-m", "genome.cli", "train", "cartpole", "--out", str(tmp_path), "--executor", "ray", "--ray-address", address],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the Ray cluster" in lines[0]
    assert not any(tmp_path.iterdir())  # no half-made run directory is left behind


def test_auto_without_a_cluster_says_how_to_start_one(tmp_path, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path))
    cfg = replace(NES_CARTPOLE, run=replace(NES_CARTPOLE.run, executor="ray", ray_address="auto"))
    with pytest.raises(ConfigError, match="no Ray cluster runs on this machine.*ray start --head"):
        Trainer(cfg)


def test_a_missing_ray_extra_is_a_one_line_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails as if not installed
    monkeypatch.delitem(sys.modules, "genome.executors.ray", raising=False)
    with pytest.raises(ConfigError, match=r"pip install 'genome\[ray\]'"):
        make_executor(replace(NES_CARTPOLE.run, executor="ray"), native=True)


@pytest.mark.parametrize("key, value, message", [
    ("executor", "threads", "run.executor must be one of local, processes, ray"),
    ("ray_address", "somewhere", "run.ray_address must be auto, local or HOST:PORT"),
    ("ray_address", "host:99999", "run.ray_address must be auto, local or HOST:PORT"),
    ("ray_cpus_per_task", 0, "run.ray_cpus_per_task must be >= 1"),
])
def test_bad_executor_settings_are_config_errors(key, value, message):
    from genome.config import apply_overrides

    with pytest.raises(ConfigError, match=message):
        apply_overrides(NES_CARTPOLE, {"run": {key: value}})


def test_the_processes_executor_runs_native_envs_with_the_same_numbers():
    cfg = replace(NES_CARTPOLE, run=replace(NES_CARTPOLE.run, executor="processes", workers=2))
    setup = build(cfg)
    members = setup.strategy.ask(setup.strategy.init(0))
    request = EpisodeRequest(2, START, 0, False)
    with make_executor(cfg.run, native=True) as ex:
        assert type(ex).__name__ == "ProcessExecutor"
        result = ex.evaluate(setup.problem, members, request)
    direct = setup.problem.evaluate(members.genomes(0, members.count), 0, request)
    np.testing.assert_array_equal(result.returns, direct.returns)
    np.testing.assert_array_equal(result.frames, direct.frames)


def test_a_policy_with_memory_and_a_user_environment_give_the_same_bytes_on_ray(cluster, tmp_path):
    lstm = Config(env=EnvConfig(id="CartPole-v1", observe=[0, 2]), policy=PolicyConfig(family="lstm", hidden=[4]),
                  strategy=OpenAIESConfig(population=8, sigma=0.1, lr=0.05),
                  run=RunConfig(generations=2, target="none", eval_episodes=4, center_episodes=2, checkpoint_every=0))
    assert _policy_bytes(_on_ray(lstm, cluster), tmp_path / "lstm-ray") == _policy_bytes(lstm, tmp_path / "lstm-local")
    # a user environment: every worker loads it from its (absolute) path
    lake = f"{Path(__file__).resolve().parents[2] / 'examples' / 'native_envs' / 'frozen_lake.py'}:FrozenLake"
    user = Config(env=EnvConfig(id=lake), policy=PolicyConfig(encoder="onehot", bits_per_dim=16, hidden=[]), strategy=BernoulliNESConfig(population=8),
                  run=RunConfig(generations=2, target="none", eval_episodes=4, center_episodes=2, checkpoint_every=0))
    assert _policy_bytes(_on_ray(user, cluster), tmp_path / "lake-ray") == _policy_bytes(user, tmp_path / "lake-local")
