r"""Numba kernels for bit-packed binary networks.

Bit ``1`` is +1 and bit ``0`` is -1. For an ``n``-bit input ``x`` and a weight row
``w_j`` (both packed in ``uint64`` words, least significant bit first):

.. math::

    s_j = \sum_i W_{ji} x_i + b_j = n - 2\,\mathrm{popcount}(x \oplus w_j) + b_j

A hidden unit outputs +1 iff ``s_j >= 0``, i.e. iff
``popcount(x XOR w_j) <= t_j`` with the precomputed threshold ``t_j = (n + b_j) // 2``.
The output layer returns the integer scores ``s_j = c_j - 2 popcount(x XOR w_j)`` with
``c_j = n + b_j``.

Memory layout of one network (see :class:`genome.nets.layout.Layout`), all in one
flat ``uint64`` array ``weights`` and one flat ``int32`` array ``thresholds``:

* hidden layer ``l`` (``n_in`` inputs in ``nw`` words, ``n_out`` units padded to
  blocks of 64): block ``k``, input word ``w``, unit ``j`` of the block is
  ``weights[w_off[l] + (k * nw + w) * 64 + j]``; thresholds ``thresholds[t_off[l] + k*64 + j]``.
  Padding units have zero weights and threshold -1, so they never fire and the
  padding bits of every hidden activation are 0.
* output layer: unit ``j``, word ``w`` is ``weights[w_off[L-1] + j * nw + w]`` and
  ``thresholds[t_off[L-1] + j] = c_j``.

A block of 64 hidden units is evaluated by :func:`block64`, an explicit LLVM vector
operation (64 lanes of XOR + ``ctpop``, accumulated over input words, one vector
compare, the ``<64 x i1>`` mask bitcast to a ``uint64``). LLVM lowers it to
``vpopcntq``/``vpcmpd`` on AVX-512 and to shuffles on AVX2/NEON; no C compiler
or CUDA toolkit is involved.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

_I64 = ir.IntType(64)
_I32 = ir.IntType(32)
_V64 = ir.VectorType(_I64, 64)
_V32 = ir.VectorType(_I32, 64)

#: Rows of a batch handled by one parallel task (each task owns its scratch buffer).
CHUNK_ROWS = 2048


@intrinsic
def popcount(typingctx, x):
    """Number of set bits of a 64-bit integer (LLVM ``ctpop``), as int64."""
    if not isinstance(x, types.Integer):
        return None
    sig = types.int64(x)

    def codegen(context, builder, signature, args):
        value = context.cast(builder, args[0], signature.args[0], types.uint64)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(_I64, [_I64]), "llvm.ctpop.i64"
        )
        return builder.call(fn, [value])

    return sig, codegen


def _is_c_array(t, dtype) -> bool:
    return isinstance(t, types.Array) and t.ndim == 1 and t.layout == "C" and t.dtype == dtype


@intrinsic
def block64(typingctx, weights, w_offset, x, n_words, thresholds, t_offset):
    """Activation word of a block of 64 hidden units.

    Bit ``j`` of the result is 1 iff
    ``sum_w popcount(x[w] ^ weights[w_offset + w*64 + j]) <= thresholds[t_offset + j]``.
    ``weights``/``x`` are C-contiguous 1-D ``uint64`` arrays, ``thresholds`` 1-D ``int32``;
    ``n_words >= 1``. No bounds checks: the caller guarantees the offsets.
    """
    if not (
        _is_c_array(weights, types.uint64)
        and _is_c_array(x, types.uint64)
        and _is_c_array(thresholds, types.int32)
        and all(isinstance(t, types.Integer) for t in (w_offset, n_words, t_offset))
    ):
        return None
    sig = types.uint64(weights, w_offset, x, n_words, thresholds, t_offset)

    def codegen(context, builder, signature, args):
        w_arr, w_off, x_arr, nw, t_arr, t_off = args
        a_w, _, a_x, _, a_t, _ = signature.args
        w_off = context.cast(builder, w_off, signature.args[1], types.int64)
        nw = context.cast(builder, nw, signature.args[3], types.int64)
        t_off = context.cast(builder, t_off, signature.args[5], types.int64)
        w_data = context.make_array(a_w)(context, builder, w_arr).data
        x_data = context.make_array(a_x)(context, builder, x_arr).data
        t_data = context.make_array(a_t)(context, builder, t_arr).data
        ctpop = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(_V64, [_V64]), "llvm.ctpop.v64i64"
        )
        entry = builder.basic_block
        loop = builder.append_basic_block("block64.loop")
        done = builder.append_basic_block("block64.done")
        builder.branch(loop)

        builder.position_at_end(loop)
        i = builder.phi(_I64)
        acc = builder.phi(_V64)
        i.add_incoming(ir.Constant(_I64, 0), entry)
        acc.add_incoming(ir.Constant(_V64, None), entry)
        xw = builder.load(builder.gep(x_data, [i]))
        splat = builder.insert_element(ir.Constant(_V64, ir.Undefined), xw, ir.Constant(_I32, 0))
        splat = builder.shuffle_vector(
            splat, ir.Constant(_V64, ir.Undefined), ir.Constant(ir.VectorType(_I32, 64), None)
        )
        w_ptr = builder.gep(w_data, [builder.add(w_off, builder.mul(i, ir.Constant(_I64, 64)))])
        w_vec = builder.load(builder.bitcast(w_ptr, _V64.as_pointer()), align=8)
        acc_next = builder.add(acc, builder.call(ctpop, [builder.xor(w_vec, splat)]))
        i_next = builder.add(i, ir.Constant(_I64, 1))
        i.add_incoming(i_next, loop)
        acc.add_incoming(acc_next, loop)
        builder.cbranch(builder.icmp_signed("<", i_next, nw), loop, done)

        builder.position_at_end(done)
        t_ptr = builder.gep(t_data, [t_off])
        t_vec = builder.load(builder.bitcast(t_ptr, _V32.as_pointer()), align=4)
        fires = builder.icmp_signed("<=", builder.trunc(acc_next, _V32), t_vec)
        return builder.bitcast(fires, _I64)

    return sig, codegen


@njit(cache=True, inline="always", boundscheck=False, nogil=True)
def n_words(n_bits):
    """Number of uint64 words holding ``n_bits`` bits."""
    return (n_bits + 63) >> 6


@njit(cache=True, boundscheck=False, nogil=True)
def max_words(sizes):
    """Scratch words needed by :func:`forward_one` for a network with these layer sizes."""
    m = 1
    for s in sizes:
        w = (s + 63) >> 6
        if w > m:
            m = w
    return m


@njit(cache=True, inline="always", boundscheck=False, nogil=True)
def forward_one(weights, thresholds, sizes, w_offsets, t_offsets, x, scratch, scores):
    """One forward pass: packed input words ``x`` -> integer output ``scores``.

    ``scratch`` is a ``(2, max_words(sizes))`` uint64 array owned by the caller.
    Padding bits of the last input word are masked, so they never change a result.
    """
    n_layers = sizes.shape[0] - 1
    nw0 = n_words(sizes[0])
    for k in range(nw0):
        scratch[0, k] = x[k]
    rem = sizes[0] & 63
    if rem != 0:
        scratch[0, nw0 - 1] &= (np.uint64(1) << np.uint64(rem)) - np.uint64(1)
    cur = 0
    for layer in range(n_layers - 1):
        nw = n_words(sizes[layer])
        src = scratch[cur]
        dst = scratch[1 - cur]
        for k in range(n_words(sizes[layer + 1])):
            dst[k] = block64(
                weights, w_offsets[layer] + k * nw * 64, src, nw, thresholds, t_offsets[layer] + k * 64
            )
        cur = 1 - cur
    last = n_layers - 1
    nw = n_words(sizes[last])
    src = scratch[cur]
    w0 = w_offsets[last]
    t0 = t_offsets[last]
    for j in range(sizes[n_layers]):
        pc = 0
        base = w0 + j * nw
        for w in range(nw):
            pc += popcount(src[w] ^ weights[base + w])
        scores[j] = thresholds[t0 + j] - 2 * pc


@njit(cache=True, inline="always", boundscheck=False, nogil=True)
def _batch_chunk(chunk, weights, thresholds, sizes, w_offsets, t_offsets, x, out):
    """Rows ``[chunk*CHUNK_ROWS, (chunk+1)*CHUNK_ROWS)`` of a batch, with their own scratch."""
    scratch = np.empty((2, max_words(sizes)), dtype=np.uint64)
    stop = min(x.shape[0], (chunk + 1) * CHUNK_ROWS)
    for r in range(chunk * CHUNK_ROWS, stop):
        forward_one(weights, thresholds, sizes, w_offsets, t_offsets, x[r], scratch, out[r])


@njit(cache=True, inline="always", boundscheck=False, nogil=True)
def _population_member(m, weights, thresholds, sizes, w_offsets, t_offsets, x, out):
    """All inputs ``x[m, :]`` of member ``m`` through its own weights row."""
    scratch = np.empty((2, max_words(sizes)), dtype=np.uint64)
    wm = weights[m]
    tm = thresholds[m]
    for b in range(x.shape[1]):
        forward_one(wm, tm, sizes, w_offsets, t_offsets, x[m, b], scratch, out[m, b])


# Serial and parallel variants are separate functions on purpose: numba's on-disk cache is
# keyed by function name and line, not by the ``parallel`` flag, so one Python function
# wrapped twice would load whichever variant was compiled first for both.


@njit(cache=True, boundscheck=False, nogil=True)
def forward_batch(weights, thresholds, sizes, w_offsets, t_offsets, x, out):
    """``out[r] = forward(x[r])`` for every row of a packed batch ``x`` (rows, words); one thread."""
    for c in range((x.shape[0] + CHUNK_ROWS - 1) // CHUNK_ROWS):
        _batch_chunk(c, weights, thresholds, sizes, w_offsets, t_offsets, x, out)


@njit(cache=True, boundscheck=False, nogil=True, parallel=True)
def forward_batch_parallel(weights, thresholds, sizes, w_offsets, t_offsets, x, out):
    """:func:`forward_batch` with chunks of rows spread over numba's threads."""
    for c in prange((x.shape[0] + CHUNK_ROWS - 1) // CHUNK_ROWS):
        _batch_chunk(c, weights, thresholds, sizes, w_offsets, t_offsets, x, out)


@njit(cache=True, boundscheck=False, nogil=True)
def forward_population(weights, thresholds, sizes, w_offsets, t_offsets, x, out):
    """Population form: member ``m`` (row ``m`` of ``weights``/``thresholds``) maps each of its
    own inputs ``x[m, b]`` (members, batch, words) to ``out[m, b]``; one thread."""
    for m in range(x.shape[0]):
        _population_member(m, weights, thresholds, sizes, w_offsets, t_offsets, x, out)


@njit(cache=True, boundscheck=False, nogil=True, parallel=True)
def forward_population_parallel(weights, thresholds, sizes, w_offsets, t_offsets, x, out):
    """:func:`forward_population` with members spread over numba's threads."""
    for m in prange(x.shape[0]):
        _population_member(m, weights, thresholds, sizes, w_offsets, t_offsets, x, out)
