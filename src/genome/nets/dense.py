"""Real-valued networks: dense, Toeplitz and circulant layers, ``tanh`` hidden units.

A layer maps ``x`` (``n_in``) to ``W x + b`` (``n_out``); hidden layers apply ``tanh``, the
output layer returns the raw scores (the action head turns them into an action). What
differs between layer kinds is only how ``W`` is built from the layer's parameters ``t``:

============  =============================  ==========================
kind          ``W[i, j]``                    parameters
============  =============================  ==========================
dense         ``t[i * n_in + j]``            ``n_out * n_in``
toeplitz      ``t[i - j + n_in - 1]``        ``n_out + n_in - 1``
circulant     ``t[(i - j) mod n]``           ``n = max(n_out, n_in)``
============  =============================  ==========================

A non-square circulant layer is the top-left ``n_out x n_in`` block of an ``n x n``
circulant matrix (Cheng et al. 2015; the chromatic-networks paper counts it the same way:
41 + 41 = 82 weights for HalfCheetah with one hidden layer of 41 units). Each layer may
have a bias vector of ``n_out`` parameters.

Every kind is an *index map* from the genome into a flat dense parameter vector, so a whole
population is expanded with one gather (:meth:`DenseStructure.expand`) and one compiled
forward pass (:func:`dense_forward`) runs every kind. Flat layout per layer: ``W`` row-major,
then ``b`` (zeros where the layer has no bias). See docs/architecture.md.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit

from genome.errors import ConfigError

LAYER_KINDS = ("dense", "toeplitz", "circulant")


@dataclass(frozen=True)
class DenseStructure:
    """Layer sizes, each layer's kind and whether it has a bias; derives the index map."""

    sizes: tuple[int, ...]
    kinds: tuple[str, ...]
    biases: tuple[bool, ...]

    def __post_init__(self):
        if len(self.sizes) < 2 or min(self.sizes) < 1:
            raise ConfigError(f"a network needs at least two layer sizes >= 1, got {list(self.sizes)}")
        if len(self.kinds) != len(self.sizes) - 1 or len(self.biases) != len(self.sizes) - 1:
            raise ConfigError("one layer kind and one bias flag per layer")
        for k in self.kinds:
            if k not in LAYER_KINDS:
                raise ConfigError(f"layer kind must be one of {', '.join(LAYER_KINDS)}, got {k!r}")
        object.__setattr__(self, "_gather", self._build_gather())

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    def layer_weight_params(self, layer: int) -> int:
        n_in, n_out = self.sizes[layer], self.sizes[layer + 1]
        kind = self.kinds[layer]
        if kind == "dense":
            return n_in * n_out
        if kind == "toeplitz":
            return n_in + n_out - 1
        return max(n_in, n_out)

    @property
    def n_weight_params(self) -> int:
        """Weights alone (what the structured-policy papers count)."""
        return sum(self.layer_weight_params(i) for i in range(self.n_layers))

    @property
    def n_params(self) -> int:
        """Genome length: weights plus biases."""
        return self.n_weight_params + sum(self.sizes[i + 1] for i in range(self.n_layers) if self.biases[i])

    @property
    def n_flat(self) -> int:
        """Length of the expanded flat parameter vector the kernels read."""
        return sum(self.sizes[i + 1] * (self.sizes[i] + 1) for i in range(self.n_layers))

    @property
    def sizes_array(self) -> np.ndarray:
        return np.asarray(self.sizes, dtype=np.int64)

    def _build_gather(self) -> np.ndarray:
        """``flat[k] = genome[gather[k]]``; ``gather[k] = n_params`` (a zero column) where a
        layer has no bias."""
        out, q = [], 0
        zero = self.n_params
        for layer in range(self.n_layers):
            n_in, n_out = self.sizes[layer], self.sizes[layer + 1]
            i = np.arange(n_out)[:, None]
            j = np.arange(n_in)[None, :]
            kind = self.kinds[layer]
            if kind == "dense":
                idx = i * n_in + j
            elif kind == "toeplitz":
                idx = i - j + n_in - 1
            else:
                idx = (i - j) % max(n_in, n_out)
            out.append((q + idx).reshape(-1))
            q += self.layer_weight_params(layer)
        for layer in range(self.n_layers):  # biases after all weights in the genome
            n_out = self.sizes[layer + 1]
            if self.biases[layer]:
                out.insert(2 * layer + 1, np.arange(q, q + n_out))
                q += n_out
            else:
                out.insert(2 * layer + 1, np.full(n_out, zero))
        return np.concatenate(out).astype(np.int64)

    def expand(self, genomes: np.ndarray) -> np.ndarray:
        """Genomes ``(members, n_params)`` -> flat dense parameters ``(members, n_flat)`` float32."""
        g = np.asarray(genomes, dtype=np.float32)
        if g.ndim != 2 or g.shape[1] != self.n_params:
            raise ConfigError(f"genomes must have shape (members, {self.n_params}), got {g.shape}")
        padded = np.concatenate([g, np.zeros((g.shape[0], 1), np.float32)], axis=1)
        return np.ascontiguousarray(padded[:, self._gather])

    def matrices(self, genome: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """One genome -> ``(weights, biases)``: float32 ``(n_out, n_in)`` matrices and vectors."""
        flat = self.expand(np.asarray(genome).reshape(1, -1))[0]
        ws, bs, q = [], [], 0
        for layer in range(self.n_layers):
            n_in, n_out = self.sizes[layer], self.sizes[layer + 1]
            ws.append(flat[q : q + n_in * n_out].reshape(n_out, n_in).copy())
            q += n_in * n_out
            bs.append(flat[q : q + n_out].copy())
            q += n_out
        return ws, bs

    # ------------------------------------------------------------------ file
    def payload(self) -> bytes:
        body = struct.pack("<B", self.n_layers) + struct.pack(f"<{len(self.sizes)}I", *self.sizes)
        return body + bytes(b for layer in range(self.n_layers) for b in (LAYER_KINDS.index(self.kinds[layer]), int(self.biases[layer])))

    @classmethod
    def from_payload(cls, reader) -> "DenseStructure":
        n_layers = reader.u8("layer count")
        if n_layers < 1:
            raise reader.fail("malformed policy: no layers")
        sizes = reader.unpack(f"{n_layers + 1}I", "layer sizes")
        if min(sizes) < 1 or sum(sizes[i] * sizes[i + 1] for i in range(n_layers)) > 1 << 28:
            raise reader.fail(f"malformed policy: implausible layer sizes {list(sizes)}")
        flags = reader.take(2 * n_layers, "layer kinds")
        kinds, biases = [], []
        for layer in range(n_layers):
            k, b = flags[2 * layer], flags[2 * layer + 1]
            if k >= len(LAYER_KINDS) or b > 1:
                raise reader.fail(f"malformed policy: layer {layer} has kind {k} / bias flag {b}")
            kinds.append(LAYER_KINDS[k])
            biases.append(bool(b))
        return cls(tuple(sizes), tuple(kinds), tuple(biases))


def structure(n_in: int, hidden: Sequence[int], n_out: int, kind: str, output_bias: bool) -> DenseStructure:
    """Hidden layers always have biases; the output layer has one if ``output_bias``."""
    sizes = (int(n_in), *(int(h) for h in hidden), int(n_out))
    n = len(sizes) - 1
    return DenseStructure(sizes, (kind,) * n, tuple([True] * (n - 1) + [bool(output_bias)]))


# --------------------------------------------------------------------- kernels
@njit(cache=True, nogil=True, boundscheck=False)
def normalize_into(obs, mean, std, clip, x):
    """``x[:dims] = clip((obs - mean) / std, -clip, clip)`` in float64 (``std`` already
    floored); ``x`` may be longer (a scratch buffer as wide as the widest layer)."""
    for d in range(mean.shape[0]):
        v = (np.float64(obs[d]) - mean[d]) / std[d]
        x[d] = min(max(v, -clip), clip)


@njit(cache=True, nogil=True, boundscheck=False)
def dense_forward(params, sizes, x, y):
    """Forward pass of one flat parameter vector. ``x`` holds the input (and is overwritten),
    ``y`` is scratch; both have room for the widest layer. Returns the buffer holding the
    ``sizes[-1]`` output scores. Sums run in float64 in index order (the exported C does the
    same)."""
    n_layers = sizes.shape[0] - 1
    q = 0
    src, dst = x, y
    for layer in range(n_layers):
        n_in = sizes[layer]
        n_out = sizes[layer + 1]
        b0 = q + n_out * n_in
        for i in range(n_out):
            acc = 0.0
            row = q + i * n_in
            for j in range(n_in):
                acc += np.float64(params[row + j]) * src[j]
            acc += np.float64(params[b0 + i])
            dst[i] = np.tanh(acc) if layer < n_layers - 1 else acc
        q = b0 + n_out
        src, dst = dst, src
    return src


@njit(cache=True, nogil=True, boundscheck=False)
def dense_forward_indexed(params, sizes, member, obs, mean, std, clip, out):
    """Row ``r`` of raw observations ``obs`` through the network of member ``member[r]``
    (rows of ``params``), normalized first; output scores into ``out[r]`` (float64). One
    thread, like the binary networks' ``forward_indexed``: it runs once per environment step
    on a few rows, where waking numba's threads cost more than the rows (5x slower Gymnasium
    runs on a busy machine), and the Gymnasium path spreads its work over processes."""
    width = 0
    for s in sizes:
        width = max(width, s)
    for r in range(obs.shape[0]):
        x = np.empty(width)
        y = np.empty(width)
        normalize_into(obs[r], mean, std, clip, x)
        res = dense_forward(params[member[r]], sizes, x, y)
        for k in range(out.shape[1]):
            out[r, k] = res[k]
