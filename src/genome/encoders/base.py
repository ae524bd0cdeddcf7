"""The encoder interface: observations in, packed uint64 input bits out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from genome.errors import ShapeError
from genome.bits import unpack_bits, words_for


class Encoder(ABC):
    """Maps an observation of ``n_inputs`` values to ``n_bits`` bits (packed in uint64 words).

    Subclasses are small immutable value objects; they are saved inside the policy file.
    """

    #: Code of this encoder in the policy file format.
    kind: ClassVar[int]
    #: Short name used in configs and reprs.
    name: ClassVar[str]

    n_inputs: int
    n_bits: int

    @property
    def n_words(self) -> int:
        return words_for(self.n_bits)

    def _as_batch(self, obs) -> tuple[np.ndarray, bool]:
        """1-D input is one observation; otherwise the first axis is the batch, unless the
        whole array is exactly one (multi-dimensional) observation."""
        arr = np.asarray(obs)
        if arr.ndim == 1 and arr.shape[0] == self.n_inputs:
            return arr.reshape(1, self.n_inputs), True
        if arr.ndim >= 2 and arr[0].size == self.n_inputs:
            return arr.reshape(arr.shape[0], self.n_inputs), False
        if arr.ndim >= 2 and arr.size == self.n_inputs:
            return arr.reshape(1, self.n_inputs), True
        raise ShapeError(
            f"{self.name} encoder expects observations of {self.n_inputs} values "
            f"(or a batch of them), got shape {arr.shape}"
        )

    def encode(self, obs) -> np.ndarray:
        """Packed input words: ``(n_words,)`` for one observation, ``(batch, n_words)`` for a batch."""
        batch, single = self._as_batch(obs)
        out = np.empty((batch.shape[0], self.n_words), dtype=np.uint64)
        self._encode_batch(batch, out)
        return out[0] if single else out

    def encode_bits(self, obs) -> np.ndarray:
        """Like :meth:`encode` but as a 0/1 ``uint8`` array of ``n_bits`` per observation."""
        return unpack_bits(self.encode(obs), self.n_bits)

    def expected_signs(self, obs) -> np.ndarray:
        """The code as ``±1`` floats ``(batch, n_bits)``, averaged over whatever the encoder
        randomizes (a dithered thermometer's shifts); a deterministic code is its own average."""
        batch, _ = self._as_batch(obs)
        return unpack_bits(self.encode(batch), self.n_bits).astype(np.float64) * 2.0 - 1.0

    @abstractmethod
    def _encode_batch(self, obs: np.ndarray, out: np.ndarray) -> None:
        """Fill ``out`` (rows, n_words) from ``obs`` (rows, n_inputs)."""

    @abstractmethod
    def payload(self) -> bytes:
        """Serialized parameters (the policy file stores ``kind`` then this)."""

    @classmethod
    @abstractmethod
    def from_payload(cls, reader) -> "Encoder":
        """Inverse of :meth:`payload`, reading from a :class:`genome.io.Reader`."""

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.payload() == self.payload()

    def __hash__(self) -> int:
        return hash((self.kind, self.payload()))
