"""Environment steps per second per core: genome's Gymnasium worker path against a bare
`env.step` loop on the same environment.

Run:  python benchmarks/gym_throughput.py [--envs HalfCheetah-v5 Hopper-v5 LunarLander-v3] [--steps 20000]

Both run in one process on one core (NUMBA_NUM_THREADS=1), interleaved `--repeats` times;
the medians are reported (this VM's speed drifts by 20% and more between minutes). The bare loop is the fastest a
user can step the environment from Python: `env.step(action)` with a precomputed action
(no policy at all) and `env.reset()` when an episode ends. genome's path is
`GymProblem.evaluate` (the code each worker process runs) on a population of real linear
policies (the `*-ars` configuration: normalization, `clip` head) with 16 slots: encoding,
the population forward pass, the action head, failure checks and observation statistics
included. Writes benchmarks/results/gym_throughput.json.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import sys  # noqa: E402

from common import RESULTS, save  # noqa: E402  (benchmarks/common.py)

# benchmarks/mujoco.py would shadow the mujoco package that Gymnasium imports in this process
sys.path = [p for p in sys.path if p not in ("", __import__("os").path.dirname(__import__("os").path.abspath(__file__)))]

PRESET = {"HalfCheetah-v5": "halfcheetah-ars", "Hopper-v5": "hopper-ars", "Swimmer-v5": "swimmer-ars", "Walker2d-v5": "walker2d-ars",
          "LunarLander-v3": "lunarlander-es"}


def bare(env_id: str, steps: int) -> float:
    import gymnasium as gym

    env = gym.make(env_id)
    env.reset(seed=0)
    action = np.asarray(env.action_space.sample())
    if env.action_space.shape:
        action = np.zeros_like(action)  # a valid action, no policy cost
    done = 0
    t0 = time.perf_counter()
    while done < steps:
        _, _, terminated, truncated, _ = env.step(action)
        done += 1
        if terminated or truncated:
            env.reset()
    rate = steps / (time.perf_counter() - t0)
    env.close()
    return rate


def genome_path(env_id: str, steps: int) -> tuple[float, float]:
    from genome import config, rng
    from genome.build import build
    from genome.rollout.problem import EpisodeRequest

    cfg = config.load_preset(PRESET[env_id])
    setup = build(cfg)
    fam = setup.family
    genomes = (np.random.default_rng(0).normal(size=(64, fam.n_params)) * 0.1).astype(np.float32)
    setup.problem.evaluate(genomes[:2], 0, EpisodeRequest(1, rng.START, 0))  # warm up (compile, make envs)
    done, t0, generation = 0, time.perf_counter(), 1
    while done < steps:
        r = setup.problem.evaluate(genomes, 0, EpisodeRequest(1, rng.START, generation))
        done += r.total_frames
        generation += 1
    rate = done / (time.perf_counter() - t0)
    setup.problem.close()
    return rate, done


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", nargs="*", default=["HalfCheetah-v5", "Hopper-v5", "LunarLander-v3"])
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats; medians are reported")
    parser.add_argument("--out", default=str(RESULTS / "gym_throughput.json"))
    args = parser.parse_args(argv)
    rows = []
    for env_id in args.envs:
        bs, gs = [], []
        for _ in range(args.repeats):  # interleaved: the machine's speed drifts between runs
            bs.append(bare(env_id, args.steps))
            gs.append(genome_path(env_id, args.steps)[0])
        b, g = float(np.median(bs)), float(np.median(gs))
        rows.append({"env": env_id, "bare_steps_per_s": b, "genome_steps_per_s": g, "ratio": g / b, "bare_runs": bs, "genome_runs": gs})
        print(f"{env_id:16s} bare env.step loop {b:8.0f} steps/s   genome worker path {g:8.0f} steps/s   ({100 * g / b:.0f}%)", flush=True)
    save({"rows": rows}, args.out)
    return {"rows": rows}


if __name__ == "__main__":
    main()
