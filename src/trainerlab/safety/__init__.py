"""Safety taxonomy and refusal analysis (``docs/responsible_ai.md``).

- ``rates.py`` (statistics): :func:`incident_rates` (exact Poisson CIs),
  :func:`incident_trend` (weekly rates and a quasi-Poisson trend), :func:`refusal_confusion`
  (over- and under-refusal, Wilson CIs), :func:`must_not_fail_by_release`.
- ``store.py`` (warehouse): loaders for ``safety_incidents``, ``refusal_cases``,
  ``safety_reviews``, ``interactions`` and the must-not-fail results, and :func:`table_columns`.
"""

from .rates import incident_rates, incident_trend, must_not_fail_by_release, refusal_confusion
from .store import load_incidents, load_interactions, load_must_not_fail, load_refusals, load_reviews, table_columns

__all__ = [
    "incident_rates",
    "incident_trend",
    "refusal_confusion",
    "must_not_fail_by_release",
    "load_incidents",
    "load_interactions",
    "load_refusals",
    "load_reviews",
    "load_must_not_fail",
    "table_columns",
]
