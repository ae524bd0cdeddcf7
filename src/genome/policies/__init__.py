"""Policy families: a genome (bits or reals) -> a network, its size, its compiled kernel and
its policy-file record (docs/architecture.md). Importing the package registers every
family's policy-file reader with :mod:`genome.nets.fileformat`."""

from genome.nets import binary_recurrent  # noqa: F401
from genome.policies import binary_latent, binary_mlp, binary_planes, binary_rnn, chromatic, conv, conv_lstm, dense, recurrent  # noqa: F401
