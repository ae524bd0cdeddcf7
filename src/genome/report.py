"""``genome report``: the chromatic-networks paper's table for any runs, and the picture of
each layer's coloring (Song, Choromanski et al. 2020, Table 1 and Figure 1).

Columns: environment, architecture (``L`` = linear, ``H41`` = one hidden layer of 41
units, ``H41,41`` = two), family, partitions (chromatic: ``M``), mean and max reward of the
run's final evaluation (``run.eval_episodes`` independent episodes; ``--episodes N``
evaluates again), weight parameters (the paper's count: weights only, biases and
normalizer excluded; a chromatic network counts the colors it uses), compression against
the unstructured network with the same layer sizes, and storage bits (coloring or mask
included).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from genome.errors import ConfigError

DENSE_WEIGHTS = {
    "linear": lambda i, o: i * o,
    "mlp": lambda i, o: i * o,
    "toeplitz": lambda i, o: i + o - 1,
    "circulant": lambda i, o: max(i, o),
}


def run_row(run: Path, episodes: int = 0) -> dict:
    """One row of the table for a finished run directory."""
    summary_path = run / "summary.json"
    if not summary_path.is_file():
        raise ConfigError(f"{run} is not a finished genome run (no summary.json)")
    s = json.loads(summary_path.read_text())
    sizes = s["layer_sizes"]
    family = s["family"]
    unstructured = sum(sizes[i] * sizes[i + 1] for i in range(len(sizes) - 1))
    if "weight_params" in s:
        weights, bits, partitions = s["weight_params"], s["storage_bits"], s["partitions"] or "-"
    elif family in DENSE_WEIGHTS:
        weights = sum(DENSE_WEIGHTS[family](sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1))
        bits, partitions = 32 * weights, "-"
    else:  # binary_mlp, conv: every parameter
        weights, bits, partitions = s["n_params"], s["size_bits"], "-"
    mean, best = s["eval"]["mean"], s["eval"]["max"]
    if episodes:
        from genome.evaluate import evaluate_policy
        from genome.policy import load_policy

        policy = load_policy(run)
        ev = evaluate_policy(policy, policy.env_id, episodes, seed=0)
        mean, best = ev["mean"], ev["max"]
    hidden = sizes[1:-1]
    return {"run": run.name, "env": s["env"], "architecture": "L" if not hidden else "H" + ",".join(map(str, hidden)),
            "family": family, "partitions": partitions, "mean": mean, "max": best, "weight_params": weights,
            "compression": 1 - weights / unstructured if unstructured else 0.0, "bits": bits, "frames": s["frames"]}


def table(rows: list[dict]) -> str:
    out = ["| run | environment | architecture | family | partitions | mean reward | max reward | weight params | compression | bits | frames |",
           "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        out.append(f"| {r['run']} | {r['env']} | {r['architecture']} | {r['family']} | {r['partitions']} | {r['mean']:.1f} | {r['max']:.1f} | "
                   f"{r['weight_params']} | {100 * r['compression']:.1f}% | {r['bits']} | {r['frames'] / 1e6:.2f} M |")
    return "\n".join(out)


def plot(runs: list[Path], path: str) -> None:
    """Each chromatic/masked run's layers as colored matrices (rows: output units)."""
    from genome.policies.chromatic import ARCHITECTURE_FILE, load_architecture

    archs = [(run, load_architecture(run / ARCHITECTURE_FILE)) for run in runs if (run / ARCHITECTURE_FILE).is_file()]
    if not archs:
        raise ConfigError(f"--plot: none of the runs has a coloring or mask ({ARCHITECTURE_FILE}: chromatic, masked or binary_chromatic families)")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("--plot needs matplotlib: pip install 'genome[bench]'") from None
    n_cols = max(len(a["layers"]) for _, a in archs)
    fig, axes = plt.subplots(len(archs), n_cols, figsize=(4.5 * n_cols, 2.6 * len(archs)), squeeze=False)
    for row, (run, arch) in enumerate(archs):
        colors = max(arch["partitions"], 2)
        cmap = plt.get_cmap("tab20" if colors <= 20 else "gist_ncar", colors)
        for col in range(n_cols):
            ax = axes[row, col]
            if col >= len(arch["layers"]):
                ax.axis("off")
                continue
            layer = np.asarray(arch["layers"][col])
            ax.imshow(layer, cmap=cmap if arch["family"] != "masked" else "Greys", vmin=0, vmax=colors - 1, aspect="auto", interpolation="nearest")
            ax.set_title(f"{run.name}: layer {col} ({layer.shape[0]}x{layer.shape[1]}), {arch['family']}"
                         + (f", {arch['partitions']} colors" if arch["partitions"] else ", mask"), fontsize=8)
            ax.set_xlabel("input", fontsize=7)
            ax.set_ylabel("output", fontsize=7)
            ax.tick_params(labelsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
