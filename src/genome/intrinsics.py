"""LLVM-level building blocks for the kernels, written with numba's ``@intrinsic``.

* :func:`popcount` -- ``llvm.ctpop.i64``.
* :func:`block64` -- 64 hidden units of a binary layer in one vector operation.
* :func:`block64_word` -- the same for a one-word input held in a register.
* :func:`block64_word_t` -- the same for a block stored transposed, compared bytewise.
* :func:`ge_mask64` / :func:`ge_mask16` -- 64 (16) float32 comparisons against one value, as a bit mask.
* :func:`splat`, :func:`ctpop64` -- IR helpers the intrinsics above share (and
  benchmarks/forward.py's popcount ceiling, so it measures the kernels' own vector shape).
* :func:`fma` -- ``llvm.fma.f64``, ``a * b + c`` with one rounding (exact products).
* :func:`ulp` -- the spacing of doubles at a value's binade, from its exponent bits.

Each emits portable LLVM IR (vectors of 64 lanes); LLVM lowers it to AVX-512
(``vpopcntq``, ``vpcmpd``/``vcmpps`` into mask registers), AVX2 or NEON sequences. No C
compiler or CUDA toolkit is involved.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_I64 = ir.IntType(64)
_I32 = ir.IntType(32)
_V64 = ir.VectorType(_I64, 64)
_V32 = ir.VectorType(_I32, 64)
_F32 = ir.FloatType()
_VF = ir.VectorType(_F32, 64)

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


def splat(builder, value, vtype):
    """``value`` in every lane of a vector of type ``vtype`` (insert + zero-mask shuffle, which
    LLVM lowers to one broadcast)."""
    lanes = ir.Constant(ir.VectorType(_I32, vtype.count), None)
    return builder.shuffle_vector(builder.insert_element(ir.Constant(vtype, ir.Undefined), value, ir.Constant(_I32, 0)),
                                  ir.Constant(vtype, ir.Undefined), lanes)


def ctpop64(builder, vec):
    """``llvm.ctpop`` of a ``<64 x i64>`` vector: 64 popcounts in one operation."""
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_V64, [_V64]), "llvm.ctpop.v64i64")
    return builder.call(fn, [vec])


def _fires(context, builder, counts, t_vec):
    """``counts <= thresholds`` for 64 lanes (``<64 x i64>`` popcounts, ``<64 x i32>``
    thresholds) as a 64-bit mask. With AVX-512 the compare runs on the 64-bit lanes with the
    thresholds sign-extended (``vpmovsxdq`` + ``vpcmpq`` into mask registers: 8-10% more
    forward passes/s than truncating the counts); on AVX2 the counts are truncated to 32 bits
    instead (the 64-bit compare there costs 25%; benchmarks/forward.py, both measured on one
    core with ``NUMBA_CPU_NAME``/``NUMBA_CPU_FEATURES`` selecting the target). The choice
    follows the target's features, which are part of numba's cache key."""
    if "+avx512f" in context.codegen().magic_tuple()[2].split(","):
        return builder.bitcast(builder.icmp_signed("<=", counts, builder.sext(t_vec, _V64)), _I64)
    return builder.bitcast(builder.icmp_signed("<=", builder.trunc(counts, _V32), t_vec), _I64)


@intrinsic
def block64(typingctx, weights, w_offset, x, x_offset, n_words, thresholds, t_offset):
    """Activation word of a block of 64 hidden units.

    Bit ``j`` of the result is 1 iff
    ``sum_w popcount(x[x_offset + w] ^ weights[w_offset + w*64 + j]) <= thresholds[t_offset + j]``.
    ``weights``/``x`` are C-contiguous 1-D ``uint64`` arrays, ``thresholds`` 1-D ``int32``;
    ``n_words >= 1``. No bounds checks: the caller guarantees the offsets.
    """
    if not (
        _is_c_array(weights, types.uint64)
        and _is_c_array(x, types.uint64)
        and _is_c_array(thresholds, types.int32)
        and all(isinstance(t, types.Integer) for t in (w_offset, x_offset, n_words, t_offset))
    ):
        return None
    sig = types.uint64(weights, w_offset, x, x_offset, n_words, thresholds, t_offset)

    def codegen(context, builder, signature, args):
        w_arr, w_off, x_arr, x_off, nw, t_arr, t_off = args
        a_w, _, a_x, _, _, a_t, _ = signature.args
        w_off = context.cast(builder, w_off, signature.args[1], types.int64)
        x_off = context.cast(builder, x_off, signature.args[3], types.int64)
        nw = context.cast(builder, nw, signature.args[4], types.int64)
        t_off = context.cast(builder, t_off, signature.args[6], types.int64)
        w_data = context.make_array(a_w)(context, builder, w_arr).data
        x_data = context.make_array(a_x)(context, builder, x_arr).data
        t_data = context.make_array(a_t)(context, builder, t_arr).data
        entry = builder.basic_block
        loop = builder.append_basic_block("block64.loop")
        done = builder.append_basic_block("block64.done")
        builder.branch(loop)

        builder.position_at_end(loop)
        i = builder.phi(_I64)
        acc = builder.phi(_V64)
        i.add_incoming(ir.Constant(_I64, 0), entry)
        acc.add_incoming(ir.Constant(_V64, None), entry)
        xw = builder.load(builder.gep(x_data, [builder.add(x_off, i)]))
        w_ptr = builder.gep(w_data, [builder.add(w_off, builder.mul(i, ir.Constant(_I64, 64)))])
        w_vec = builder.load(builder.bitcast(w_ptr, _V64.as_pointer()), align=8)
        acc_next = builder.add(acc, ctpop64(builder, builder.xor(w_vec, splat(builder, xw, _V64))))
        i_next = builder.add(i, ir.Constant(_I64, 1))
        i.add_incoming(i_next, loop)
        acc.add_incoming(acc_next, loop)
        builder.cbranch(builder.icmp_signed("<", i_next, nw), loop, done)

        builder.position_at_end(done)
        t_ptr = builder.gep(t_data, [t_off])
        t_vec = builder.load(builder.bitcast(t_ptr, _V32.as_pointer()), align=4)
        return _fires(context, builder, acc_next, t_vec)

    return sig, codegen


def _word_block(name: str, threshold_dtype, finish, doc: str):
    """An intrinsic ``name(weights, w_offset, x, thresholds, t_offset) -> uint64`` for a block of
    64 units on a one-word input ``x``: the ``<64 x i64>`` popcounts of
    ``x ^ weights[w_offset : w_offset + 64]`` go to ``finish(context, builder, counts, t_data,
    t_offset)``, which compares them with the thresholds (``threshold_dtype`` elements at
    ``t_data + t_offset``) and returns the activation word."""

    def typer(typingctx, weights, w_offset, x, thresholds, t_offset):
        if not (
            _is_c_array(weights, types.uint64)
            and isinstance(x, types.Integer)
            and _is_c_array(thresholds, threshold_dtype)
            and isinstance(w_offset, types.Integer)
            and isinstance(t_offset, types.Integer)
        ):
            return None
        sig = types.uint64(weights, w_offset, x, thresholds, t_offset)

        def codegen(context, builder, signature, args):
            w_arr, w_off, xw, t_arr, t_off = args
            a_w, _, a_x, a_t, _ = signature.args
            w_off = context.cast(builder, w_off, signature.args[1], types.int64)
            t_off = context.cast(builder, t_off, signature.args[4], types.int64)
            xw = context.cast(builder, xw, a_x, types.uint64)
            w_data = context.make_array(a_w)(context, builder, w_arr).data
            t_data = context.make_array(a_t)(context, builder, t_arr).data
            w_vec = builder.load(builder.bitcast(builder.gep(w_data, [w_off]), _V64.as_pointer()), align=8)
            counts = ctpop64(builder, builder.xor(w_vec, splat(builder, xw, _V64)))
            return finish(context, builder, counts, t_data, t_off)

        return sig, codegen

    typer.__name__ = name
    typer.__doc__ = doc
    return intrinsic(typer)


def _wide_compare(context, builder, counts, t_data, t_off):
    t_vec = builder.load(builder.bitcast(builder.gep(t_data, [t_off]), _V32.as_pointer()), align=4)
    return _fires(context, builder, counts, t_vec)


_V8 = ir.VectorType(_I64, 8)
_B64 = ir.VectorType(ir.IntType(8), 64)


def _bytewise_compare(context, builder, counts, t_data, t_off):
    v = [builder.shuffle_vector(counts, ir.Constant(_V64, ir.Undefined),
                                ir.Constant(ir.VectorType(_I32, 8), list(range(8 * i, 8 * i + 8)))) for i in range(8)]

    def shifted(a, n):
        return builder.shl(a, ir.Constant(_V8, [n] * 8))

    # byte b of lane l ends up holding v[b][l], which the transposed storage makes unit 8*l + b;
    # ORs grouped by three (AVX-512: vpternlogq)
    terms = [v[0]] + [shifted(v[i], 8 * i) for i in range(1, 8)]
    a = [builder.or_(builder.or_(terms[i], terms[i + 1]), terms[i + 2]) for i in (0, 3)]
    packed = builder.bitcast(builder.or_(builder.or_(a[0], a[1]), builder.or_(terms[6], terms[7])), _B64)
    t_vec = builder.load(builder.bitcast(builder.gep(t_data, [t_off]), _B64.as_pointer()), align=1)
    fires = builder.icmp_signed("<", builder.add(packed, t_vec), ir.Constant(_B64, [0] * 64))
    return builder.bitcast(fires, _I64)


#: :func:`block64` for a one-word input held in a register.
block64_word = _word_block("block64_word", types.int32, _wide_compare, """:func:`block64` for a one-word
    input held in a register: bit ``j`` of the result is 1 iff
    ``popcount(x ^ weights[w_offset + j]) <= thresholds[t_offset + j]``.""")

#: :func:`block64_word` on a block stored transposed, compared bytewise.
block64_word_t = _word_block("block64_word_t", types.int8, _bytewise_compare, """:func:`block64_word`
    on a block stored for it (:func:`genome.nets.kernels.transpose_blocks`):
    ``weights[w_offset + 8*i + l]`` holds unit ``8*l + i``'s weight word and
    ``thresholds[t_offset + j]`` (int8) holds ``-t_j - 1`` with ``t_j`` clamped to ``[-1, 64]``.
    Bit ``j`` of the result is 1 iff ``popcount(x ^ w_j) <= t_j``, as for :func:`block64_word`.

    The 64 popcounts (8 vectors of 8 lanes) are packed into the 64 bytes of one vector by
    shifts and ORs (each count is at most 64, so it fits a byte; the transposed storage makes
    byte ``j`` hold unit ``j``), ``-t_j - 1`` is added bytewise and the 64 sign bits are the
    result (AVX-512: one ``vpmovb2m``; AVX2: two ``vpmovmskb``). This replaces 64 wide
    compares and the mask-register merges, which on AVX-512 cores all queue on one execution
    port: 98.6-105.7 vs 71-76 M forward passes/s for 64-64-64-2 on one AVX-512 core, 27-29 vs
    22-25 M for AVX2 code on the same core (README, "Forward passes").""")


def _ge_mask(lanes: int):
    vf = ir.VectorType(_F32, lanes)

    def typer(typingctx, edges, offset, value):
        if not (
            isinstance(edges, types.Array)
            and edges.ndim == 1
            and edges.layout == "C"
            and edges.dtype == types.float32
            and isinstance(offset, types.Integer)
            and value == types.float32
        ):
            return None
        sig = types.uint64(edges, offset, value)

        def codegen(context, builder, signature, args):
            arr, off, v = args
            data = context.make_array(signature.args[0])(context, builder, arr).data
            off = context.cast(builder, off, signature.args[1], types.int64)
            vec = builder.load(builder.bitcast(builder.gep(data, [off]), vf.as_pointer()), align=4)
            mask = builder.bitcast(builder.fcmp_ordered(">=", splat(builder, v, vf), vec), ir.IntType(lanes))
            return mask if lanes == 64 else builder.zext(mask, _I64)

        return sig, codegen

    typer.__name__ = f"ge_mask{lanes}"
    typer.__doc__ = f"""Bit ``i`` of the result is ``value >= edges[offset + i]`` for ``i < {lanes}`` (float32,
    ordered: false against NaN). ``edges`` is a C-contiguous 1-D float32 array."""
    return intrinsic(typer)


#: 64 float32 comparisons of one value against ``edges[offset:offset + 64]``, as a bit mask.
ge_mask64 = _ge_mask(64)
#: The same for 16 edges (one AVX-512 compare), for dimensions with at most 16 edges.
ge_mask16 = _ge_mask(16)


_F64 = ir.DoubleType()


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` rounded once (LLVM ``llvm.fma.f64``: one instruction on CPUs with FMA)."""
    if not all(isinstance(t, types.Float) for t in (a, b, c)):
        return None
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        fn = builder.module.declare_intrinsic("llvm.fma", [_F64], ir.FunctionType(_F64, [_F64, _F64, _F64]))
        return builder.call(fn, list(args))

    return sig, codegen


@intrinsic
def ulp(typingctx, x):
    """``2**(e - 52)`` for a finite normal double ``x`` with exponent ``e``: the spacing of
    doubles in ``x``'s binade, ``np.spacing(abs(x))``."""
    if not isinstance(x, types.Float):
        return None
    sig = types.float64(types.float64)

    def codegen(context, builder, signature, args):
        bits = builder.and_(builder.bitcast(args[0], _I64), ir.Constant(_I64, 0x7FF0000000000000))
        return builder.fmul(builder.bitcast(bits, _F64), ir.Constant(_F64, 2.0**-52))

    return sig, codegen
