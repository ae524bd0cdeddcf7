"""``PlaneNetwork``: a linear binary policy whose weights are stacks of ±1 bit-planes.

Every output ``j`` reads every observation dimension ``d`` through one *weight* made of
``B`` ±1 bits ``beta_{j,d,b}`` (the planes), worth ``2^b`` each, and the dimension through
its ``K_d`` thermometer bits ``x_{d,k}`` (±1, :mod:`genome.encoders`):

    s_j = sum_b 2^b sum_d beta_{j,d,b} T_d  [+ sum_b 2^b beta_{j,bias,b} K  with a bias],
    T_d = sum_k x_{d,k} = 2 popcount(x_d) - K_d

Each plane is a binary layer -- ±1 weights on ±1 inputs, one XNOR + popcount per
dimension -- and the planes add with shifts, as bit-serial hardware runs multi-bit weights
on binary activations (Umuroglu et al. 2018, "BISMO"; the multiple binary bases of Lin et
al. 2017, "Towards Accurate Binary Convolutional Neural Network", with powers of two for
scales). The plane bits of a weight are the binary digits of ``U = (q + 2^B - 1) / 2`` where
``q = sum_b 2^b beta_b`` is the weight's value, an odd integer in ``[-(2^B - 1), 2^B - 1]``;
so ``s_j = sum_d q_{j,d} T_d (+ q_{j,bias} K)`` with ``K`` the widest dimension's bit count.
After the encoder everything is integer arithmetic; an affine head
(:mod:`genome.policies.heads`) turns the scores into actions.

The policy file (family tag 10, :mod:`genome.nets.fileformat`)::

    1 planes B | 4 outputs J | 4 dimensions D | 1 bias flag | J (D + bias) B weight bits
    (U's digits, row-major, LSB first, 8 per byte) | encoder kind + payload | 1 head flag +
    action head
"""

from __future__ import annotations

import os
import struct

import numpy as np

from genome.encoders.base import Encoder
from genome.encoders.interval import IntervalEncoder
from genome.errors import ShapeError
from genome.io import Reader, atomic_write_bytes
from genome.nets import fileformat
from genome.policies.heads import ActionHead

#: the most planes a weight may have (``q`` then fits int32 products with any count)
MAX_PLANES = 16


def check_planes(planes: int) -> int:
    planes = int(planes)
    if not 1 <= planes <= MAX_PLANES:
        raise ShapeError(f"a plane network needs 1 to {MAX_PLANES} planes per weight, got {planes}")
    return planes


def quantize(latents: np.ndarray, planes: int) -> np.ndarray:
    """Real latents ``c`` -> plane weights ``q = clip(2 floor(c 2^(B-1)) + 1, -(2^B - 1), 2^B - 1)``:
    the odd integers, each the centre of a bin of width ``2^(1-B)`` in ``c``, so ``q / 2^B``
    is ``c`` to within half a bin on ``[-1, 1]`` (int64, the latents' shape)."""
    top = (1 << planes) - 1
    c = np.asarray(latents, dtype=np.float64)
    q = 2.0 * np.floor(c * (1 << (planes - 1))) + 1.0
    return np.clip(np.nan_to_num(q, nan=1.0), -top, top).astype(np.int64)


def plane_bits(q: np.ndarray, planes: int) -> np.ndarray:
    """``q`` -> its planes' bits ``(..., B)`` (bit 1 = +1), the digits of ``(q + 2^B - 1) / 2``."""
    u = (np.asarray(q, dtype=np.int64) + (1 << planes) - 1) // 2
    return ((u[..., None] >> np.arange(planes)) & 1).astype(np.uint8)


def from_plane_bits(bits: np.ndarray, planes: int) -> np.ndarray:
    """Inverse of :func:`plane_bits`: ``q = sum_b 2^b (2 bit_b - 1)``."""
    signs = 2 * np.asarray(bits, dtype=np.int64) - 1
    return (signs << np.arange(planes)).sum(axis=-1)


def thermometer_levels(encoder: IntervalEncoder, bits: np.ndarray) -> np.ndarray:
    """``T_d = 2 popcount(x_d) - K_d`` of 0/1 thermometer bits ``(rows, n_bits)`` -> int64 ``(rows, D)``."""
    ones = np.add.reduceat(np.asarray(bits, dtype=np.int64), encoder.bit_offsets[:-1], axis=1)
    return 2 * ones - encoder.edge_counts[None, :]


def obs_levels(encoder: IntervalEncoder, obs) -> np.ndarray:
    """``T_d`` of raw observations (a batch, or one) -> int64 ``(rows, D)``: the same levels as
    :func:`thermometer_levels` of their bits, counted by the encoder without writing the bits."""
    return 2 * encoder.passed_edges(obs) - encoder.edge_counts[None, :]


def plane_scores(weights: np.ndarray, members: np.ndarray, levels: np.ndarray, bias_input: int) -> np.ndarray:
    """Scores int64 ``(rows, outputs)``: row ``r`` through ``weights[members[r]]`` (``(members,
    outputs, dims [+ 1])``) on its levels ``T`` (``(rows, dims)``), plus ``q_bias K`` with a bias."""
    q = weights[members]
    dims = levels.shape[1]
    scores = np.einsum("rjd,rd->rj", q[:, :, :dims], levels)
    if q.shape[2] > dims:
        scores += q[:, :, dims] * bias_input
    return scores


def check_encoder(encoder) -> None:
    if not isinstance(encoder, IntervalEncoder) or encoder.onehot or encoder.name not in ("thermometer", "dithered_thermometer"):
        name = getattr(encoder, "name", type(encoder).__name__)
        raise ShapeError(f"a plane network reads thermometer bits (observations of floats); got encoder {name!r}")


class PlaneNetwork:
    """A trained ``binary_planes`` policy (module docstring): ``weights`` are the values
    ``q`` (int64 ``(outputs, dims)``, or ``(outputs, dims + 1)`` with the bias last),
    ``planes`` their bits."""

    family = "binary_planes"
    kernel = "binary_planes"
    state_size = 0  #: feed-forward: no memory between steps

    def __init__(self, weights: np.ndarray, planes: int, encoder: Encoder, head: ActionHead | None = None):
        self.planes = check_planes(planes)
        check_encoder(encoder)
        w = np.asarray(weights)
        if w.ndim != 2 or w.shape[1] not in (encoder.n_inputs, encoder.n_inputs + 1) or w.shape[0] < 1:
            raise ShapeError(f"plane weights must have shape (outputs, {encoder.n_inputs}) or, with a bias, (outputs, "
                             f"{encoder.n_inputs + 1}) for a {encoder.n_inputs}-dimension encoder, got {w.shape}")
        if not np.issubdtype(w.dtype, np.integer):
            raise ShapeError(f"plane weights must be integers, got dtype {w.dtype}")
        top = (1 << self.planes) - 1
        if np.any(w % 2 == 0) or np.abs(w).max() > top:
            raise ShapeError(f"plane weights with {self.planes} planes must be odd integers in [-{top}, {top}]")
        self.weights = w.astype(np.int64)
        self.encoder = encoder
        if head is not None and head.n_outputs != w.shape[0]:
            raise ShapeError(f"action head '{head.name}' needs {head.n_outputs} outputs but the network has {w.shape[0]}")
        self.head = head
        self.bias = w.shape[1] == encoder.n_inputs + 1  #: the last column is a bias
        #: the bias's input: the widest dimension's thermometer (every bit +1)
        self.bias_input = int(encoder.edge_counts.max())

    @property
    def n_inputs(self) -> int:
        return self.encoder.n_inputs

    @property
    def n_outputs(self) -> int:
        return int(self.weights.shape[0])

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return (self.encoder.n_bits, self.n_outputs)

    @property
    def size_bits(self) -> int:
        """Stored weight bits: ``outputs x (dims [+ 1]) x planes`` (no thresholds)."""
        return int(self.weights.size) * self.planes

    def plane_bits(self) -> np.ndarray:
        """The ±1 planes as bits ``(outputs, columns, planes)`` (bit 1 = +1)."""
        return plane_bits(self.weights, self.planes)

    # ------------------------------------------------------------- inference
    def forward(self, bits) -> np.ndarray:
        """Integer scores (int64 ``(batch, outputs)``, or ``(outputs,)``) of 0/1 thermometer bits
        ``(batch, n_bits)`` / ``(n_bits,)``."""
        arr = np.asarray(bits)
        single = arr.ndim == 1
        arr = arr.reshape(1, -1) if single else arr
        if arr.ndim != 2 or arr.shape[1] != self.encoder.n_bits:
            raise ShapeError(f"network input must have {self.encoder.n_bits} bits (0/1) per row, got shape {np.asarray(bits).shape}")
        scores = plane_scores(self.weights[None], np.zeros(arr.shape[0], np.int64), thermometer_levels(self.encoder, arr), self.bias_input)
        return scores[0] if single else scores

    def act_obs(self, obs, state=None):
        levels = obs_levels(self.encoder, obs)
        scores = plane_scores(self.weights[None], np.zeros(levels.shape[0], np.int64), levels, self.bias_input)
        scores = scores[0] if np.ndim(obs) == 1 else scores
        return int(np.argmax(scores)) if self.head is None else self.head(scores)

    # ------------------------------------------------------------------ files
    def to_bytes(self) -> bytes:
        """The compact policy file (module docstring)."""
        record = [struct.pack("<BIIB", self.planes, self.n_outputs, self.n_inputs, int(self.bias)),
                  np.packbits(self.plane_bits().reshape(-1), bitorder="little").tobytes(),
                  fileformat.encoder_head_bytes(self.encoder, self.head)]
        return fileformat.frame(fileformat.FAMILY_TAGS["binary_planes"], b"".join(record))

    @classmethod
    def read_record(cls, r: Reader, family: str) -> "PlaneNetwork":
        planes = r.u8("plane count")
        n_out, dims, bias = r.u32("output count"), r.u32("dimension count"), r.u8("bias flag")
        if not 1 <= planes <= MAX_PLANES or n_out < 1 or bias not in (0, 1) or n_out * (dims + 1) * planes > fileformat.MAX_WEIGHT_BITS:
            raise r.fail(f"malformed policy: {planes} planes, {n_out} outputs, {dims} dimensions, bias flag {bias}")
        n = n_out * (dims + bias) * planes
        raw = np.frombuffer(r.take((n + 7) // 8, "plane weights"), dtype=np.uint8)
        bits = np.unpackbits(raw, bitorder="little")[:n].reshape(n_out, dims + bias, planes)
        encoder, head = fileformat.read_encoder_head(r)
        fileformat.check_end(r)
        try:
            return cls(from_plane_bits(bits, planes), planes, encoder, head)
        except ShapeError as exc:
            raise r.fail(f"malformed policy: {exc}") from None

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "<bytes>") -> "PlaneNetwork":
        return fileformat.read_network(data, source)

    def save(self, path: str | os.PathLike) -> None:
        atomic_write_bytes(path, self.to_bytes())

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, PlaneNetwork) and other.planes == self.planes and np.array_equal(other.weights, self.weights)
                and other.encoder == self.encoder and other.head == self.head)

    __hash__ = None  # mutable arrays inside

    def __repr__(self) -> str:
        return f"PlaneNetwork(outputs={self.n_outputs}, dims={self.n_inputs}, planes={self.planes}, encoder={self.encoder!r})"


fileformat.register_reader(["binary_planes"], PlaneNetwork.read_record)
