"""The ask/tell protocol every optimizer in genome follows.

``init(seed) -> state``; ``ask(state) -> members``; (evaluate the members);
``tell(state, members, fitness) -> (state, metrics)``. State objects are immutable
dataclasses with ``generation`` and ``seed`` fields: ``tell`` returns a new one.
``members`` is a small description (distribution parameters, seed, generation) from which
any worker regenerates any member's genome, so members are never shipped
(docs/architecture.md). Fitness is maximized; NaN (a failed member) ranks last.

:meth:`Strategy.tell` is a template: it validates the fitness vector, lets the subclass
update (:meth:`Strategy._tell`), and advances the generation count -- once, here. Each
strategy says what its *center* is (:meth:`Strategy.center`): the genome the trainer
checks every generation and saves at the end.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import replace
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
    """Base class: subclasses set ``name`` and ``genome_kinds`` and implement ``init``,
    ``ask``, ``_tell``, ``center`` and the checkpoint pair."""

    name: ClassVar[str]
    #: genome kinds this strategy can search: "bits" (binary families), "reals"
    genome_kinds: ClassVar[tuple[str, ...]]
    #: the trainer remembers the best-checked center and may save it instead of the last one
    #: (the GA's center is already its validated elite)
    tracks_best: ClassVar[bool] = True

    @classmethod
    @abstractmethod
    def from_config(cls, family, config) -> "Strategy":
        """Built from a policy family (genome kind, size, initial genome) and the strategy's config section."""

    @abstractmethod
    def init(self, seed: int) -> Any:
        """Initial state for a run with this seed."""

    @abstractmethod
    def ask(self, state: Any) -> Members:
        """The members to evaluate this generation."""

    def validation(self, state: Any, members: Members, fitness: np.ndarray) -> tuple[Members, Any] | None:
        """Members to re-evaluate before :meth:`tell` and the
        :class:`~genome.problems.base.EpisodeRequest` to run them with (the GA's elite
        candidates); None (the default) for none. Every frame of it counts."""
        return None

    def histogram(self, state: Any) -> np.ndarray | None:
        """Values TensorBoard shows as a histogram (Bernoulli NES: its logits); None: none."""
        return None

    def tell(self, state: Any, members: Members, fitness: np.ndarray, validation: tuple[Members, np.ndarray] | None = None) -> tuple[Any, dict[str, float]]:
        """Update from the members' fitness (higher is better), and the re-evaluated
        ``(members, mean returns)`` that :meth:`validation` asked for; returns ``(new state,
        metrics)``."""
        fitness = np.asarray(fitness, dtype=np.float64)
        if fitness.shape != (members.count,):
            raise ValueError(f"expected {members.count} fitness values, got shape {fitness.shape}")
        new, metrics = self._tell(state, members, fitness, validation) if validation is not None else self._tell(state, members, fitness)
        return replace(new, generation=state.generation + 1), metrics

    @abstractmethod
    def _tell(self, state: Any, members: Members, fitness: np.ndarray) -> tuple[Any, dict[str, float]]:
        """The strategy's update (fitness already validated; the generation is advanced by
        :meth:`tell`). A strategy with a :meth:`validation` step also takes ``validation``."""

    @abstractmethod
    def center(self, state: Any) -> np.ndarray:
        """The genome the strategy stands for now (NES: the most likely one; ES: the mean)."""

    @abstractmethod
    def state_to_arrays(self, state: Any) -> dict[str, np.ndarray]:
        """State as named numpy arrays, for checkpoints (no pickle)."""

    @abstractmethod
    def state_from_arrays(self, arrays: dict[str, np.ndarray]) -> Any:
        """Inverse of :meth:`state_to_arrays`."""
