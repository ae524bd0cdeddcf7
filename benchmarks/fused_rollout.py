"""CartPole-v1 environment steps per second of the fused rollout.

Run:  python benchmarks/fused_rollout.py            (1 and 2 threads)

The whole step -- observation -> thermometer bits -> binary network -> action -> CartPole
dynamics -- runs in one compiled loop, parallel over (member, episode) pairs. Measured for

* ``trained``: 256 copies of a policy trained by `genome.train("cartpole")` (every
  episode runs the full 500 steps: the steady-state step rate);
* ``random``: 256 random genomes of the same family (episodes of ~20 steps: resets and
  per-episode overhead included, as at the start of training);

for the preset's 64 -> 64 -> 2 network and for a deeper 64 -> 64 -> 64 -> 2 one. For
comparison it also times Gymnasium's own vectorized CartPole (``CartPoleVectorEnv``,
numpy, 256 environments) with random actions, the fastest Gymnasium path, policy excluded.
Prints a table and writes benchmarks/results/fused_rollout.json.
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np

import genome
from genome import rng
from genome.problems import EpisodeRequest
from genome.build import build
from genome.problems.native import run_native
from common import RESULTS, save  # benchmarks/common.py (the script's directory is on sys.path)


def rate(problem, genomes, episodes: int, repeats: int = 5) -> float:
    request = EpisodeRequest(episodes, rng.START, 0, False)
    problem.evaluate(genomes[:2], 0, EpisodeRequest(1, rng.START, 0))  # warm
    best = 0.0
    for r in range(repeats):
        t0 = time.perf_counter()
        result = problem.evaluate(genomes, 0, EpisodeRequest(episodes, rng.START, r, False))
        best = max(best, result.total_frames / (time.perf_counter() - t0))
    _ = request
    return best


def gymnasium_vector_rate(num_envs: int = 256, steps: int = 2000) -> float:
    import gymnasium as gym

    envs = gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="vector_entry_point")
    envs.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 2, size=(steps, num_envs))
    t0 = time.perf_counter()
    for t in range(steps):
        envs.step(actions[t])
    wall = time.perf_counter() - t0
    envs.close()
    return num_envs * steps / wall


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(RESULTS / "fused_rollout.json"))
    args = parser.parse_args(argv)
    results: dict = {"numba": numba.__version__, "cores": numba.config.NUMBA_NUM_THREADS, "rows": []}
    for hidden in ([64], [64, 64]):
        trained = genome.train("cartpole", seed=0, hidden=hidden)
        setup = build(genome.config.apply_overrides(genome.config.load_preset("cartpole"), {"policy": {"hidden": hidden}}))
        # the trained policy's genome: re-encode its dense weights as family bits is not needed;
        # evaluate its packed arrays directly
        net = trained.policy
        weights = np.repeat(net.weights[None], 256, axis=0)
        thresholds = np.repeat(net.thresholds[None], 256, axis=0)
        random_genomes = np.random.default_rng(0).integers(0, 2, size=(256, setup.family.n_params)).astype(np.uint8)
        sizes = "-".join(map(str, setup.family.layout.sizes))
        for threads in (1, 2):
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))

            class Trained:
                def evaluate(self, genomes, offset, request):
                    return run_native(setup.native, setup.problem.max_episode_steps, setup.family,
                                      (weights[: genomes.shape[0]], thresholds[: genomes.shape[0]]), setup.problem.seed, request, offset)

            r_trained = rate(Trained(), random_genomes, 4)
            r_random = rate(setup.problem, random_genomes, 64)
            row = {"network": sizes, "threads": numba.get_num_threads(), "trained_steps_per_s": r_trained, "random_steps_per_s": r_random}
            results["rows"].append(row)
            print(f"fused CartPole, {sizes} binary policy, {row['threads']} thread(s): trained {r_trained / 1e6:6.1f}M steps/s, random {r_random / 1e6:6.1f}M steps/s")
    # policies with memory (CartPole with positions only), and a real-valued feed-forward one:
    # 256 copies of a trained policy, so every episode runs its 500 steps
    for preset, label in (("cartpole-pomdp", "binary_rnn"), ("cartpole-pomdp-lstm", "lstm"), ("cartpole-es", "linear")):
        net = genome.train(preset, seed=0).policy
        setup = build(genome.config.load_preset(preset))
        arrays = tuple(np.repeat(a, 256, axis=0) for a in net.kernel_arrays()) if label == "binary_rnn" else None
        if label == "lstm":
            arrays = np.repeat(net.kernel_arrays(), 256, axis=0)
        elif label == "linear":
            from genome.policies.dense import DenseArrays

            arrays = DenseArrays(np.repeat(net.kernel_arrays().params, 256, axis=0))
        sizes = "-".join(map(str, net.layer_sizes))
        for threads in (1, 2):
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))

            class Trained:
                def evaluate(self, genomes, offset, request, arrays=arrays, net=net, setup=setup):
                    n = genomes.shape[0]
                    sliced = tuple(a[:n] for a in arrays) if isinstance(arrays, tuple) else (
                        arrays[:n] if isinstance(arrays, np.ndarray) else type(arrays)(arrays.params[:n]))
                    return run_native(setup.native, setup.problem.max_episode_steps, net, sliced, setup.problem.seed, request, offset)

            r = rate(Trained(), np.zeros((256, 1)), 4)
            row = {"network": f"{label} {sizes} ({preset})", "threads": numba.get_num_threads(), "trained_steps_per_s": r, "random_steps_per_s": None}
            results["rows"].append(row)
            print(f"fused CartPole, {label} {sizes} ({preset}), {row['threads']} thread(s): trained {r / 1e6:6.1f}M steps/s", flush=True)
    g = gymnasium_vector_rate()
    results["gymnasium_vector_env_steps_per_s"] = g
    print(f"Gymnasium CartPoleVectorEnv (numpy, 256 envs, random actions, no policy): {g / 1e6:.2f}M steps/s")
    save(results, args.out)
    return results


if __name__ == "__main__":
    main()
