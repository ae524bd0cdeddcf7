"""Binary networks: layout, numba kernels, the ``BinaryNetwork`` object and its file format."""

from genome.nets.binary import BinaryNetwork
from genome.bits import pack_bits, unpack_bits
from genome.nets.layout import Layout
from genome.nets.population import BinaryPopulation

__all__ = ["BinaryNetwork", "BinaryPopulation", "Layout", "pack_bits", "unpack_bits"]
