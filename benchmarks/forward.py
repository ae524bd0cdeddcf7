"""Forward passes per second of a 64-64-64-2 binary network.

Run:  NUMBA_NUM_THREADS=1 python benchmarks/forward.py        (one core, the headline figure)
      python benchmarks/forward.py --threads 2                 (also the parallel kernels)

Prints a table and writes benchmarks/results/forward.json. Figures:

* batch      -- one network, a large packed batch (``forward_batch``, serial kernel)
* population -- 4096 networks x 64 inputs each (``forward_population``), the form
                training calls at every environment step
* public     -- ``BinaryNetwork.forward`` on 2^21 packed inputs (the user-facing call)
* ceiling    -- the CPU's popcount throughput (XOR + popcount of L1-resident words; the
                faster of explicit ``<64 x i64>`` vectors, the network kernel's own shape,
                and a scalar loop LLVM vectorizes at its preferred width) divided by the 130
                XOR+popcounts one forward pass needs: the most any popcount kernel
                could do on this core.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numba
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from genome import BinaryNetwork, BinaryPopulation
from genome.intrinsics import ctpop64, splat
from genome.nets import kernels
from common import RESULTS, cpu_name, save  # benchmarks/common.py (the script's directory is on sys.path)

PREDECESSOR_PER_S = 5e5
SIZES = (64, 64, 64, 2)
POPCOUNTS_PER_FORWARD = 64 + 64 + 2


@intrinsic
def _xor_popcount_all(typingctx, words, mask):
    """``sum(popcount(words ^ mask))`` over a 1-D uint64 array whose length is a multiple of
    64, one ``<64 x i64>`` XOR and ``llvm.ctpop`` per 64 words (the vector shape of the network
    kernel, :func:`genome.intrinsics.block64_word`, so LLVM lowers both at the same width),
    accumulated in a vector and reduced once."""
    sig = types.int64(words, mask)

    def codegen(context, builder, signature, args):
        arr, m = args
        ary = context.make_array(signature.args[0])(context, builder, arr)
        n_blocks = builder.udiv(builder.extract_value(ary.shape, 0), ir.Constant(ir.IntType(64), 64))
        i64, v64 = ir.IntType(64), ir.VectorType(ir.IntType(64), 64)
        mask_vec = splat(builder, m, v64)
        reduce = cgutils.get_or_insert_function(builder.module, ir.FunctionType(i64, [v64]), "llvm.vector.reduce.add.v64i64")
        entry = builder.basic_block
        loop = builder.append_basic_block("stream.loop")
        done = builder.append_basic_block("stream.done")
        builder.branch(loop)
        builder.position_at_end(loop)
        i = builder.phi(i64)
        acc = builder.phi(v64)
        i.add_incoming(ir.Constant(i64, 0), entry)
        acc.add_incoming(ir.Constant(v64, None), entry)
        ptr = builder.gep(ary.data, [builder.mul(i, ir.Constant(i64, 64))])
        vec = builder.load(builder.bitcast(ptr, v64.as_pointer()), align=8)
        acc_next = builder.add(acc, ctpop64(builder, builder.xor(vec, mask_vec)))
        i_next = builder.add(i, ir.Constant(i64, 1))
        i.add_incoming(i_next, loop)
        acc.add_incoming(acc_next, loop)
        builder.cbranch(builder.icmp_signed("<", i_next, n_blocks), loop, done)
        builder.position_at_end(done)
        return builder.call(reduce, [acc_next])

    return sig, codegen


@njit(cache=True, boundscheck=False)
def _popcount_stream(words, mask, repeats):
    """XOR + popcount of every word against a changing mask, ``repeats`` times, as explicit
    ``<64 x i64>`` vectors."""
    total = 0
    for _ in range(repeats):
        total += _xor_popcount_all(words, mask)
        mask += np.uint64(1)
    return total


@njit(cache=True, boundscheck=False)
def _popcount_stream_scalar(words, mask, repeats):
    """The same as a scalar loop, vectorized by LLVM at the width it prefers for loops
    (256 bits on many AVX-512 Intel cores, where explicit vectors get 512)."""
    total = 0
    for _ in range(repeats):
        for i in range(words.shape[0]):
            total += kernels.popcount(words[i] ^ mask)
        mask += np.uint64(1)
    return total


def best_rate(fn, items: int, repeats: int = 7) -> float:
    fn()  # compile / warm
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return items / best


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_000_000, help="batch size for the batch figure")
    parser.add_argument("--threads", type=int, default=1, help="also time the parallel kernels with this many threads")
    parser.add_argument("--out", default=str(RESULTS / "forward.json"))
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    net = BinaryNetwork.random(SIZES, rng=rng, bias_range=3)
    lay = net.layout
    x = rng.integers(0, 2**63, size=(args.rows, 1), dtype=np.int64).astype(np.uint64) * np.uint64(3)
    out = np.empty((args.rows, 2), np.int32)
    results: dict = {
        "network": list(SIZES),
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "numba": numba.__version__,
        "numba_threads": numba.get_num_threads(),
        "python": sys.version.split()[0],
    }

    def run_batch(kernel):
        return lambda: kernel(net.weights, net.thresholds, lay.sizes_array, lay.w_offsets, lay.t_offsets, x, out)

    results["batch_per_s_1core"] = best_rate(run_batch(kernels.forward_batch), args.rows)
    public_rows = 1 << 21
    px_public = x[:public_rows].copy()
    results["public_forward_rows"] = public_rows
    results["public_forward_per_s"] = best_rate(lambda: net.forward(px_public), public_rows)

    members, per_member = 4096, 64
    pop = BinaryPopulation.from_networks([BinaryNetwork.random(SIZES, rng=i, bias_range=3) for i in range(members)])
    px = rng.integers(0, 2**63, size=(members, per_member, 1), dtype=np.int64).astype(np.uint64)
    pout = np.empty((members, per_member, 2), np.int32)

    def run_pop(kernel):
        return lambda: kernel(pop.weights, pop.thresholds, lay.sizes_array, lay.w_offsets, lay.t_offsets, px, pout)

    results["population_per_s_1core"] = best_rate(run_pop(kernels.forward_population), members * per_member)

    words = rng.integers(0, 2**63, size=4096, dtype=np.int64).astype(np.uint64)
    repeats = 2000
    explicit = best_rate(lambda: _popcount_stream(words, np.uint64(12345), repeats), words.size * repeats)
    looped = best_rate(lambda: _popcount_stream_scalar(words, np.uint64(12345), repeats), words.size * repeats)
    results["popcounts_per_s_1core_explicit_vectors"] = explicit
    results["popcounts_per_s_1core_vectorized_loop"] = looped
    pc_rate = max(explicit, looped)  # the ceiling is the faster of the two
    results["popcounts_per_s_1core"] = pc_rate
    results["ceiling_forward_per_s_1core"] = pc_rate / POPCOUNTS_PER_FORWARD

    if args.threads > 1:
        numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
        results["threads"] = numba.get_num_threads()
        results["batch_per_s_parallel"] = best_rate(run_batch(kernels.forward_batch_parallel), args.rows)
        results["population_per_s_parallel"] = best_rate(run_pop(kernels.forward_population_parallel), members * per_member)

    results["speedup_vs_predecessor"] = results["batch_per_s_1core"] / PREDECESSOR_PER_S
    results["fraction_of_popcount_ceiling"] = results["batch_per_s_1core"] / results["ceiling_forward_per_s_1core"]

    print(f"binary network {'-'.join(map(str, SIZES))} on {results['cpu']} (numba {numba.__version__})")
    print(f"  batch, 1 core            {results['batch_per_s_1core']:>14,.0f} forward/s  "
          f"({results['speedup_vs_predecessor']:.0f}x the predecessor's 500,000/s)")
    print(f"  population, 1 core       {results['population_per_s_1core']:>14,.0f} forward/s  "
          f"({100 * results['population_per_s_1core'] / results['ceiling_forward_per_s_1core']:.0f}% of the ceiling)")
    print(f"  BinaryNetwork.forward    {results['public_forward_per_s']:>14,.0f} forward/s  "
          f"(2^21 packed inputs, {numba.get_num_threads()} thread(s))")
    if args.threads > 1:
        print(f"  batch, {results['threads']} threads        {results['batch_per_s_parallel']:>14,.0f} forward/s")
        print(f"  population, {results['threads']} threads   {results['population_per_s_parallel']:>14,.0f} forward/s")
    print(f"  popcount ceiling, 1 core {results['ceiling_forward_per_s_1core']:>14,.0f} forward/s  "
          f"({pc_rate:,.0f} XOR+popcount/s / {POPCOUNTS_PER_FORWARD}); batch kernel reaches "
          f"{100 * results['fraction_of_popcount_ceiling']:.0f}% of it")
    save(results, args.out)
    return results


if __name__ == "__main__":
    main()
