"""Typed errors. Every message is one line that names the thing and the fix."""

from __future__ import annotations


class GenomeError(Exception):
    """Base class of every error genome raises on purpose."""


class ConfigError(GenomeError, ValueError):
    """A configuration value, preset name or command-line flag is invalid."""


class ModelFormatError(GenomeError, ValueError):
    """A policy or checkpoint file is empty, truncated, corrupted or not genome's."""


class ShapeError(GenomeError, ValueError):
    """An array given to a network or encoder has the wrong shape, dtype or values."""


class MujocoWarning(UserWarning):
    """A warning MuJoCo issued (it would write ``MUJOCO_LOG.TXT`` into the working
    directory and print to the console; genome routes it here, once per process)."""
