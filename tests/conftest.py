import os

from hypothesis import HealthCheck, settings

# the test process itself: tests/problems/flaky_env.py misbehaves only in other processes
os.environ["GENOME_TEST_PID"] = str(os.getpid())

# Numba kernels compile on first use; never let that count as a slow example.
settings.register_profile("genome", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", parent=settings.get_profile("genome"), max_examples=60)
settings.load_profile("ci" if os.environ.get("CI") else "genome")


# A cold test run is mostly numba compiling the fused rollouts (~1 min per native
# environment), and with pytest-xdist both workers would compile the same ones at once.
# The controller compiles them first, split over two processes, into numba's disk cache;
# the workers then load them. Each list is one process: (environment, hidden layers, head).
_WARM = [
    [("CartPole-v1", [64], {}), ("Pendulum-v1", [64], {"action_head": "bins", "action_bins": 2}), ("MountainCar-v0", [64], {})],
    [("Acrobot-v1", [64], {}), ("MountainCarContinuous-v0", [64], {"action_head": "bins", "action_bins": 2}),
     ("CartPole-v1", [65, 7], {}), ("CartPole-v1", "dense", {})],
]
_WARM_CODE = """
import sys, json
import numpy as np
from genome import rng
from genome.build import build
from genome.config import Config, EnvConfig, OpenAIESConfig, PolicyConfig
from genome.problems import EpisodeRequest
for env_id, hidden, head in json.loads(sys.argv[1]):
    if hidden == "dense":
        cfg = Config(env=EnvConfig(id=env_id), policy=PolicyConfig(family="mlp", hidden=[8]), strategy=OpenAIESConfig(population=2))
    else:
        cfg = Config(env=EnvConfig(id=env_id), policy=PolicyConfig(hidden=hidden, encoder_samples=200, **head))
    setup = build(cfg)
    members = setup.strategy.ask(setup.strategy.init(0))
    setup.problem.evaluate(members.genomes(0, 2), 0, EpisodeRequest(1, rng.START, 0))
"""


def pytest_configure(config):
    import json
    import subprocess
    import sys

    workers = getattr(config.option, "numprocesses", None)
    if os.environ.get("PYTEST_XDIST_WORKER") or not workers:
        return  # a worker, or no xdist: kernels compile on first use as usual
    procs = [subprocess.Popen([sys.executable, "-c", _WARM_CODE, json.dumps(group)]) for group in _WARM]
    for p in procs:
        p.wait()  # a failure here shows up again, with its traceback, in the tests themselves
