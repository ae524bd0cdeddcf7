"""Optimizers behind one ask/tell protocol (:mod:`genome.strategies.base`)."""

from genome.strategies.base import FixedMembers, Members, Strategy
from genome.strategies.bernoulli_nes import BernoulliNES
from genome.strategies.ga import GA
from genome.strategies.openai_es import OpenAIES

#: Config name (``strategy.name``) -> strategy class.
STRATEGIES: dict[str, type[Strategy]] = {cls.name: cls for cls in (BernoulliNES, OpenAIES, GA)}

__all__ = ["GA", "STRATEGIES", "BernoulliNES", "FixedMembers", "Members", "OpenAIES", "Strategy"]
