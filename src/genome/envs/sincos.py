r"""``sin`` and ``cos`` of small angles, inline, with the C library's bits.

CartPole calls ``sin`` and ``cos`` of the pole angle every step, and through the C library
(an opaque call, two table-driven evaluations) that was the largest single cost of a fused
CartPole step. For ``|x| <= 0.25`` (CartPole's angle never leaves ``[-0.21, 0.21]`` during
an episode) :func:`sincos` evaluates both as double-double Taylor series:

.. math::

    \sin x = x + x^3 \left(-\tfrac{1}{6} + z P(z)\right), \qquad
    \cos x = 1 - \tfrac{z}{2} + z^2 Q(z), \qquad z = x^2,

with ``x^2``, ``x^3`` and the leading terms carried exactly (``fma`` products, Fast2Sum),
so each result ``r`` comes with its remainder ``lo = value - r`` known to about
``1e-4`` ulp. ``r`` is then the correctly rounded value, and it is returned only when it is
also what glibc returns: glibc is within about 0.52 ulp of the true value here (see the
margins below), so whenever the true value lies farther than the margin from the midpoint
between two doubles, glibc can only return the nearest double, ``r``. Otherwise -- a few percent of
calls, and every ``|x| > 0.25``, NaN, infinity or ``|x| < 2**-26`` -- the C library is
called. The result is therefore bit-identical to ``math.sin``/``math.cos`` (the
environment tests check it on millions of angles and on whole episodes against
Gymnasium); on a C library less accurate than glibc's the fallback still returns its bits
near midpoints, and elsewhere the correctly rounded value.
"""

from fractions import Fraction

from numba import njit

from genome.envs.libm import libm_sincos
from genome.intrinsics import fma, ulp

#: Largest |x| evaluated inline.
LIMIT = 0.25
#: Smallest |x| evaluated inline (below it glibc returns sin x = x, keeping the sign of 0).
TINY = 2.0**-26
#: -1/6 as an unevaluated sum of two doubles.
S3_HI = -1.0 / 6.0
S3_LO = float(Fraction(-1, 6) - Fraction(S3_HI))
S5, S7, S9, S11, S13 = 1.0 / 120.0, -1.0 / 5040.0, 1.0 / 362880.0, -1.0 / 39916800.0, 1.0 / 6227020800.0
C4, C6, C8, C10, C12 = 1.0 / 24.0, -1.0 / 720.0, 1.0 / 40320.0, -1.0 / 3628800.0, 1.0 / 479001600.0
#: Margins (ulp) around the midpoint between two doubles, about twice the largest excess
#: over 0.5 ulp of glibc 2.36 (x86-64, FMA) measured on 2.2e8 angles in [-0.25, 0.25]
#: (benchmarks/sincos_margins.py): 0.5083 ulp for sin below 0.126, 0.5155 above, 0.5015
#: for cos. The remainder's own error is about 1e-4 ulp.
MARGIN_SIN_SMALL = 0.02
MARGIN_SIN = 0.03
MARGIN_COS = 0.005


@njit(cache=True, inline="always", nogil=True, error_model="numpy")
def _rounds_to(r, lo, margin):
    """True when every value within ``margin`` ulp of ``r + lo`` rounds to ``r``."""
    e = margin * ulp(r)
    return r + (lo + e) == r and r + (lo - e) == r


@njit(cache=True, inline="always", nogil=True, error_model="numpy")
def cos_dd(z, zl, z2, z4):
    """``cos x = r + lo`` from ``x*x = z + zl`` (exactly) and ``z2 = z*z``, ``z4 = z2*z2``:
    ``(1 - z/2)`` with its rounding error and that of ``z`` carried, plus ``z^2 C(z)``."""
    hz = 0.5 * z
    w = 1.0 - hz
    rt = z2 * ((C4 + z * C6) + z2 * (C8 + z * C10) + z4 * C12)
    cl = (((1.0 - w) - hz) - 0.5 * zl) + rt
    rc = w + cl
    return rc, cl - (rc - w)


@njit(cache=True, inline="always", nogil=True, error_model="numpy")
def sin_dd(x, z, zl):
    """``sin x = r + lo`` (``r`` a double, ``lo`` the remainder, to about 1e-4 ulp) from
    ``x*x = z + zl``: ``x + x^3 (-1/6 + z P(z))`` with ``x^3`` and ``-1/6`` carried exactly."""
    tail = z * (S5 + z * (S7 + z * (S9 + z * (S11 + z * S13))))
    qh = S3_HI + tail
    ql = ((S3_HI - qh) + tail) + S3_LO
    x3h = x * z
    x3l = fma(x, z, -x3h) + x * zl
    th = x3h * qh
    tl = fma(x3h, qh, -th) + (x3h * ql + x3l * qh)
    s = x + th
    e = ((x - s) + th) + tl
    rs = s + e
    return rs, e - (rs - s)


@njit(cache=True, inline="always", nogil=True, error_model="numpy")
def sincos_inline(x):
    """``(sin x, cos x, exact)`` for ``TINY <= |x| <= LIMIT``; ``exact`` is False when the
    caller must ask the C library instead.

    Polynomials use Estrin's scheme (few dependent operations: a CartPole episode is one
    long dependency chain). The sine returned is the plain-double ``x + x z P(z)``; its
    double-double twin only decides ``exact``, a well-predicted branch, so that longer
    computation stays off the critical path.
    """
    z = x * x
    z2 = z * z
    z4 = z2 * z2
    zl = fma(x, x, -z)
    # sin in plain doubles: x + x z P(z)
    p = (S3_HI + z * S5) + z2 * (S7 + z * S9) + z4 * (S11 + z * S13)
    sin_fast = x + (x * z) * p
    rc, loc = cos_dd(z, zl, z2, z4)
    rs, los = sin_dd(x, z, zl)
    margin = MARGIN_SIN_SMALL if abs(x) < 0.126 else MARGIN_SIN
    exact = sin_fast == rs and _rounds_to(rs, los, margin) and _rounds_to(rc, loc, MARGIN_COS)
    return sin_fast, rc, exact


@njit(cache=True, inline="always", nogil=True, error_model="numpy")
def sincos(x):
    """``(sin x, cos x)``, bit-identical to the C library's (inline for small ``|x|``)."""
    if TINY <= abs(x) <= LIMIT:
        s, c, exact = sincos_inline(x)
        if exact:
            return s, c
    return libm_sincos(x)
