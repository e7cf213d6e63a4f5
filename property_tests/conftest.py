"""Shared pytest configuration: hypothesis profiles.

``default``: 100 examples per test, no deadline (numerical checks vary in time).
``ci``: the same, derandomized so a CI run is reproducible; selected when ``CI`` is set.
``thorough``: 1000 examples per test (``HYPOTHESIS_PROFILE=thorough pytest property_tests``).
"""

import os

from hypothesis import HealthCheck, settings

_common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("default", max_examples=100, **_common)
settings.register_profile("ci", max_examples=100, derandomize=True, print_blob=True, **_common)
settings.register_profile("thorough", max_examples=1000, **_common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default"))
