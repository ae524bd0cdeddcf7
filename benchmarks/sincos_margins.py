"""How far from correctly rounded is the C library's sin/cos on CartPole's angles?

Run:  python benchmarks/sincos_margins.py [--samples 20000000]

For angles in [-0.25, 0.25] (uniform, and log-uniform magnitudes down to 2**-26) prints the
largest error of ``math.sin``/``math.cos`` (the C library, through numba) in ulp, measured
against the double-double values of :mod:`genome.envs.sincos` (accurate to ~1e-4 ulp),
per region: sin below 0.126, sin above, cos. The inline sin/cos returns its value only
outside a margin around the rounding midpoints; these maxima are what the margins in
``genome/envs/sincos.py`` must exceed. Writes benchmarks/results/sincos_margins.json.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from numba import njit

from common import RESULTS, save  # benchmarks/common.py (the script's directory is on sys.path)
from genome.envs import sincos as S
from genome.envs.libm import libm_sincos
from genome.intrinsics import fma, ulp


@njit(cache=True)
def _dd(x):
    """(sin, its remainder, cos, its remainder), as genome/envs/sincos.py evaluates them."""
    z = x * x
    zl = fma(x, x, -z)
    rs, los = S.sin_dd(x, z, zl)
    rc, loc = S.cos_dd(z, zl, z * z, (z * z) * (z * z))
    return rs, los, rc, loc


@njit(cache=True)
def max_errors(xs):
    m = np.zeros(3)
    for x in xs:
        rs, los, rc, loc = _dd(x)
        gs, gc = libm_sincos(x)
        region = 0 if abs(x) < 0.126 else 1
        m[region] = max(m[region], abs((gs - rs) - los) / ulp(rs))
        m[2] = max(m[2], abs((gc - rc) - loc) / ulp(rc))
    return m


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=20_000_000, help="angles per batch (5 uniform + 5 log-uniform batches)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    worst = np.zeros(3)
    for _ in range(5):
        worst = np.maximum(worst, max_errors(rng.uniform(-S.LIMIT, S.LIMIT, args.samples)))
        mags = np.exp(rng.uniform(math.log(S.TINY), math.log(S.LIMIT), args.samples)) * rng.choice([-1.0, 1.0], args.samples)
        worst = np.maximum(worst, max_errors(mags))
    result = {"samples": 10 * args.samples, "sin_below_0.126_ulp": worst[0], "sin_above_ulp": worst[1], "cos_ulp": worst[2],
              "margins": {"sin_small": S.MARGIN_SIN_SMALL, "sin": S.MARGIN_SIN, "cos": S.MARGIN_COS}}
    print(f"C library max error over {10 * args.samples:,} angles: sin |x| < 0.126 {worst[0]:.4f} ulp, sin above {worst[1]:.4f} ulp, "
          f"cos {worst[2]:.4f} ulp; margins beyond 0.5 ulp: {S.MARGIN_SIN_SMALL}, {S.MARGIN_SIN}, {S.MARGIN_COS}")
    save(result, RESULTS / "sincos_margins.json")
    return result


if __name__ == "__main__":
    main()
