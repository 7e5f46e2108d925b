"""Long-format ratings (``item``, ``rater``, ``label``): the one input of every rater statistic.

Layers (docs/architecture.md):

- ``encoding.py`` (statistics): :class:`Ratings`, the integer-coded container, and
  :func:`prepare_ratings`, which validates long ratings and builds it; converters
  from wide tables and two-rater contingency tables.
- ``store.py`` (warehouse): :func:`ratings_from_warehouse` (the ``annotations`` of one
  task, filters bound as parameters) and :func:`schema_for` (its label schema).

:mod:`trainerlab.agreement` and :mod:`trainerlab.annotators` both build on this
package, and neither is imported here, so the two families stay free of cycles.
"""

from .encoding import LEVELS, Ratings, from_contingency_table, from_wide, prepare_ratings
from .store import ratings_from_warehouse, schema_for

__all__ = [
    "LEVELS",
    "Ratings",
    "prepare_ratings",
    "from_wide",
    "from_contingency_table",
    "ratings_from_warehouse",
    "schema_for",
]
