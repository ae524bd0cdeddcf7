"""Convolutional networks for image observations: the Nature-DQN architecture.

Mnih et al. (2015, "Human-level control through deep reinforcement learning") map a stack
of ``C`` grayscale frames (``C x H x W``; Atari: ``4 x 84 x 84``) through

==========  =====================================  ========================
layer       operation                              output (84 x 84 input)
==========  =====================================  ========================
conv 1      32 filters 8x8, stride 4, ReLU         20 x 20 x 32
conv 2      64 filters 4x4, stride 2, ReLU         9 x 9 x 64
conv 3      64 filters 3x3, stride 1, ReLU         7 x 7 x 64
dense       ``hidden`` units (512), ReLU           512
output      one score per action, linear           n_actions
==========  =====================================  ========================

which is 1,693,362 parameters for Frostbite's 18 actions -- the network Such et al. (2017,
"Deep Neuroevolution") evolve with the GA. Pixels are scaled by ``input_scale`` (1/255 for
``uint8`` frames).

Flat parameter layout (float32), layer by layer: the weight matrix ``(fan_in, n_out)``
row-major, then the ``n_out`` biases. Feature maps are kept channel-last (``H x W x C``):
a convolution's ``fan_in`` rows are ordered ``(kernel row, kernel column, channel)`` and
the dense layer's inputs ``(row, column, channel)``.

The convolutions are im2col (a compiled copy: in channel-last order each output position's
patch is ``kernel`` contiguous runs of ``kernel x C`` values) + BLAS matrix products
(numpy's ``matmul``); the dense layers are a compiled row-by-row product that skips zero
inputs (:func:`dense`: after a ReLU about half are 0, and reading the first dense layer's
weights bounds its time). ``forward`` takes a batch of observations through one member's
weights; the population's ``forward_indexed`` runs one row at a time, because BLAS sums
in an order that depends on the batch's shape, and a member's numbers must not depend on
which of its episodes share a step. For the same reason BLAS runs single-threaded inside
:func:`one_blas_thread` (its threaded kernels split the sums differently): the bits are
then the same in any process on the same CPU type (a cluster mixing CPU generations may
differ in the last bits: BLAS picks kernels by instruction set). See
docs/architecture.md.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numba import njit

from genome.errors import ConfigError

#: (filters, kernel, stride) of the Nature-DQN convolutions
NATURE_DQN = ((32, 8, 4), (64, 4, 2), (64, 3, 1))


_BLAS = None


def one_blas_thread():
    """A context in which numpy's BLAS runs one thread (threadpoolctl), so matrix products
    give the same bits whatever the process's thread settings. Where BLAS already runs one
    thread (worker processes, or inside an outer ``one_blas_thread``) it changes nothing:
    switching OpenBLAS's thread count costs more than a small product."""
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController().select(user_api="blas")
    if all(lib.get_num_threads() == 1 for lib in _BLAS.lib_controllers):
        return contextlib.nullcontext()
    return _BLAS.limit(limits=1)


@njit(cache=True, nogil=True, boundscheck=False)
def im2col(y, kernel, stride, ho, wo, out):
    """Patches of channel-last maps ``y`` ``(k, H, W, C)``: row ``(n, i, j)`` of ``out`` is the
    ``kernel x kernel x C`` window at ``(i * stride, j * stride)`` of image ``n``, flattened
    ``(kernel row, kernel column, channel)``."""
    k, c = y.shape[0], y.shape[3]
    run = kernel * c
    r = 0
    for n in range(k):
        for i in range(ho):
            for j in range(wo):
                q = 0
                for a in range(kernel):
                    src = y[n, i * stride + a]
                    x0 = j * stride
                    for b in range(kernel):
                        for ch in range(c):
                            out[r, q + b * c + ch] = src[x0 + b, ch]
                    q += run
                r += 1


@njit(cache=True, nogil=True, boundscheck=False)
def im2col_planar(x, scale, kernel, stride, ho, wo, out):
    """:func:`im2col` of channel-first observations ``x`` ``(k, C, H, W)`` (any dtype), each
    value converted to float32 and multiplied by ``scale`` on the way: the first layer
    reads the frames as they come. Each image is converted once into a channel-last float32
    copy (a pixel sits in up to ``(kernel / stride)^2`` patches) whose rows hold a window's
    row as one contiguous run of ``kernel x C`` values."""
    k, c, h, w = x.shape
    t = np.empty((h, w * c), dtype=np.float32)
    run = kernel * c
    r = 0
    for n in range(k):
        for ch in range(c):
            for i in range(h):
                for j in range(w):
                    t[i, j * c + ch] = np.float32(x[n, ch, i, j]) * scale
        for i in range(ho):
            for j in range(wo):
                q = 0
                x0 = j * stride * c
                for a in range(kernel):
                    src = t[i * stride + a]
                    for v in range(run):
                        out[r, q + v] = src[x0 + v]
                    q += run
                r += 1


@njit(cache=True, nogil=True, boundscheck=False)
def dense(x, wt, b, relu, out):
    """``out = x @ wt + b`` (then ReLU if ``relu``), row by row, float32. Every row sums its
    inputs in index order and skips the zero ones: after a ReLU about half the inputs are
    0, and skipping their weight rows halves the memory the layer reads (the Nature-DQN
    dense layer's 3136 x 512 weights are 6.4 MB, read at every step). A row's numbers do
    not depend on the other rows of the batch."""
    n_out = wt.shape[1]
    acc = np.empty(n_out, dtype=np.float32)
    for r in range(x.shape[0]):
        acc[:] = 0
        for k in range(x.shape[1]):
            v = x[r, k]
            if v != 0:
                w = wt[k]
                for j in range(n_out):
                    acc[j] += v * w[j]
        for j in range(n_out):
            y = acc[j] + b[j]
            out[r, j] = max(y, np.float32(0)) if relu else y


@dataclass(frozen=True)
class ConvStructure:
    """Input shape ``(C, H, W)``, convolutions ``(filters, kernel, stride)``, dense widths."""

    in_shape: tuple[int, int, int]
    convs: tuple[tuple[int, int, int], ...]
    hidden: tuple[int, ...]
    n_outputs: int
    input_scale: float = 1.0

    def __post_init__(self):
        if len(self.in_shape) != 3 or min(self.in_shape) < 1:
            raise ConfigError(f"a conv network needs a (channels, height, width) input, got {self.in_shape}")
        h, w = self.in_shape[1:]
        for f, k, s in self.convs:
            if min(f, k, s) < 1:
                raise ConfigError(f"convolution (filters, kernel, stride) must be >= 1, got {(f, k, s)}")
            if h < k or w < k:
                raise ConfigError(f"input {self.in_shape[1]}x{self.in_shape[2]} is too small for the convolutions {list(self.convs)}")
            h, w = (h - k) // s + 1, (w - k) // s + 1
        if self.n_outputs < 1 or any(n < 1 for n in self.hidden):
            raise ConfigError(f"dense widths must be >= 1, got hidden {list(self.hidden)}, outputs {self.n_outputs}")

    @classmethod
    def nature_dqn(cls, in_shape: Sequence[int], hidden: Sequence[int], n_outputs: int, input_scale: float) -> "ConvStructure":
        return cls(tuple(int(x) for x in in_shape), NATURE_DQN, tuple(int(x) for x in hidden), int(n_outputs), float(np.float32(input_scale)))

    # ---------------------------------------------------------------- sizes
    # (cached: the forward pass reads them at every step)
    @cached_property
    def conv_shapes(self) -> tuple[tuple[int, int, int], ...]:
        """Output ``(H, W, C)`` of every convolution."""
        c, h, w = self.in_shape
        out = []
        for f, k, s in self.convs:
            h, w, c = (h - k) // s + 1, (w - k) // s + 1, f
            out.append((h, w, c))
        return tuple(out)

    @cached_property
    def layers(self) -> tuple[tuple[int, int], ...]:
        """``(fan_in, n_out)`` of every layer, convolutions first."""
        c = self.in_shape[0]
        out = []
        for f, k, _ in self.convs:
            out.append((c * k * k, f))
            c = f
        h, w, c = self.conv_shapes[-1] if self.convs else (self.in_shape[1], self.in_shape[2], self.in_shape[0])
        n = h * w * c
        for width in (*self.hidden, self.n_outputs):
            out.append((n, width))
            n = width
        return tuple(out)

    @cached_property
    def offsets(self) -> tuple[int, ...]:
        """Start of every layer's weights in the flat parameters (and the total at the end)."""
        q = [0]
        for fan_in, n_out in self.layers:
            q.append(q[-1] + fan_in * n_out + n_out)
        return tuple(q)

    @property
    def n_params(self) -> int:
        return self.offsets[-1]

    @property
    def n_inputs(self) -> int:
        return int(np.prod(self.in_shape))

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """Input values, then every layer's outputs (for reports and strategy tags)."""
        return (self.n_inputs, *(h * w * c for h, w, c in self.conv_shapes), *self.hidden, self.n_outputs)

    def views(self, params: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(W, b)`` views into one member's flat parameters."""
        out = []
        for (fan_in, n_out), q in zip(self.layers, self.offsets):
            out.append((params[q : q + fan_in * n_out].reshape(fan_in, n_out), params[q + fan_in * n_out : q + fan_in * n_out + n_out]))
        return out

    # -------------------------------------------------------------- forward
    def forward(self, params: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Scores ``(k, n_outputs)`` of ``k`` observations ``x`` (``(k, C*H*W)`` or
        ``(k, C, H, W)``, any dtype) through one member's flat float32 ``params``."""
        k = x.shape[0]
        c, h, w = self.in_shape
        x = np.ascontiguousarray(x).reshape(k, c, h, w)
        weights = self.views(params)
        if not self.convs:
            y = np.multiply(x, np.float32(self.input_scale), dtype=np.float32).transpose(0, 2, 3, 1)
        for layer, ((wt, b), (f, ker, s), (ho, wo, _)) in enumerate(zip(weights, self.convs, self.conv_shapes)):
            cols = np.empty((k * ho * wo, wt.shape[0]), dtype=np.float32)
            if layer == 0:
                im2col_planar(x, np.float32(self.input_scale), ker, s, ho, wo, cols)
            else:
                im2col(y, ker, s, ho, wo, cols)
            y = cols @ wt
            y += b
            np.maximum(y, 0, out=y)
            y = y.reshape(k, ho, wo, f)
        y = y.reshape(k, -1)
        layers = weights[len(self.convs) :]
        for i, (wt, b) in enumerate(layers):
            out = np.empty((k, wt.shape[1]), dtype=np.float32)
            dense(y, wt, b, i < len(layers) - 1, out)
            y = out
        return y

    # ---------------------------------------------------------------- files
    def payload(self) -> bytes:
        c, h, w = self.in_shape
        body = struct.pack("<3IB", c, h, w, len(self.convs))
        body += b"".join(struct.pack("<3I", *conv) for conv in self.convs)
        body += struct.pack(f"<B{len(self.hidden)}I", len(self.hidden), *self.hidden)
        return body + struct.pack("<If", self.n_outputs, self.input_scale)

    @classmethod
    def from_payload(cls, reader) -> "ConvStructure":
        c, h, w, n_convs = reader.unpack("3IB", "input shape")
        convs = tuple(tuple(reader.unpack("3I", f"convolution {i}")) for i in range(n_convs))
        (n_hidden,) = reader.unpack("B", "dense layer count")
        hidden = tuple(reader.unpack(f"{n_hidden}I", "dense widths")) if n_hidden else ()
        n_outputs, scale = reader.unpack("If", "outputs")
        if c * h * w > 1 << 26 or any(f * k * k > 1 << 24 for f, k, _ in convs) or any(n > 1 << 20 for n in hidden):
            raise reader.fail("malformed policy: implausible conv network sizes")
        try:
            return cls((c, h, w), convs, hidden, n_outputs, scale)
        except ConfigError as exc:
            raise reader.fail(f"malformed policy: {exc}") from None
