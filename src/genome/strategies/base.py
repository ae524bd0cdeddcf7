"""The ask/tell protocol every optimizer in genome follows.

``init(seed) -> state``; ``ask(state) -> members``; (evaluate the members);
``tell(state, members, fitness) -> (state, metrics)``. State objects are immutable:
``tell`` returns a new one. ``members`` is a small description (distribution parameters,
seed, generation) from which any worker regenerates any member's genome, so members are
never shipped (design.md §7). Fitness is maximized.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np


class Members(ABC):
    """A population description: ``genomes(start, stop)`` regenerates members ``[start, stop)``."""

    count: int

    @abstractmethod
    def genomes(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Genomes of members ``[start, stop)`` as a 2-D array ``(stop - start, n_params)``."""


class FixedMembers(Members):
    """Explicit genomes (for example one center network to evaluate)."""

    def __init__(self, genomes: np.ndarray):
        self._genomes = np.ascontiguousarray(np.atleast_2d(genomes))
        self.count = self._genomes.shape[0]

    def genomes(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        return self._genomes[start : self.count if stop is None else stop]


class Strategy(ABC):
    """Base class: subclasses implement the five methods below."""

    name: ClassVar[str]

    @abstractmethod
    def init(self, seed: int) -> Any:
        """Initial state for a run with this seed."""

    @abstractmethod
    def ask(self, state: Any) -> Members:
        """The members to evaluate this generation."""

    @abstractmethod
    def tell(self, state: Any, members: Members, fitness: np.ndarray) -> tuple[Any, dict[str, float]]:
        """Update from the members' fitness (higher is better); returns ``(new state, metrics)``."""

    @abstractmethod
    def center(self, state: Any) -> np.ndarray:
        """The most likely genome under the current distribution."""

    @abstractmethod
    def state_to_arrays(self, state: Any) -> dict[str, np.ndarray]:
        """State as named numpy arrays, for checkpoints (no pickle)."""

    @abstractmethod
    def state_from_arrays(self, arrays: dict[str, np.ndarray]) -> Any:
        """Inverse of :meth:`state_to_arrays`."""
