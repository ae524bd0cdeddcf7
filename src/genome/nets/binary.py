"""``BinaryNetwork``: a bit-packed ±1 network with integer thresholds (README, "How it works")."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numba
import numpy as np

from genome.encoders.base import Encoder
from genome.errors import ModelFormatError, ShapeError
from genome.io import atomic_write_bytes
from genome.nets import fileformat, kernels
from genome.bits import pack_bits, words_for
from genome.nets.layout import MAX_ABS_BIAS, Layout
from genome.policies.heads import ActionHead

#: Batches at least this large use the multi-threaded kernel (when numba has >1 thread).
PARALLEL_MIN_ROWS = 8192


def as_packed_input(bits, n_in: int) -> tuple[np.ndarray, bool]:
    """Normalize network input to packed words ``(batch, ceil(n_in/64))``.

    Accepts a 0/1 (or bool) array ``(n_in,)`` / ``(batch, n_in)``, or already packed
    ``uint64`` words ``(words,)`` / ``(batch, words)``. Returns ``(packed, single)``.
    """
    arr = np.asarray(bits)
    nw = words_for(n_in)
    if arr.ndim not in (1, 2):
        raise ShapeError(f"network input must be 1-D or 2-D (batch, bits), got shape {arr.shape}")
    single = arr.ndim == 1
    batch = arr.reshape(1, -1) if single else arr
    if arr.dtype == np.uint64 and batch.shape[1] == nw:
        return np.ascontiguousarray(batch), single
    if batch.shape[1] != n_in:
        raise ShapeError(
            f"network input must have {n_in} bits (0/1 values) or {nw} packed uint64 words per row, "
            f"got shape {arr.shape} with dtype {arr.dtype}"
        )
    if arr.dtype != np.bool_:
        if not np.issubdtype(arr.dtype, np.number) or np.any((batch != 0) & (batch != 1)):
            raise ShapeError("network input bits must be 0 or 1 (or pass packed uint64 words)")
    return pack_bits(batch), single


class BinaryNetwork:
    """A feed-forward network whose weights, inputs and hidden activations are ±1.

    ``s_j = n_in - 2 popcount(x XOR w_j) + b_j``; hidden units output ``+1`` iff ``s_j >= 0``;
    the output layer returns the integer scores, and :meth:`act` their argmax (ties to the
    lowest index). Bit 1 means +1, bit 0 means -1.

    >>> net = BinaryNetwork.from_dense([np.ones((2, 3), np.int8)], [np.array([0, -1])])
    >>> net.forward([1, 1, 0]).tolist()   # 3 - 2*1 + b
    [1, 0]
    """

    kernel = "binary"
    state_size = 0  #: feed-forward: no memory between steps (``act_obs``'s ``state`` is unused)

    def __init__(
        self,
        layout: Layout,
        weights: np.ndarray,
        biases: Sequence[np.ndarray],
        encoder: Encoder | None = None,
        head: ActionHead | None = None,
    ):
        self.layout = layout
        self.weights = np.ascontiguousarray(weights, dtype=np.uint64)
        if self.weights.shape != (layout.n_weight_words,):
            raise ShapeError(f"weights must be {layout.n_weight_words} packed words for {layout}, got {self.weights.shape}")
        self.biases = [np.asarray(b, dtype=np.int64).copy() for b in biases]
        for layer, b in enumerate(self.biases):
            if b.shape != (layout.sizes[layer + 1],):
                raise ShapeError(f"biases[{layer}] must have shape ({layout.sizes[layer + 1]},), got {b.shape}")
            if b.size and np.abs(b).max() >= MAX_ABS_BIAS:
                raise ShapeError(f"biases[{layer}] must stay within ±{MAX_ABS_BIAS}, got {np.abs(b).max()}")
        self.thresholds = layout.thresholds(self.biases)
        if encoder is not None and encoder.n_bits != layout.sizes[0]:
            raise ShapeError(f"encoder produces {encoder.n_bits} bits but the network has {layout.sizes[0]} inputs")
        self.encoder = encoder
        if head is not None and head.n_outputs != layout.sizes[-1]:
            raise ShapeError(f"action head '{head.name}' needs {head.n_outputs} outputs but the network has {layout.sizes[-1]}")
        self.head = head

    # -------------------------------------------------------------- creation
    @classmethod
    def from_dense(
        cls,
        weights: Sequence[np.ndarray],
        biases: Sequence[np.ndarray] | None = None,
        encoder: Encoder | None = None,
        head: ActionHead | None = None,
    ) -> "BinaryNetwork":
        """Build from ``weights[l]``: ±1 integer arrays ``(n_out, n_in)``, ``biases[l]``: ints ``(n_out,)``."""
        if len(weights) == 0:
            raise ShapeError("a network needs at least one layer of weights")
        mats = []
        for layer, w in enumerate(weights):
            w = np.asarray(w)
            if w.ndim != 2 or w.shape[0] < 1 or w.shape[1] < 1:
                raise ShapeError(f"weights[{layer}] must be a 2-D (n_out, n_in) array, got shape {w.shape}")
            if not (np.issubdtype(w.dtype, np.integer) or w.dtype == np.bool_) or np.any((w != 1) & (w != -1)):
                raise ShapeError(f"weights[{layer}] must contain only -1 and +1")
            if layer and w.shape[1] != mats[-1].shape[0]:
                raise ShapeError(f"weights[{layer}] has {w.shape[1]} inputs but layer {layer - 1} has {mats[-1].shape[0]} outputs")
            mats.append(w)
        layout = Layout([mats[0].shape[1]] + [w.shape[0] for w in mats])
        if biases is None:
            biases = [np.zeros(w.shape[0], dtype=np.int64) for w in mats]
        if len(biases) != len(mats):
            raise ShapeError(f"got {len(biases)} bias vectors for {len(mats)} layers")
        for layer, b in enumerate(biases):
            b = np.asarray(b)
            if not np.issubdtype(b.dtype, np.integer):
                raise ShapeError(f"biases[{layer}] must be integers, got dtype {b.dtype}")
        return cls(layout, layout.pack_weights(mats), biases, encoder, head)

    @classmethod
    def random(
        cls,
        layer_sizes: Sequence[int],
        rng: np.random.Generator | int | None = None,
        bias_range: int = 0,
        encoder: Encoder | None = None,
        head: ActionHead | None = None,
    ) -> "BinaryNetwork":
        """Uniformly random ±1 weights and biases in ``[-bias_range, bias_range]``."""
        rng = np.random.default_rng(rng)
        layout = Layout(layer_sizes)
        weights = [rng.choice(np.array([-1, 1], np.int8), size=(layout.sizes[i + 1], layout.sizes[i])) for i in range(layout.n_layers)]
        biases = [rng.integers(-bias_range, bias_range + 1, size=layout.sizes[i + 1]) for i in range(layout.n_layers)]
        return cls.from_dense(weights, biases, encoder, head)

    def to_dense(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """``(weights, biases)``: int8 ±1 matrices ``(n_out, n_in)`` and int64 bias vectors."""
        bits = self.layout.unpack_weights(self.weights)
        return [b.astype(np.int8) * 2 - 1 for b in bits], [b.copy() for b in self.biases]

    # ------------------------------------------------------------ properties
    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return self.layout.sizes

    @property
    def n_inputs(self) -> int:
        return self.layout.sizes[0]

    @property
    def n_outputs(self) -> int:
        return self.layout.sizes[-1]

    def kernel_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """This network as a population of one, for the fused rollouts."""
        return self.weights[None], self.thresholds[None]

    # ------------------------------------------------------------- inference
    def forward(self, bits) -> np.ndarray:
        """Integer output scores, ``(batch, n_out)`` int32 (or ``(n_out,)`` for one input)."""
        packed, single = as_packed_input(bits, self.n_inputs)
        out = np.empty((packed.shape[0], self.n_outputs), dtype=np.int32)
        kernel = kernels.forward_batch
        if packed.shape[0] >= PARALLEL_MIN_ROWS and numba.get_num_threads() > 1:
            kernel = kernels.forward_batch_parallel
        lay = self.layout
        kernel(self.weights, self.thresholds, lay.sizes_array, lay.w_offsets, lay.t_offsets, packed, out)
        return out[0] if single else out

    def act(self, bits) -> int | np.ndarray:
        """``argmax`` of :meth:`forward` (ties go to the lowest index)."""
        scores = self.forward(bits)
        return int(np.argmax(scores)) if scores.ndim == 1 else np.argmax(scores, axis=1)

    def act_obs(self, obs, state=None):
        """Environment action for one raw observation: encoder, network, then the action head
        (argmax when there is none)."""
        if self.encoder is None:
            raise ShapeError("this network has no encoder; pass input bits to act() instead")
        scores = self.forward(self.encoder.encode(obs))
        return int(np.argmax(scores)) if self.head is None else self.head(scores)

    # ------------------------------------------------------------------ files
    def to_bytes(self) -> bytes:
        """The compact binary policy file (see :mod:`genome.nets.fileformat`)."""
        weights, _ = self.to_dense()
        return fileformat.encode(self.layer_sizes, weights, self.biases, self.encoder, self.head)

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "<bytes>") -> "BinaryNetwork":
        """Inverse of :meth:`to_bytes`; bad data raises ``ValueError`` naming ``source``."""
        return cls._from_record(*fileformat.decode(data, source), source)

    @classmethod
    def _from_record(cls, sizes, weights, biases, encoder, head, source: str) -> "BinaryNetwork":
        layout = Layout(sizes)
        try:
            return cls(layout, layout.pack_weights(weights), biases, encoder, head)
        except ShapeError as exc:
            raise ModelFormatError(f"{source}: {exc}") from None

    def save(self, path: str | os.PathLike) -> None:
        """Write the policy file atomically (temporary file, then rename)."""
        atomic_write_bytes(path, self.to_bytes())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "BinaryNetwork":
        """Read a file written by :meth:`save`; a bad file raises ``ValueError`` naming it."""
        return cls.from_bytes(fileformat.read_file(path), str(path))

    # ----------------------------------------------------------------- misc
    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, BinaryNetwork)
            and other.layout == self.layout
            and np.array_equal(other.weights, self.weights)
            and all(np.array_equal(a, b) for a, b in zip(other.biases, self.biases))
            and other.encoder == self.encoder
            and other.head == self.head
        )

    __hash__ = None  # mutable arrays inside

    def __repr__(self) -> str:
        enc = f", encoder={self.encoder!r}" if self.encoder is not None else ""
        return f"BinaryNetwork(layer_sizes={self.layer_sizes}{enc})"


fileformat.register_reader(["binary_mlp"], lambda r, family: BinaryNetwork._from_record(*fileformat.read_binary_record(r), r.source))
