"""Shared pytest configuration: hypothesis profiles.

``default``: 100 examples per test, no deadline (numerical checks vary in time).
``ci``: the same, derandomized so a CI run is reproducible; selected when ``CI`` is set.
``thorough``: 1000 examples per test (``HYPOTHESIS_PROFILE=thorough pytest property_tests``).
"""

import os

import pytest

from hypothesis import HealthCheck, settings

_common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("default", max_examples=100, **_common)
settings.register_profile("ci", max_examples=100, derandomize=True, print_blob=True, **_common)
settings.register_profile("thorough", max_examples=1000, **_common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default"))


@pytest.fixture(autouse=True, scope="module")
def _torch_default_dtype_is_restored(request):
    """A test module that changes torch's default dtype must restore it: a float64 default left behind
    makes later modules build float64 models and feed them float32 data (a failure far from its cause)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a test dependency
        yield
        return
    before = torch.get_default_dtype()
    yield
    after = torch.get_default_dtype()
    torch.set_default_dtype(before)
    assert after == before, f"{request.module.__name__} left torch's default dtype at {after} (was {before})"
