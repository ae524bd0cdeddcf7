"""genome: tiny, fast reinforcement-learning policies trained by evolution.

Binary neural networks (±1 weights and activations packed in ``uint64``, XOR + popcount)
trained with natural evolution strategies over a Bernoulli distribution; real-valued linear,
MLP, Toeplitz and circulant policies trained with OpenAI-ES (ARS as a configuration); the
Deep Neuroevolution GA with seed-chain genomes for either (docs/architecture.md).
"""

from genome import kernel_cache

kernel_cache.check()  # before any kernel loads: drop cached kernels compiled from older sources

from genome import envs  # noqa: E402, F401  (registers genome/<id> with Gymnasium)
from genome.api import load_policy, train  # noqa: E402
from genome.config import Config  # noqa: E402
from genome.envs.custom import NativeEnv  # noqa: E402
from genome.encoders import DitheredThermometerEncoder, OneHotEncoder, RawBitsEncoder, SignEncoder, ThermometerEncoder  # noqa: E402
from genome.errors import ConfigError, GenomeError, ModelFormatError, ShapeError  # noqa: E402
from genome.nets import BinaryNetwork, BinaryPopulation, Layout  # noqa: E402
from genome.policy import Policy  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "Config",
    "NativeEnv",
    "Policy",
    "load_policy",
    "train",
    "BinaryNetwork",
    "BinaryPopulation",
    "ConfigError",
    "GenomeError",
    "Layout",
    "ModelFormatError",
    "DitheredThermometerEncoder",
    "OneHotEncoder",
    "RawBitsEncoder",
    "ShapeError",
    "SignEncoder",
    "ThermometerEncoder",
]
