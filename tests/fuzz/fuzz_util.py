"""Shared settings for the property-based (hypothesis) tests in this folder.

Every test here runs a fixed, modest number of examples, derandomized and with no example
database, so two runs of the suite try exactly the same inputs and the whole folder stays
well under half a minute on one core: `python -m pytest tests/fuzz`.
"""

from hypothesis import HealthCheck, settings


def fuzz(max_examples: int) -> settings:
    """Deterministic hypothesis settings: the same examples on every run and every machine."""
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                    print_blob=False, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
