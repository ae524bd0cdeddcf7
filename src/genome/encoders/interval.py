"""Per-dimension bucket encoders: thermometer, one-hot, and sign of deviation.

All three share one numba kernel (:func:`genome.encoders.kernels.encode_buckets_into`):
each dimension has sorted edges; a thermometer sets bit ``i`` iff ``x >= edge_i``, a
one-hot code sets the single bit of the bucket ``x`` falls in (float32 comparisons).

Examples (one line each)::

    ThermometerEncoder.uniform([-1.0], [1.0], 3).encode_bits([0.1])   # edges -0.5, 0, 0.5 -> [1, 1, 0]
    OneHotEncoder.uniform([-1.0], [1.0], 4).encode_bits([0.1])        # buckets split at -0.5, 0, 0.5 -> [0, 0, 1, 0]
    SignEncoder([0.0, 0.0]).encode_bits([0.3, -2.0])                  # x >= center -> [1, 0]
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

from genome.encoders.base import Encoder
from genome.encoders.kernels import CHUNK, DITHER_LEVELS, dither_levels, encode_buckets_batch, passed_edges_batch
from genome.errors import ShapeError

#: A space bound at or beyond this magnitude counts as unbounded (Gymnasium often uses
#: ``np.finfo(np.float32).max`` or ``inf`` for "no bound").
UNBOUNDED = 1e10

#: how a dimension's edges are stored: bounds (edges strictly inside), every edge, or lo + k step
_UNIFORM, _EXPLICIT, _STEPPED = 0, 1, 2


def _f32(values) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(values, dtype=np.float64).astype(np.float32).reshape(-1))


def _round_mantissa(x: np.ndarray, bits: int) -> np.ndarray:
    """float32 ``x`` rounded toward zero to ``bits`` significant bits (of float32's 24)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    return (u & np.uint32((0xFFFFFFFF << (24 - bits)) & 0xFFFFFFFF)).view(np.float32)


def uniform_edges(lo: float, step: float, n: int) -> np.ndarray:
    """``n`` float32 edges ``lo + k step`` (``k = 0 .. n-1``) that C computes to the same bits:
    ``step`` keeps ``24 - bit_length(n - 1)`` significant bits, so ``k step`` is exact in
    float32 and ``lo + k step`` rounds once, fused or not (:func:`uniform_steps` finds them
    again, and the C export stores two floats per dimension instead of ``n``)."""
    bits = 24 - max(n - 1, 1).bit_length()
    s = _round_mantissa(np.array([step], np.float32), bits)[0]
    return np.float32(lo) + np.arange(n, dtype=np.float32) * s


def uniform_steps(edges) -> tuple[np.float32, np.float32] | None:
    """``(lo, step)`` with ``edges == lo + k step`` computed as :func:`uniform_edges` does (float32,
    ``step`` with ``24 - bit_length(n - 1)`` significant bits), or None when there is none -- or
    when ``|lo| / step`` is so large (beyond ~10^4) that the search gives up."""
    e = np.ascontiguousarray(edges, dtype=np.float32)
    n = e.shape[0]
    if n == 0 or not np.all(np.isfinite(e)):
        return None
    lo, k = e[0], np.arange(n, dtype=np.float32)
    if np.all(e == lo):
        return lo, np.float32(0.0)
    bits = 24 - max(n - 1, 1).bit_length()
    span = float(e[-1]) - float(e[0])
    slack = float(np.spacing(np.abs(e[-1]))) + float(np.spacing(np.abs(e[0])))
    low, high = (span - slack) / (n - 1), (span + slack) / (n - 1)
    if high <= 0:
        return None
    # every gap of lo + k step, each edge rounded once, is step within an ulp of the ends: edges
    # whose gaps differ by more are not evenly spaced (the quick answer for quantile edges)
    if np.max(np.abs(np.diff(e.astype(np.float64)) - span / (n - 1))) > 2 * slack:
        return None
    # the step's grid points nearest the span's estimate first, within its rounding slack
    mid = _round_mantissa(np.array([span / (n - 1)], np.float32), bits)[0]
    unit = 2.0 ** (np.frexp(mid)[1] - bits)
    for j in range(128):
        step = np.float32(float(mid) + (j // 2 + 1 if j % 2 else -(j // 2)) * unit)
        if low - unit <= float(step) <= high + unit and step > 0 and np.array_equal(lo + k * step, e):
            return lo, step
    return None


class IntervalEncoder(Encoder):
    """Shared machinery: per-dimension sorted edges -> a table of (dim, lo, hi) per bit."""

    def __init__(self, edges: Sequence[Sequence[float]], bounds: Sequence[tuple[float, float] | None] | None = None):
        self.edges = tuple(_f32(e) for e in edges)
        if not self.edges:
            raise ShapeError(f"{self.name} encoder needs at least one dimension")
        for d, e in enumerate(self.edges):
            if not np.all(np.isfinite(e)):
                raise ShapeError(f"{self.name} encoder: edges of dimension {d} must be finite, got {e}")
            if np.any(np.diff(e) < 0):
                raise ShapeError(f"{self.name} encoder: edges of dimension {d} must be sorted, got {e}")
        # ``bounds[d] = (lo, hi)`` records that dimension d's edges are uniform over [lo, hi]
        # (so the file stores 10 bytes instead of every edge).
        self.bounds = tuple(bounds) if bounds is not None else (None,) * len(self.edges)
        self.n_inputs = len(self.edges)
        bits = [e.shape[0] + self._extra_bits for e in self.edges]
        self.bit_offsets = np.concatenate([[0], np.cumsum(bits)]).astype(np.int64)
        self.n_bits = int(self.bit_offsets[-1])
        if self.n_bits == 0:
            raise ShapeError(f"{self.name} encoder produces no bits")
        # kernel layout: each dimension's edges in 64-lane chunks padded with NaN
        self.edge_counts = np.array([e.shape[0] for e in self.edges], dtype=np.int64)
        chunks = (self.edge_counts + CHUNK - 1) // CHUNK
        self.chunk_starts = np.concatenate([[0], np.cumsum(chunks)[:-1]]).astype(np.int64) * CHUNK
        self.padded_edges = np.full(max(int(chunks.sum()), 1) * CHUNK, np.nan, dtype=np.float32)
        for d, e in enumerate(self.edges):
            self.padded_edges[self.chunk_starts[d] : self.chunk_starts[d] + e.shape[0]] = e

    @property
    def onehot(self) -> bool:
        return self._extra_bits == 1

    def kernel_tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
        """``(bit_offsets, chunk_starts, edge_counts, padded_edges, onehot)`` for the kernels."""
        return self.bit_offsets, self.chunk_starts, self.edge_counts, self.padded_edges, self.onehot

    # subclasses: how many edges n bits need
    #: bits per dimension minus edges per dimension (one-hot has one more bucket than edges)
    _extra_bits = 0

    @classmethod
    def _n_edges(cls, bits: int) -> int:
        return bits - cls._extra_bits

    @classmethod
    def uniform(cls, low: Sequence[float], high: Sequence[float], bits_per_dim: int | Sequence[int]):
        """Evenly spaced edges strictly inside ``[low[d], high[d]]`` for every dimension."""
        low = np.asarray(low, dtype=np.float64).reshape(-1)
        high = np.asarray(high, dtype=np.float64).reshape(-1)
        if low.shape != high.shape:
            raise ShapeError(f"low and high must have the same length, got {low.shape} and {high.shape}")
        bits = np.broadcast_to(np.asarray(bits_per_dim, dtype=np.int64), low.shape)
        edges = [cls._uniform_edges(low[d], high[d], int(bits[d]), d) for d in range(low.shape[0])]
        return cls(edges, bounds=[(float(np.float32(low[d])), float(np.float32(high[d]))) for d in range(low.shape[0])])

    @classmethod
    def _uniform_edges(cls, lo: float, hi: float, bits: int, dim: int) -> np.ndarray:
        lo, hi = float(np.float32(lo)), float(np.float32(hi))
        if bits < 1:
            raise ShapeError(f"{cls.name} encoder: dimension {dim} needs at least 1 bit, got {bits}")
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ShapeError(f"{cls.name} encoder: dimension {dim} needs finite bounds low < high, got [{lo}, {hi}]")
        n = cls._n_edges(bits)
        return _f32(lo + (hi - lo) * np.arange(1, n + 1) / (n + 1))

    @classmethod
    def from_samples(cls, samples, bits_per_dim: int | Sequence[int]):
        """Quantile edges from observed ``samples`` (n, dims): each bucket holds about as many samples."""
        samples = np.asarray(samples, dtype=np.float64)
        if samples.ndim != 2 or samples.shape[0] < 2:
            raise ShapeError(f"samples must be (n >= 2, dims) observations, got shape {samples.shape}")
        bits = np.broadcast_to(np.asarray(bits_per_dim, dtype=np.int64), (samples.shape[1],))
        return cls([cls._quantile_edges(samples[:, d], int(bits[d])) for d in range(samples.shape[1])])

    @classmethod
    def _quantile_edges(cls, column: np.ndarray, bits: int) -> np.ndarray:
        column = column[np.isfinite(column)]
        n = cls._n_edges(bits)
        if column.size == 0:
            return _f32(np.zeros(n))
        return _f32(np.quantile(column, np.arange(1, n + 1) / (n + 1)))

    @classmethod
    def from_space(cls, space, bits_per_dim: int | Sequence[int], samples=None):
        """Edges from a Gymnasium ``Box``: uniform inside finite bounds, quantiles of ``samples``
        for unbounded dimensions (``|bound| >= 1e10`` counts as unbounded)."""
        low = np.asarray(space.low, dtype=np.float64).reshape(-1)
        high = np.asarray(space.high, dtype=np.float64).reshape(-1)
        bits = np.broadcast_to(np.asarray(bits_per_dim, dtype=np.int64), low.shape)
        bounded = (np.abs(low) < UNBOUNDED) & (np.abs(high) < UNBOUNDED)
        if not np.all(bounded) and samples is None:
            dims = np.flatnonzero(~bounded).tolist()
            raise ShapeError(
                f"observation dimensions {dims} are unbounded; pass samples= (observations from the "
                "environment) so the encoder can learn their bucket edges"
            )
        if samples is not None:
            samples = np.asarray(samples, dtype=np.float64).reshape(-1, low.shape[0])
        edges, bounds = [], []
        for d in range(low.shape[0]):
            if bounded[d]:
                edges.append(cls._uniform_edges(low[d], high[d], int(bits[d]), d))
                bounds.append((float(np.float32(low[d])), float(np.float32(high[d]))))
            else:
                edges.append(cls._quantile_edges(samples[:, d], int(bits[d])))
                bounds.append(None)
        return cls(edges, bounds=bounds)

    def _compared(self, obs: np.ndarray) -> np.ndarray:
        """What the edges are compared with: ``obs`` (rows, n_inputs) in float32."""
        return np.ascontiguousarray(obs, dtype=np.float32)

    def _encode_batch(self, obs: np.ndarray, out: np.ndarray) -> None:
        encode_buckets_batch(self._compared(obs), *self.kernel_tables(), out)

    def passed_edges(self, obs) -> np.ndarray:
        """How many of its edges each value passes, int64 ``(batch, n_inputs)``: a
        thermometer's set bits per dimension (a one-hot's bucket), without the bits."""
        batch, _ = self._as_batch(obs)
        out = np.empty(batch.shape, dtype=np.int64)
        passed_edges_batch(self._compared(batch), self.chunk_starts, self.edge_counts, self.padded_edges, out)
        return out

    # ------------------------------------------------------------------ file
    def payload(self) -> bytes:
        parts = [struct.pack("<I", self.n_inputs)]
        for edges, bounds in zip(self.edges, self.bounds):
            if bounds is not None and np.array_equal(
                self._uniform_edges(bounds[0], bounds[1], self._bits_for(edges), 0), edges
            ):
                parts.append(struct.pack("<BffH", _UNIFORM, bounds[0], bounds[1], self._bits_for(edges)))
            elif edges.shape[0] > 2 and (found := uniform_steps(edges)) is not None:
                # evenly spaced running edges (policy.edge_spread): 11 bytes for any count
                parts.append(struct.pack("<BffH", _STEPPED, found[0], found[1], edges.shape[0]))
            else:
                parts.append(struct.pack("<BH", _EXPLICIT, edges.shape[0]) + edges.astype("<f4").tobytes())
        return b"".join(parts)

    @classmethod
    def _bits_for(cls, edges: np.ndarray) -> int:
        return edges.shape[0] + cls._extra_bits

    @classmethod
    def from_payload(cls, reader):
        n_dims = reader.u32(f"{cls.name} dimension count")
        if n_dims == 0 or n_dims > reader.remaining:
            raise reader.fail(f"{cls.name} encoder declares {n_dims} dimensions, which the file cannot hold")
        edges, bounds = [], []
        for d in range(n_dims):
            mode = reader.u8(f"{cls.name} mode of dimension {d}")
            if mode == _UNIFORM:
                lo, hi, bits = reader.unpack("ffH", f"{cls.name} bounds of dimension {d}")
                try:
                    edges.append(cls._uniform_edges(lo, hi, bits, d))
                except ShapeError as exc:
                    raise reader.fail(str(exc)) from None
                bounds.append((lo, hi))
            elif mode == _STEPPED:
                lo, step, n = reader.unpack("ffH", f"{cls.name} steps of dimension {d}")
                if not (np.isfinite(lo) and np.isfinite(step) and step >= 0):
                    raise reader.fail(f"{cls.name} encoder: dimension {d} has edges {lo} + k {step}, which are not finite and sorted")
                edges.append(uniform_edges(lo, step, n))
                bounds.append(None)
            elif mode == _EXPLICIT:
                n = reader.u16(f"{cls.name} edge count of dimension {d}")
                edges.append(np.frombuffer(reader.take(4 * n, f"{cls.name} edges of dimension {d}"), dtype="<f4"))
                bounds.append(None)
            else:
                raise reader.fail(f"unknown edge mode {mode} for dimension {d} of the {cls.name} encoder")
        try:
            return cls(edges, bounds=bounds)
        except ShapeError as exc:
            raise reader.fail(str(exc)) from None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_inputs={self.n_inputs}, n_bits={self.n_bits})"


class ThermometerEncoder(IntervalEncoder):
    """``n`` bits per dimension: bit ``i`` is ``x >= edge_i`` (a unary code of the bucket)."""

    kind = 1
    name = "thermometer"


class DitheredThermometerEncoder(ThermometerEncoder):
    """A thermometer whose input is shifted before the comparisons (dithered quantization,
    Roberts 1962; Schuchman 1964): dimension ``d`` of an observation ``x`` is compared as

        x_d - g_d ((m_d + 1/2) / L - 1/2),   m_d = hash(x)_d in 0 .. L - 1,  L = 16

    with ``g_d`` the gap between the dimension's two central edges and ``m_d`` from a hash of
    the observation's float32 bit patterns (:func:`genome.encoders.kernels.dither_levels`).
    Over the shifts, the expected thermometer code is linear between edges instead of a
    staircase, so a binary linear policy's expected action is a continuous, piecewise-linear
    function of the observation; the quantization error becomes noise that changes every
    step and that the controlled system averages. The shift is a function of the
    observation: the policy stays deterministic and stateless, and its C export computes the
    same hash in ``uint32_t`` and the same shift (``g_d`` has 16 significant bits, so the
    products are exact in float32 and no compiler contraction can change them): Python and C
    agree bit for bit, for one float32 per dimension of flash.

    Saved like the thermometer (same payload) under its own kind."""

    kind = 6
    name = "dithered_thermometer"

    def __init__(self, edges, bounds=None):
        super().__init__(edges, bounds)
        gaps = np.array([float(e[e.shape[0] // 2]) - float(e[e.shape[0] // 2 - 1]) if e.shape[0] >= 2 else 0.0 for e in self.edges])
        #: ``g_d`` in float32 rounded to 16 significant bits, so that ``g_d (2 m - 15) / 32`` is
        #: exact in float32 and the C export computes the shift instead of storing a table
        self.gaps = _round_mantissa(gaps.astype(np.float32), 16)
        #: ``shifts[d, m] = g_d (2 m + 1 - L) / (2 L)``: subtracted from dimension ``d`` at level ``m``
        odd = 2 * np.arange(DITHER_LEVELS) + 1 - DITHER_LEVELS
        self.shifts = np.ascontiguousarray((self.gaps.astype(np.float64)[:, None] * odd / (2 * DITHER_LEVELS)).astype(np.float32))
        #: each bit's dimension and edge (for :meth:`expected_signs`)
        self._bit_dims = np.repeat(np.arange(self.n_inputs), self.edge_counts)
        self._bit_edges = np.concatenate(self.edges)

    def shifted(self, obs: np.ndarray) -> np.ndarray:
        """``obs`` (rows, n_inputs) in float32 minus each row's shifts (what the edges see)."""
        obs32 = np.ascontiguousarray(obs, dtype=np.float32)
        m = dither_levels(obs32)
        return obs32 - self.shifts[np.arange(self.n_inputs)[None, :], m]

    _compared = shifted

    def expected_signs(self, obs) -> np.ndarray:
        """The ``±1`` code averaged over the ``DITHER_LEVELS`` shifts (each level equally
        likely under the hash): piecewise linear in the observation between edges."""
        batch, _ = self._as_batch(obs)
        dims = self._bit_dims
        # the same float32 subtraction and comparison as the encoder's, for every level at once
        shifted = np.asarray(batch, dtype=np.float32)[:, dims, None] - self.shifts[dims][None, :, :]
        on = (shifted > self._bit_edges[None, :, None]).sum(axis=2)
        return on * (2.0 / DITHER_LEVELS) - 1.0


class OneHotEncoder(IntervalEncoder):
    """``n`` bits per dimension: exactly one bit, the bucket between consecutive edges, is set."""

    kind = 2
    name = "onehot"
    _extra_bits = 1



class SignEncoder(IntervalEncoder):
    """One bit per dimension: ``x >= center``."""

    kind = 3
    name = "sign"

    def __init__(self, center: Sequence[float], bounds=None):
        center = _f32(center)
        super().__init__([center[d : d + 1] for d in range(center.shape[0])])

    @property
    def center(self) -> np.ndarray:
        return np.concatenate(self.edges)

    @classmethod
    def from_samples(cls, samples, bits_per_dim: int = 1):
        """Center at the per-dimension median of ``samples``."""
        samples = np.asarray(samples, dtype=np.float64)
        if samples.ndim != 2 or samples.shape[0] < 1:
            raise ShapeError(f"samples must be (n, dims) observations, got shape {samples.shape}")
        return cls(np.median(samples, axis=0))

    @classmethod
    def from_space(cls, space, bits_per_dim: int = 1, samples=None):
        """Center at the middle of finite bounds, else at the median of ``samples``."""
        return cls(np.concatenate(ThermometerEncoder.from_space(space, 1, samples).edges))

    @classmethod
    def uniform(cls, low, high, bits_per_dim=1):
        """Center at the middle of ``[low, high]``."""
        return cls((np.asarray(low, dtype=np.float64) + np.asarray(high, dtype=np.float64)) / 2)

    def payload(self) -> bytes:
        return struct.pack("<I", self.n_inputs) + self.center.astype("<f4").tobytes()

    @classmethod
    def from_payload(cls, reader):
        n = reader.u32("sign dimension count")
        if n == 0 or 4 * n > reader.remaining:
            raise reader.fail(f"sign encoder declares {n} dimensions, which the file cannot hold")
        center = np.frombuffer(reader.take(4 * n, "sign centers"), dtype="<f4")
        if not np.all(np.isfinite(center)):
            raise reader.fail("sign encoder centers must be finite")
        return cls(center)
