"""Encoders turn observations into the packed input bits of a binary network.

=================  ==========================================================
``thermometer``    ``n`` bits per dimension, bit ``i`` = ``x >= edge_i``
(dithered)         the same after shifting ``x`` by a hash of the observation
                   (``policy.dither``: :class:`DitheredThermometerEncoder`)
``onehot``         ``n`` bits per dimension, one set bit: the bucket of ``x``
``sign``           1 bit per dimension, ``x >= center``
``rawbits``        8 bits per byte of a ``uint8`` observation
``image``          grayscale, block-averaged to ``h x w``, thresholded: 1 bit per cell
=================  ==========================================================

Edges come from the observation space's finite bounds (``from_space``), or from
observed statistics (``from_samples``: quantiles), or are given explicitly.
"""

from __future__ import annotations

from genome.encoders.base import Encoder
from genome.encoders.image import ImageEncoder
from genome.encoders.interval import DitheredThermometerEncoder, OneHotEncoder, SignEncoder, ThermometerEncoder
from genome.encoders.raw import RawBitsEncoder

#: File-format code -> encoder class.
ENCODER_KINDS: dict[int, type[Encoder]] = {
    cls.kind: cls for cls in (ThermometerEncoder, OneHotEncoder, SignEncoder, RawBitsEncoder, ImageEncoder, DitheredThermometerEncoder)
}
#: Config name (``policy.encoder``) -> encoder class; the dithered thermometer is chosen by
#: ``policy.dither`` instead.
ENCODERS: dict[str, type[Encoder]] = {
    cls.name: cls for cls in ENCODER_KINDS.values() if cls is not DitheredThermometerEncoder
}

__all__ = [
    "DitheredThermometerEncoder",
    "ENCODERS",
    "ENCODER_KINDS",
    "Encoder",
    "ImageEncoder",
    "OneHotEncoder",
    "RawBitsEncoder",
    "SignEncoder",
    "ThermometerEncoder",
]
