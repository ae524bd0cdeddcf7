"""genome: tiny, fast reinforcement-learning policies trained by evolution.

Binary neural networks (±1 weights and activations packed in ``uint64``, XOR + popcount)
trained with natural evolution strategies over a Bernoulli distribution.
"""

from genome.encoders import OneHotEncoder, RawBitsEncoder, SignEncoder, ThermometerEncoder
from genome.errors import ConfigError, GenomeError, ModelFormatError, ShapeError
from genome.nets import BinaryNetwork, BinaryPopulation, Layout

__version__ = "0.1.0"

__all__ = [
    "BinaryNetwork",
    "BinaryPopulation",
    "ConfigError",
    "GenomeError",
    "Layout",
    "ModelFormatError",
    "OneHotEncoder",
    "RawBitsEncoder",
    "ShapeError",
    "SignEncoder",
    "ThermometerEncoder",
]
