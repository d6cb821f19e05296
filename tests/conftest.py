"""Hypothesis profiles: 'ci' (deterministic, bounded; chosen when CI=true), 'dev' (the default: also
deterministic, twice the examples, so the README's test command gives every user the same green run),
'thorough' (500 random examples per property: the one that explores, on demand).

Select explicitly with MINIGRAD_HYPOTHESIS_PROFILE=thorough.
"""
import os
import tempfile

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=15, derandomize=True, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("dev", max_examples=30, derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("thorough", max_examples=500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_default = "ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "dev"
settings.load_profile(os.environ.get("MINIGRAD_HYPOTHESIS_PROFILE", _default))

# pytest-xdist runs a worker per core, each with a kernel thread per core: idle OpenMP workers
# must sleep, not spin (libgomp reads this when the extensions load, after this file)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# conv kernel choices are measured once and kept on disk: never in the user's cache dir in tests
os.environ["MINIGRAD_CACHE_DIR"] = tempfile.mkdtemp(prefix="minigrad-test-cache-")
