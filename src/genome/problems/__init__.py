"""Problems: *how* a member is evaluated -- fused native rollouts (:mod:`genome.problems.native`)
or real Gymnasium environments (:mod:`genome.problems.gym`, stepped by Python or by EnvPool),
behind one interface (:mod:`genome.problems.base`; docs/architecture.md)."""

from genome.problems.base import EpisodeRequest, EvalResult, evaluate_members, failed_result, open_problem

__all__ = ["EpisodeRequest", "EvalResult", "evaluate_members", "failed_result", "open_problem"]
