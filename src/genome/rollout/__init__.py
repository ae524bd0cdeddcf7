"""Rollouts: fused kernels, evaluation problems and executors."""
