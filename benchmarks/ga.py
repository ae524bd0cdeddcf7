"""The Deep Neuroevolution GA: bytes (wire, checkpoints, chains) and GA vs Bernoulli NES vs
OpenAI-ES at equal frames.

Run:  python benchmarks/ga.py bytes                 # population 1000, 100 generations, CartPole
      python benchmarks/ga.py compare [--seeds 0 1 2] [--tasks cartpole-binary cartpole-mlp lunarlander-binary lunarlander-linear]
      python benchmarks/ga.py compare --tasks frostbite-ram --seeds 0 --keep runs/   # ~1 h per run on 2 cores
      python benchmarks/ga.py compare --tasks frostbite-ram-noop --seeds 0 --keep runs/   # the paper's protocol (no sticky actions, no-op starts)
      NUMBA_NUM_THREADS=1 python benchmarks/ga.py conv   # conv forward passes/s and ALE steps/s, one core

`bytes`: a GA run with population 1000 and truncation 20 for 100 generations (CartPole,
binary 64-hidden network; the sizes depend on the population and the chain lengths, not on
the network): wire bytes per generation and per child (the parents' chains once plus
(parent index, seed) per child), the newest checkpoint's size, the elite's chain length
per generation -- next to the float32 weights of 1000 Nature-DQN networks for Frostbite
(1,693,362 parameters each), which those chains could stand for.

`conv`: the Nature-DQN network's forward passes per second on one core (a GA step: every
row a different member, the rows one call), ALE Frostbite steps per second per core with
the Atari preprocessing (pixels) and with RAM observations, and the whole Gymnasium path
(emulator + network) evaluating conv members in one process -- which of the two bounds.

`compare`: the same frame budget for each strategy on each task; frames to solve (the
stopping test passed) or the score at the budget, then `genome eval RUN --episodes 100`.
Writes benchmarks/results/ga.json and prints markdown tables.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import RESULTS, save  # benchmarks/common.py (the script's directory is on sys.path)

GENOME = [sys.executable, "-m", "genome.cli"]
NATURE_DQN_FROSTBITE = 1_693_362  # 3 convolutions + 512 units + 18 actions on 84x84x4

GA = ["--set", "strategy.name=ga"]
#: Such et al.'s Atari protocol on RAM observations: no sticky actions, up to 30 no-op starts
PAPER_ALE = ["--env-kwargs", '{"obs_type": "ram", "repeat_action_probability": 0.0}', "--set", "env.preprocess=noop"]
#: task -> (budget in frames, {strategy label: [genome train arguments]})
TASKS = {
    "cartpole-binary": (3_000_000, {
        "bernoulli_nes": ["cartpole"],
        "ga": ["cartpole", *GA, "--set", "strategy.population=256", "--set", "strategy.truncation=20", "--set", "strategy.elites=5",
               "--set", "strategy.validation_episodes=10", "--set", "strategy.flip_prob=0.002"],
    }),
    "cartpole-mlp": (3_000_000, {
        "openai_es": ["cartpole-es", "--set", "policy.family=mlp", "--set", "policy.hidden=[16]"],
        "ga": ["cartpole-es", "--set", "policy.family=mlp", "--set", "policy.hidden=[16]", *GA, "--set", "strategy.population=100",
               "--set", "strategy.truncation=10", "--set", "strategy.elites=5", "--set", "strategy.validation_episodes=10", "--set", "strategy.sigma=0.1"],
    }),
    "lunarlander-binary": (10_000_000, {
        "bernoulli_nes": ["lunarlander"],
        "ga": ["lunarlander", *GA, "--set", "strategy.population=256", "--set", "strategy.truncation=20", "--set", "strategy.elites=5",
               "--set", "strategy.validation_episodes=10", "--set", "strategy.flip_prob=0.005"],
    }),
    "lunarlander-linear": (3_000_000, {
        "openai_es": ["lunarlander-es"],
        "ga": ["lunarlander-es", *GA, "--set", "strategy.population=100", "--set", "strategy.truncation=10", "--set", "strategy.elites=5",
               "--set", "strategy.validation_episodes=10", "--set", "strategy.sigma=0.1"],
    }),
    # ALE v5's default (sticky actions 0.25, frame skip 4): frames are agent steps, 10 M = 40 M
    # emulator frames; the GA as the frostbite-ram-ga preset stood before it took the paper's protocol
    "frostbite-ram": (10_000_000, {
        "bernoulli_nes": ["frostbite-ram"],
        "ga": ["frostbite-ram-ga", "--env-kwargs", '{"obs_type": "ram"}', "--set", "env.preprocess=none", "--set", "strategy.validation_episodes=10"],
    }),
    # the paper's protocol: deterministic ALE (no sticky actions), up to 30 no-op starts (the
    # frostbite-ram-ga preset's own)
    "frostbite-ram-noop": (10_000_000, {
        "bernoulli_nes": ["frostbite-ram", *PAPER_ALE],
        "ga": ["frostbite-ram-ga"],
        # not the paper's: the elite scored by all its validation episodes so far (README, Frostbite)
        "ga-running-mean": ["frostbite-ram-ga", "--set", "strategy.elite_running_mean=true"],
        # not the paper's: validation episodes enumerate the 30 no-op starts (the exact expected score)
        "ga-stratified": ["frostbite-ram-ga", "--set", "strategy.stratified_validation=true"],
    }),
}
#: the Deep Neuroevolution paper's Frostbite row (Such et al. 2017, Table 1; 1 B emulator frames
#: for the GA, DQN 200 M, ES 1 B; deterministic ALE with up to 30 no-op starts)
FROSTBITE_PAPER = {"GA (1 B frames)": 4536, "DQN": 797, "ES": 370}


def bytes_figures(generations: int = 100, population: int = 1000) -> dict:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    with tempfile.TemporaryDirectory() as tmp:
        cmd = GENOME + ["train", "cartpole", "--out", tmp, "--name", "ga", "--quiet", "--target", "none", "--generations", str(generations),
                        *GA, "--set", f"strategy.population={population}", "--set", "strategy.truncation=20", "--set", "strategy.elites=10",
                        "--set", "strategy.validation_episodes=5", "--set", "strategy.flip_prob=0.002", "--set", "run.center_episodes=2",
                        "--set", "run.eval_episodes=10"]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        wall = time.perf_counter() - t0
        run = Path(tmp) / "ga"
        newest = sorted((run / "checkpoints").glob("gen-*.npz"))[-1]
        acc = EventAccumulator(str(run), size_guidance={"scalars": 0})
        acc.Reload()
        wire = [e.value for e in acc.Scalars("ga/wire_bytes")]
        chain = [e.value for e in acc.Scalars("ga/chain_length")]
        summary = json.loads((run / "summary.json").read_text())
        out = {
            "population": population, "generations": generations, "wall_seconds": wall, "frames": summary["frames"],
            "n_params": summary["n_params"], "checkpoint": newest.name, "checkpoint_bytes": newest.stat().st_size,
            "wire_bytes_per_generation_last": wire[-1], "wire_bytes_per_child_last": wire[-1] / population,
            "wire_bytes_per_generation": wire, "elite_chain_length": chain,
            "nature_dqn_weights_bytes_1000": 1000 * NATURE_DQN_FROSTBITE * 4,
        }
    print(f"population {population}, {generations} generations ({wall:.0f} s): checkpoint {out['checkpoint_bytes'] / 1024:.1f} KiB; "
          f"wire {out['wire_bytes_per_generation_last'] / 1024:.1f} KiB per generation ({out['wire_bytes_per_child_last']:.1f} B per child); "
          f"elite chain length {chain[-1]:.0f}; 1000 Nature-DQN networks: {out['nature_dqn_weights_bytes_1000'] / 2**30:.1f} GiB")
    return out


def compare(tasks: list[str], seeds: list[int], strategies: list[str] | None = None, keep: str | None = None) -> dict:
    """Train and evaluate; with ``keep`` the run directories stay there, and a finished run
    found there (its summary.json) is evaluated instead of trained again."""
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(keep) if keep else Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        for task in tasks:
            budget, runs = TASKS[task]
            results[task] = {"budget": budget, "strategies": {}}
            for label, args in runs.items():
                if strategies and label not in strategies:
                    continue
                rows = []
                for seed in seeds:
                    name = f"{task}-{label}-{seed}"
                    run = out / name
                    wall = None
                    if not (run / "summary.json").exists():
                        t0 = time.perf_counter()
                        subprocess.run(GENOME + ["train", *args, "--out", str(out), "--name", name, "--seed", str(seed), "--quiet",
                                                 "--generations", "0", "--max-frames", str(budget)], check=True, capture_output=True)
                        wall = time.perf_counter() - t0
                    s = json.loads((run / "summary.json").read_text())
                    wall = wall if wall is not None else s.get("wall_seconds", float("nan"))
                    ev = json.loads(subprocess.run(GENOME + ["eval", str(run), "--episodes", "100", "--json"], check=True, capture_output=True, text=True).stdout)
                    rows.append({"seed": seed, "solved": s["solved"], "frames": s["frames"], "wall_seconds": wall, "eval_mean": ev["mean"],
                                 "eval_max": ev["max"], "eval_median": ev["median"], "policy_bytes": s["policy_bytes"]})
                    if task.endswith("-noop"):
                        rows[-1]["noop_returns"] = noop_start_returns(run)
                        print(f"{'':20s} {'':14s} every no-op start 1-30: mean {statistics.mean(rows[-1]['noop_returns']):.1f}", flush=True)
                    print(f"{task:20s} {label:14s} seed {seed}: {'solved' if s['solved'] else 'budget'} at {s['frames'] / 1e6:.2f} M frames, "
                          f"{wall:.0f} s; genome eval {ev['mean']:.1f} (max {ev['max']:.0f})", flush=True)
                results[task]["strategies"][label] = rows
    return results


def noop_start_returns(run: Path) -> list[float]:
    """The return from each of the 30 no-op starts (1..30 no-ops, then the policy): with no
    sticky actions the episode is a function of its start, so their mean is the policy's
    exact expected score under the no-op start protocol (a 100-episode eval samples it)."""
    from genome.policy import Policy, load_network, run_env
    from genome.problems.ale_starts import NOOP_MAX
    from genome.problems.gym_env import make_env

    env_id, kwargs, preprocess = run_env(run)
    policy = Policy(load_network(run / json.loads((run / "summary.json").read_text())["policy"]), env_id, kwargs, preprocess)
    env = make_env(env_id, kwargs, preprocess="none")  # the no-ops stepped here
    returns = []
    for n in range(1, NOOP_MAX + 1):
        obs, _ = env.reset(seed=0)
        for _ in range(n):
            obs = env.step(0)[0]
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(policy.act(obs))
            total, done = total + float(reward), terminated or truncated
        returns.append(total)
    env.close()
    return returns


def conv_figures(seconds: float = 5.0) -> dict:
    """Forward passes/s of the Nature-DQN network, ALE steps/s, and the whole path."""
    import numpy as np

    from genome.config import load_preset
    from genome.build import build
    from genome.nets.conv import one_blas_thread
    from genome.problems.gym_env import make_env
    from genome.problems import EpisodeRequest

    setup = build(load_preset("frostbite-ga"))
    fam = setup.family
    rows = 16  # the Gymnasium path's slots: one step of 16 members
    genomes = np.stack([fam.initial_genome(s) for s in range(rows)]).astype(np.float32)
    arrays = fam.decode_arrays(genomes)
    obs = np.random.default_rng(0).integers(0, 256, (rows, fam.n_inputs)).astype(np.uint8)
    members = np.arange(rows)
    with one_blas_thread():  # as the Gymnasium path holds it around its step loop
        fam.forward_indexed(arrays, members, obs)
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            fam.forward_indexed(arrays, members, obs)
            n += rows
        forward = n / (time.perf_counter() - t0)
        one = arrays.params[:1]  # one member's weights stay in cache: a single slot's step
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            fam.forward_indexed(type(arrays)(one), members[:1], obs[:1])
            n += 1
        forward_one = n / (time.perf_counter() - t0)

    def env_rate(env) -> float:
        env.reset(seed=0)
        env.action_space.seed(0)
        k, t = 0, time.perf_counter()
        while time.perf_counter() - t < seconds:
            _, _, term, trunc, _ = env.step(env.action_space.sample())
            k += 1
            if term or trunc:
                env.reset()
        env.close()
        return k / (time.perf_counter() - t)

    pixels = env_rate(make_env("ALE/Frostbite-v5", {"repeat_action_probability": 0.0}, preprocess="atari"))
    import gymnasium

    raw = gymnasium.make("ALE/Frostbite-v5", repeat_action_probability=0.0)  # make_env registered ALE
    raw.reset(seed=0)
    t = time.perf_counter()
    for s in range(10):
        raw.reset(seed=s + 1)  # a seeded ALE reset reloads the ROM
    seeded_reset = (time.perf_counter() - t) / 10
    raw.close()
    env = make_env("ALE/Frostbite-v5", {"repeat_action_probability": 0.0}, preprocess="atari")
    env.reset(seed=0)
    t = time.perf_counter()
    for s in range(10):
        env.reset(seed=s + 1)  # genome's deterministic reset (no ROM reload) with its no-op start
    genome_reset = (time.perf_counter() - t) / 10
    env.close()
    ram = env_rate(make_env("ALE/Frostbite-v5", {"obs_type": "ram"}))
    # the whole path in this process: 16 conv members, one episode each, 500 steps at most
    # (a first call makes the 16 environments; the second is timed)
    problem = setup.problem
    problem.spec = dataclasses.replace(problem.spec, max_episode_steps=500)  # the preset's slots (env.num_envs)
    problem.close()
    problem.evaluate(genomes, 0, EpisodeRequest(1, 1, 0, False))
    t = time.perf_counter()
    result = problem.evaluate(genomes, 0, EpisodeRequest(1, 1, 1, False))
    path = result.total_frames / (time.perf_counter() - t)
    problem.close()
    out = {"n_params": fam.n_params, "conv_forward_per_s": forward, "conv_forward_one_member_per_s": forward_one,
           "ale_pixels_steps_per_s": pixels, "ale_ram_steps_per_s": ram, "ale_seeded_reset_s": seeded_reset, "genome_reset_s": genome_reset,
           "gym_path_conv_steps_per_s": path, "slots": problem.spec.slots,
           "bound": "emulator" if forward_one > pixels else "network"}
    print(f"Nature-DQN ({fam.n_params:,} parameters): {forward:,.0f} forward passes/s on one core with 16 members a step, "
          f"{forward_one:,.0f} with one (its weights stay in cache); ALE Frostbite {pixels:,.0f} steps/s with Atari preprocessing, "
          f"{ram:,.0f} with RAM observations, a seeded reset {seeded_reset * 1e3:.0f} ms (genome's deterministic reset "
          f"with its no-op start {genome_reset * 1e3:.0f} ms); whole path ({problem.spec.slots} slot) "
          f"{path:,.0f} steps/s, resets included ({out['bound']} bound)")
    return out


def table(results: dict) -> str:
    out = ["| task | strategy | budget | solved | frames (median) | independent eval per seed | wall (median) |", "| --- | --- | ---: | ---: | ---: | --- | ---: |"]
    for task, r in results.items():
        for label, rows in r["strategies"].items():
            out.append(f"| {task} | `{label}` | {r['budget'] / 1e6:.0f} M | {sum(x['solved'] for x in rows)}/{len(rows)} | "
                       f"{statistics.median(x['frames'] for x in rows) / 1e6:.2f} M | {', '.join(format(x['eval_mean'], '.1f') for x in rows)} | "
                       f"{statistics.median(x['wall_seconds'] for x in rows):.0f} s |")
    if "frostbite-ram" in results or "frostbite-ram-noop" in results:
        out.append("| frostbite (Such et al. 2017, pixels, deterministic ALE) | " + ", ".join(f"{k} {v}" for k, v in FROSTBITE_PAPER.items()) + " | | | | | |")
    return "\n".join(out)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=["bytes", "compare", "conv"])
    parser.add_argument("--strategies", nargs="*", help="only these strategies of each task")
    parser.add_argument("--keep", help="keep run directories here (a finished run found there is evaluated, not retrained)")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--tasks", nargs="*", default=list(TASKS))
    parser.add_argument("--out", default=str(RESULTS / "ga.json"))
    args = parser.parse_args(argv)
    path = Path(args.out)
    data = json.loads(path.read_text()) if path.exists() else {}
    if args.part == "bytes":
        data["bytes"] = bytes_figures()
    elif args.part == "conv":
        data["conv"] = conv_figures()
    else:
        for task, r in compare(args.tasks, args.seeds, args.strategies, args.keep).items():
            known = data.setdefault("compare", {}).setdefault(task, {"budget": r["budget"], "strategies": {}})["strategies"]
            for label, rows in r["strategies"].items():  # merge by seed: --seeds 3 4 adds to seeds 0-2
                ran = {row["seed"] for row in rows}
                known[label] = sorted([row for row in known.get(label, []) if row["seed"] not in ran] + rows, key=lambda row: row["seed"])
        print(table(data["compare"]))
    save(data, path)
    return data


if __name__ == "__main__":
    main()
