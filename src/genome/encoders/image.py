"""Image observations: grayscale, downsample by block averaging, threshold to bits.

``ImageEncoder((210, 160, 3), (21, 16))`` averages the channels, averages blocks of
``10 x 10`` pixels down to ``21 x 16``, and sets bit ``i`` iff that block's brightness is
``>= thresholds[i]`` (128 by default; the trainer can set them from running means).
Example (one line)::

    ImageEncoder((2, 2, 1), (1, 1)).encode_bits(np.full((2, 2, 1), 200, np.uint8))  # -> [1]
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

from genome.bits import pack_bits
from genome.encoders.base import Encoder
from genome.errors import ShapeError


class ImageEncoder(Encoder):
    kind = 5
    name = "image"

    def __init__(self, shape: Sequence[int], out_hw: Sequence[int], thresholds=None):
        shape = tuple(int(s) for s in shape)
        if len(shape) == 2:
            shape = shape + (1,)
        if len(shape) != 3 or min(shape) < 1:
            raise ShapeError(f"image encoder needs an (H, W) or (H, W, C) shape, got {shape}")
        h, w = int(out_hw[0]), int(out_hw[1])
        if not (1 <= h <= shape[0] and 1 <= w <= shape[1]):
            raise ShapeError(f"image encoder output {h}x{w} must be between 1x1 and the image size {shape[0]}x{shape[1]}")
        self.shape, self.out_hw = shape, (h, w)
        self.n_inputs = int(np.prod(shape))
        self.n_bits = h * w
        t = np.full(self.n_bits, 128.0, np.float32) if thresholds is None else np.asarray(thresholds, np.float32).reshape(-1)
        if t.shape != (self.n_bits,) or not np.all(np.isfinite(t)):
            raise ShapeError(f"image encoder needs {self.n_bits} finite thresholds, got shape {t.shape}")
        self.thresholds = t
        # block boundaries: output cell (r, c) averages rows rb[r]:rb[r+1] and cols cb[c]:cb[c+1]
        self._rb = np.linspace(0, shape[0], h + 1).astype(int)
        self._cb = np.linspace(0, shape[1], w + 1).astype(int)

    def brightness(self, obs: np.ndarray) -> np.ndarray:
        """Downsampled grayscale ``(batch, h*w)`` of a batch ``(batch, H*W*C)``."""
        img = obs.reshape((-1,) + self.shape).astype(np.float32).mean(axis=3)
        rows = np.add.reduceat(img, self._rb[:-1], axis=1) / np.diff(self._rb)[None, :, None]
        cells = np.add.reduceat(rows, self._cb[:-1], axis=2) / np.diff(self._cb)[None, None, :]
        return cells.reshape(cells.shape[0], -1)

    def _encode_batch(self, obs: np.ndarray, out: np.ndarray) -> None:
        out[:] = pack_bits(self.brightness(obs) >= self.thresholds)

    def payload(self) -> bytes:
        return struct.pack("<5I", *self.shape, *self.out_hw) + self.thresholds.astype("<f4").tobytes()

    @classmethod
    def from_payload(cls, reader) -> "ImageEncoder":
        h, w, c, oh, ow = reader.unpack("5I", "image encoder shape")
        if not (0 < oh <= h <= 1 << 16 and 0 < ow <= w <= 1 << 16 and 0 < c <= 64):
            raise reader.fail(f"malformed image encoder shape {(h, w, c)} -> {(oh, ow)}")
        t = np.frombuffer(reader.take(4 * oh * ow, "image thresholds"), "<f4")
        try:
            return cls((h, w, c), (oh, ow), t)
        except ShapeError as exc:
            raise reader.fail(str(exc)) from None

    def __repr__(self) -> str:
        return f"ImageEncoder({self.shape} -> {self.out_hw})"
