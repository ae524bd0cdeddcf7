"""``pow``/``powf`` exactly as NumPy and Python compute them, callable from numba kernels.

Gymnasium's environments square NumPy scalars with ``x ** 2``, which calls the C
library's ``pow`` (``powf`` for float32). glibc's ``pow(x, 2)`` is occasionally one ulp
away from the correctly rounded ``x * x`` that LLVM substitutes for ``pow(x, 2.0)``, and
in a chaotic system (Acrobot) one ulp grows into a different trajectory within a few
hundred steps. So the kernels call the platform's functions through symbol names LLVM
does not know, which it therefore cannot rewrite.
"""

from __future__ import annotations

import ctypes
import ctypes.util

import llvmlite.binding as llvm
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


def _load(function: str) -> int | None:
    for name in (ctypes.util.find_library("m"), ctypes.util.find_library("c"), "ucrtbase", "msvcrt"):
        if not name:
            continue
        try:
            return ctypes.cast(getattr(ctypes.CDLL(name), function), ctypes.c_void_p).value
        except (OSError, AttributeError):
            continue
    return None


def _pow_intrinsic(function: str, nb_type, ir_type):
    address = _load(function)
    symbol = f"genome_libm_{function}"
    if address is not None:
        llvm.add_symbol(symbol, address)

    def typer(typingctx, x, y):
        if not (isinstance(x, (types.Float, types.Integer)) and isinstance(y, (types.Float, types.Integer))):
            return None
        sig = nb_type(x, y)

        def codegen(context, builder, signature, args):
            xv = context.cast(builder, args[0], signature.args[0], nb_type)
            yv = context.cast(builder, args[1], signature.args[1], nb_type)
            if address is None:  # no C library found: LLVM's own pow
                fn = builder.module.declare_intrinsic("llvm.pow", [ir_type])
            else:
                fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir_type, [ir_type, ir_type]), symbol)
            return builder.call(fn, [xv, yv])

        return sig, codegen

    typer.__name__ = f"libm_{function}"
    return intrinsic(typer)


#: ``pow(x, y)`` in float64 from the C library: what ``np.float64(x) ** y`` returns.
libm_pow = _pow_intrinsic("pow", types.float64, ir.DoubleType())
#: ``powf(x, y)`` in float32 from the C library: what ``np.float32(x) ** y`` returns.
libm_powf = _pow_intrinsic("powf", types.float32, ir.FloatType())


_SINCOS = _load("sincos")
if _SINCOS is not None:
    llvm.add_symbol("genome_libm_sincos", _SINCOS)


@intrinsic
def libm_sincos(typingctx, x):
    """``(sin(x), cos(x))`` from one call of the C library's ``sincos`` (one range reduction;
    bit-identical to separate ``sin``/``cos`` calls, which the environment tests check)."""
    if not isinstance(x, (types.Float, types.Integer)):
        return None
    sig = types.UniTuple(types.float64, 2)(x)

    def codegen(context, builder, signature, args):
        xv = context.cast(builder, args[0], signature.args[0], types.float64)
        dbl = ir.DoubleType()
        if _SINCOS is None:  # no C library: LLVM's sin and cos
            s = builder.call(builder.module.declare_intrinsic("llvm.sin", [dbl]), [xv])
            c = builder.call(builder.module.declare_intrinsic("llvm.cos", [dbl]), [xv])
        else:
            s_ptr = cgutils.alloca_once(builder, dbl)
            c_ptr = cgutils.alloca_once(builder, dbl)
            fnty = ir.FunctionType(ir.VoidType(), [dbl, dbl.as_pointer(), dbl.as_pointer()])
            builder.call(cgutils.get_or_insert_function(builder.module, fnty, "genome_libm_sincos"), [xv, s_ptr, c_ptr])
            s, c = builder.load(s_ptr), builder.load(c_ptr)
        return context.make_tuple(builder, signature.return_type, (s, c))

    return sig, codegen
