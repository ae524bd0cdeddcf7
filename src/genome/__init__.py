"""genome: tiny, fast reinforcement-learning policies trained by evolution.

Binary neural networks (±1 weights and activations packed in ``uint64``, XOR + popcount)
trained with natural evolution strategies over a Bernoulli distribution.
"""

from genome import envs  # noqa: F401  (registers genome/<id> with Gymnasium)
from genome.api import load_policy, train
from genome.config import Config
from genome.encoders import OneHotEncoder, RawBitsEncoder, SignEncoder, ThermometerEncoder
from genome.errors import ConfigError, GenomeError, ModelFormatError, ShapeError
from genome.nets import BinaryNetwork, BinaryPopulation, Layout
from genome.policy import Policy

__version__ = "0.1.0"

__all__ = [
    "Config",
    "Policy",
    "load_policy",
    "train",
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
