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

With EnvPool installed (`pip install 'genome[envpool]'`), two more columns for the
environments it provides: a bare EnvPool loop (one pool of `--pool` environments stepped by
one thread with a constant action, the fastest EnvPool goes on one core) and genome's path
with `env.backend = "envpool"` (`env.num_envs = --pool`: one pool per chunk of that many
episodes, each environment seeded with its episode's seed, made anew every chunk).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from common import RESULTS, save  # noqa: E402  (benchmarks/common.py)

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


def bare_envpool(env_id: str, steps: int, pool: int) -> float:
    import envpool

    env = envpool.make_gymnasium(env_id, num_envs=pool, batch_size=pool, num_threads=1, seed=0)
    env.reset()
    action = np.zeros((pool, *env.action_space.shape), dtype=np.float32) if env.action_space.shape else np.zeros(pool, dtype=np.int32)
    done = 0
    t0 = time.perf_counter()
    while done < steps:  # EnvPool resets finished environments itself
        env.step(action)
        done += pool
    rate = done / (time.perf_counter() - t0)
    env.close()
    return rate


def genome_path(env_id: str, steps: int, backend: str = "gymnasium", pool: int = 16) -> tuple[float, float]:
    from dataclasses import replace

    from genome import config, rng
    from genome.build import build
    from genome.problems import EpisodeRequest

    cfg = config.load_preset(PRESET[env_id])
    cfg = replace(cfg, env=replace(cfg.env, backend=backend, num_envs=pool if backend == "envpool" else cfg.env.num_envs))
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
    parser.add_argument("--pool", type=int, default=64, help="EnvPool: environments per pool (env.num_envs)")
    parser.add_argument("--out", default=str(RESULTS / "gym_throughput.json"))
    args = parser.parse_args(argv)
    try:
        import envpool

        pooled = set(envpool.list_all_envs())
    except ImportError:
        pooled = set()
    rows = []
    for env_id in args.envs:
        bs, gs, ebs, egs = [], [], [], []
        for _ in range(args.repeats):  # interleaved: the machine's speed drifts between runs
            bs.append(bare(env_id, args.steps))
            gs.append(genome_path(env_id, args.steps)[0])
            if env_id in pooled:
                ebs.append(bare_envpool(env_id, args.steps, args.pool))
                egs.append(genome_path(env_id, args.steps, "envpool", args.pool)[0])
        b, g = float(np.median(bs)), float(np.median(gs))
        row = {"env": env_id, "bare_steps_per_s": b, "genome_steps_per_s": g, "ratio": g / b, "bare_runs": bs, "genome_runs": gs}
        line = f"{env_id:16s} bare env.step loop {b:8.0f} steps/s   genome worker path {g:8.0f} steps/s   ({100 * g / b:.0f}%)"
        if ebs:
            eb, eg = float(np.median(ebs)), float(np.median(egs))
            row.update({"pool": args.pool, "envpool_bare_steps_per_s": eb, "envpool_genome_steps_per_s": eg, "envpool_bare_runs": ebs, "envpool_genome_runs": egs})
            line += f"   bare EnvPool {eb:8.0f}   genome on EnvPool {eg:8.0f} steps/s ({eg / b:.2f}x the bare env.step loop)"
        rows.append(row)
        print(line, flush=True)
    save({"rows": rows}, args.out)
    return {"rows": rows}


if __name__ == "__main__":
    main()
