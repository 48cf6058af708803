"""Who must hear that stored predictions were deleted or moved: aggregates kept by other packages register here.

The storage layer calls these in the deleting transaction; it never imports the packages that listen (outcomes
forgets its monthly summaries), so the dependency goes one way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

#: Each called with (connection, up_to): predictions made up to `up_to` (of any date when None) were changed.
PREDICTIONS_CHANGED: list[Callable] = []


def predictions_changed(connection, up_to: datetime | None = None) -> None:
    """Tell the listeners that predictions made up to `up_to` (any, when None) were deleted or re-attributed."""
    for hook in PREDICTIONS_CHANGED:
        hook(connection, up_to)
