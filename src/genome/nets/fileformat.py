"""The compact policy file (little-endian, no pickle): every policy family.

Version 2 (written now)::

    4 magic b"GBNN" | 2 version (2) | 4 total file length | 1 family tag | record | 4 CRC-32

Family tags (:data:`FAMILY_TAGS`, fixed: they are the file format): 0 ``binary_mlp``,
1 ``linear``, 2 ``mlp``, 3 ``toeplitz``, 4 ``circulant``, 5 ``conv``, 6 ``lstm``, 7 ``gru``,
8 ``binary_rnn`` (``4 H`` then the binary record), 9 ``conv_lstm``, 10 ``binary_planes``
(:mod:`genome.nets.planes`). This module knows the
frame and the binary record; each other family writes its record itself and registers
its reader here (:func:`register_reader`), so ``nets/`` never imports ``policies/``.
The binary record is version 1's body below (from the layer count on). The real-valued
record (:mod:`genome.policies.dense`) is::

    1 layer count L | 4 (L+1) layer sizes | 2 L (layer kind, bias flag) |
    4 parameter count P | 4 P float32 genome | normalizer (4 dims, 4 clip, 4 dims mean,
    4 dims std) | 1 head flag + action head

The ``conv`` record (:mod:`genome.policies.conv`) is::

    4 C | 4 H | 4 W | 1 convolution count K | 12 K (filters, kernel, stride) |
    1 dense count D | 4 D widths | 4 outputs | 4 float32 input scale |
    4 parameter count P | 4 P float32 parameters | 1 head flag + action head

The genome is stored, not the expanded matrices, so a Toeplitz layer costs its
``n_out + n_in - 1`` parameters on disk too. Version 1 files (binary networks only) keep
loading.

Version 1:

=========  ===========================================================================
bytes      field
=========  ===========================================================================
4          magic ``b"GBNN"``
2          format version (``1``)
4          total file length in bytes (detects truncation and trailing data)
2          number of layers ``L``
4 (L+1)    layer sizes ``n_0 .. n_L``
L          bias width per layer: 0 (all zero), 1, 2 or 4 bytes (signed)
...        per layer: the ``n_out x n_in`` weight bits, row-major, 8 per byte, LSB first
...        per layer: ``n_out`` biases of the declared width
1 + ...    encoder kind (0 = none) and its parameters (:mod:`genome.encoders`)
1 + ...    1 and the action head (:mod:`genome.policies.heads`), or 0 for none
4          CRC-32 of every byte before it
=========  ===========================================================================

A 64-64-2 network with a 4-dimension uniform thermometer encoder takes about 650 bytes.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable, Sequence

import numpy as np

from genome.encoders import ENCODER_KINDS
from genome.encoders.base import Encoder
from genome.errors import ModelFormatError
from genome.io import Reader
from genome.policies.heads import ActionHead

MAGIC = b"GBNN"
VERSION = 2
_HEADER = struct.Struct("<4sHIH")  # version 1
_FRAME = struct.Struct("<4sHI")  # version 2: magic, version, total length
#: policy.family -> tag in version-2 files
FAMILY_TAGS = {"binary_mlp": 0, "linear": 1, "mlp": 2, "toeplitz": 3, "circulant": 4, "conv": 5, "lstm": 6, "gru": 7,
               "binary_rnn": 8, "conv_lstm": 9, "binary_planes": 10}
_BIAS_DTYPES = {0: None, 1: "<i1", 2: "<i2", 4: "<i4"}
#: Refuse to allocate networks larger than this many weight bits from a file.
MAX_WEIGHT_BITS = 1 << 31


def _bias_width(bias: np.ndarray) -> int:
    if bias.size == 0 or not np.any(bias):
        return 0
    lo, hi = int(bias.min()), int(bias.max())
    for width, dt in ((1, np.int8), (2, np.int16), (4, np.int32)):
        info = np.iinfo(dt)
        if info.min <= lo and hi <= info.max:
            return width
    raise ValueError(f"bias out of range for the file format: {lo}..{hi}")


def binary_record(
    sizes: Sequence[int],
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    encoder: Encoder | None,
    head: ActionHead | None = None,
) -> bytes:
    """The binary record (version 1's body from the layer count on) of a network given as
    layer sizes, ±1 (or 0/1) weight matrices and biases."""
    widths = [_bias_width(np.asarray(b)) for b in biases]
    body = [struct.pack("<H", len(sizes) - 1), struct.pack(f"<{len(sizes)}I", *sizes), bytes(widths)]
    for w in weights:
        body.append(np.packbits((np.asarray(w) > 0).reshape(-1), bitorder="little").tobytes())
    for b, width in zip(biases, widths):
        if width:
            body.append(np.asarray(b).astype(_BIAS_DTYPES[width]).tobytes())
    body.append(encoder_head_bytes(encoder, head))
    return b"".join(body)


def encoder_head_bytes(encoder: Encoder | None, head: ActionHead | None) -> bytes:
    """A record's tail: ``1 encoder kind (0: none) + payload | 1 head flag + action head``."""
    return (bytes([0]) if encoder is None else bytes([encoder.kind]) + encoder.payload()) + (bytes([0]) if head is None else bytes([1]) + head.payload())


def read_encoder_head(r: Reader) -> tuple[Encoder | None, ActionHead | None]:
    """Inverse of :func:`encoder_head_bytes` at ``r``."""
    kind = r.u8("encoder kind")
    encoder = None
    if kind != 0:
        if kind not in ENCODER_KINDS:
            raise r.fail(f"malformed policy: unknown encoder kind {kind}")
        encoder = ENCODER_KINDS[kind].from_payload(r)
    has_head = r.u8("action head flag")
    if has_head not in (0, 1):
        raise r.fail(f"malformed policy: action head flag {has_head}")
    return encoder, ActionHead.from_payload(r) if has_head else None


def encode(
    sizes: Sequence[int],
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    encoder: Encoder | None,
    head: ActionHead | None = None,
) -> bytes:
    """Serialize a network given as layer sizes, ±1 (or 0/1) weight matrices and biases."""
    return frame(FAMILY_TAGS["binary_mlp"], binary_record(sizes, weights, biases, encoder, head))


def frame(tag: int, record: bytes) -> bytes:
    """A version-2 file: header, family tag, ``record``, CRC-32."""
    total = _FRAME.size + 1 + len(record) + 4
    data = _FRAME.pack(MAGIC, VERSION, total) + bytes([tag]) + record
    return data + struct.pack("<I", zlib.crc32(data))


def _open(data: bytes, source: str) -> tuple[int, Reader]:
    """Check magic, version, length and checksum; returns ``(family tag, reader at the record)``."""
    if len(data) == 0:
        raise ModelFormatError(f"{source}: file is empty, not a genome policy file")
    if len(data) < 4 and MAGIC.startswith(bytes(data)):
        raise ModelFormatError(f"{source}: file is truncated ({len(data)} bytes, too short for the header)")
    if bytes(data[:4]) != MAGIC:
        raise ModelFormatError(f"{source}: not a genome policy file (expected magic {MAGIC!r}, found {bytes(data[:4])!r})")
    if len(data) < _HEADER.size + 4:
        raise ModelFormatError(f"{source}: file is truncated ({len(data)} bytes, too short for the header)")
    _, version, total = _FRAME.unpack_from(data)
    if version not in (1, VERSION):
        raise ModelFormatError(f"{source}: unsupported format version {version} (this genome reads versions 1 and {VERSION}); upgrade genome")
    if len(data) < total:
        raise ModelFormatError(f"{source}: file is truncated ({len(data)} of {total} bytes)")
    if len(data) > total:
        raise ModelFormatError(f"{source}: {len(data) - total} unexpected bytes after the end of the policy")
    (stored_crc,) = struct.unpack_from("<I", data, total - 4)
    if zlib.crc32(data[: total - 4]) != stored_crc:
        raise ModelFormatError(f"{source}: checksum mismatch, the file is corrupted")

    r = Reader(data[: total - 4], source)
    r.take(_FRAME.size, "header")
    if version == 1:
        return FAMILY_TAGS["binary_mlp"], r
    tag = r.u8("family tag")
    if tag not in FAMILY_TAGS.values():
        raise r.fail(f"unknown policy family tag {tag} (this genome knows {', '.join(f'{v} {k}' for k, v in FAMILY_TAGS.items())}); upgrade genome")
    return tag, r


def decode(data: bytes, source: str) -> tuple[list[int], list[np.ndarray], list[np.ndarray], Encoder | None, ActionHead | None]:
    """Parse a binary network's policy file into ``(sizes, weight bits (uint8 0/1), biases,
    encoder, head)``. Every problem raises :class:`ModelFormatError` (a ``ValueError``)
    naming ``source``."""
    tag, r = _open(data, source)
    if tag != FAMILY_TAGS["binary_mlp"]:
        name = {v: k for k, v in FAMILY_TAGS.items()}[tag]
        raise r.fail(f"holds a real-valued {name} policy, not a binary network; load it with genome.load_policy")
    return read_binary_record(r)


#: family tag -> reader of that family's record (``reader(r, family)``, ``r`` a
#: :class:`~genome.io.Reader` at the record -> the trained network), registered by the
#: family's module
_READERS: dict[int, Callable[[Reader, str], object]] = {}


def register_reader(families: Sequence[str], reader: Callable[[Reader, str], object]) -> None:
    """``reader(r, family)`` parses the record of a file of any of ``families`` (``r`` stands
    after the family tag; a malformed record raises ``r.fail(...)``) and returns the network."""
    for name in families:
        _READERS[FAMILY_TAGS[name]] = reader


def read_network(data: bytes, source: str):
    """The network in a (checked) policy file, whatever its family; a bad file raises
    :class:`ModelFormatError` (a ``ValueError``) naming ``source``."""
    tag, r = _open(data, source)
    reader = _READERS.get(tag)
    if reader is None:  # pragma: no cover - every family's module registers on import (genome.policies)
        raise r.fail(f"holds a {family_of(data, source)} policy, whose reader is not loaded; load it with genome.load_policy")
    return reader(r, family_name(tag))


def check_end(r: Reader) -> None:
    """A record must end exactly before the checksum."""
    if r.remaining:
        raise r.fail(f"malformed policy: {r.remaining} unparsed bytes before the checksum")


def family_name(tag: int) -> str:
    """The ``policy.family`` of a family tag."""
    return {v: k for k, v in FAMILY_TAGS.items()}[tag]


def family_of(data: bytes, source: str) -> str:
    """The ``policy.family`` a (checked) policy file holds."""
    tag, _ = _open(data, source)
    return family_name(tag)


def read_binary_record(r: Reader):
    """The binary record at ``r``: ``(sizes, weight bits, biases, encoder, head)``."""
    n_layers = r.u16("layer count")
    if n_layers < 1:
        raise r.fail("malformed policy: no layers")
    sizes = list(r.unpack(f"{n_layers + 1}I", "layer sizes"))
    if min(sizes) < 1:
        raise r.fail(f"malformed policy: layer sizes {sizes} contain 0")
    if sum(sizes[i] * sizes[i + 1] for i in range(n_layers)) > MAX_WEIGHT_BITS:
        raise r.fail(f"malformed policy: layer sizes {sizes} are implausibly large")
    widths = list(r.take(n_layers, "bias widths"))
    for layer, width in enumerate(widths):
        if width not in _BIAS_DTYPES:
            raise r.fail(f"malformed policy: bias width {width} of layer {layer}")
    weights = []
    for layer in range(n_layers):
        n = sizes[layer] * sizes[layer + 1]
        raw = np.frombuffer(r.take((n + 7) // 8, f"weights of layer {layer}"), dtype=np.uint8)
        bits = np.unpackbits(raw, bitorder="little")[:n]
        weights.append(bits.reshape(sizes[layer + 1], sizes[layer]))
    biases = []
    for layer, width in enumerate(widths):
        n_out = sizes[layer + 1]
        if width == 0:
            biases.append(np.zeros(n_out, dtype=np.int64))
        else:
            raw = r.take(width * n_out, f"biases of layer {layer}")
            biases.append(np.frombuffer(raw, dtype=_BIAS_DTYPES[width]).astype(np.int64))
    encoder, head = read_encoder_head(r)
    check_end(r)
    return sizes, weights, biases, encoder, head


def read_file(path: str | os.PathLike) -> bytes:
    """Read a policy file's bytes; a missing or unreadable file raises ``ModelFormatError``."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise ModelFormatError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ModelFormatError(f"{path}: is a directory, not a policy file") from None
    except OSError as exc:
        raise ModelFormatError(f"{path}: cannot read ({exc.strerror})") from None
