"""Policies: action heads, the binary-MLP family (genome bits -> network) and ``Policy``."""
