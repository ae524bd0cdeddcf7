import os

from hypothesis import HealthCheck, settings

# Numba kernels compile on first use; never let that count as a slow example.
settings.register_profile("genome", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", parent=settings.get_profile("genome"), max_examples=60)
settings.load_profile("ci" if os.environ.get("CI") else "genome")
