"""Optimizers behind one ask/tell protocol (:mod:`genome.strategies.base`)."""

from genome.strategies.base import FixedMembers, Members, Strategy
from genome.strategies.bernoulli_nes import BernoulliNES

#: Config name -> strategy class.
STRATEGIES: dict[str, type[Strategy]] = {BernoulliNES.name: BernoulliNES}

__all__ = ["STRATEGIES", "BernoulliNES", "FixedMembers", "Members", "Strategy"]
