"""Keyset pagination: each page starts after (or ends before) the key of a row, so page 10,000 costs what page 1 does.

A page is read with `WHERE (sort value, id) < (last value, last id) ORDER BY sort value, id LIMIT n + 1` on an index
of (…, sort value, id): no OFFSET walking the rows before it, and rows written meanwhile neither shift the pages nor
repeat a row. The links carry the key as a short text token (`apres`/`avant` in the query string).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

SEPARATOR = "_"


@dataclass(frozen=True)
class KeysetPage:
    """One page of rows, with the tokens of the pages after and before it (None where there is none)."""

    items: list
    next_key: str | None
    prev_key: str | None

    @property
    def has_next(self) -> bool:
        return self.next_key is not None

    @property
    def has_prev(self) -> bool:
        return self.prev_key is not None


def _text(value) -> str:
    if isinstance(value, datetime):
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.isoformat()
    return repr(value) if isinstance(value, float) else str(value)


def encode(values: Sequence) -> str:
    """A row's key values as a token for a link."""
    return SEPARATOR.join(_text(value) for value in values)


def decode(token: str | None, columns: Sequence[sa.Column]) -> tuple | None:
    """The key values a token holds, typed as `columns`; None when it is missing or not a key of theirs."""
    if not token:
        return None
    parts = token.split(SEPARATOR)
    if len(parts) != len(columns):
        return None
    values = []
    try:
        for part, column in zip(parts, columns, strict=True):
            kind = column.type.python_type
            if kind is datetime:
                value = datetime.fromisoformat(part)
                values.append(value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC))
            elif kind is float:
                number = float(part)
                if number != number or number in (float("inf"), float("-inf")):
                    return None
                values.append(number)
            else:
                number = int(part)
                if not -(2**63) <= number < 2**63:  # beyond what the databases can bind
                    return None
                values.append(number)
    except (ValueError, OverflowError):
        return None
    return tuple(values)


def keyset_page(
    session,
    statement: sa.Select,
    columns: Sequence[sa.Column],
    *,
    descending: bool,
    key_of: Callable[[object], tuple],
    per_page: int,
    after: str | None = None,
    before: str | None = None,
) -> KeysetPage:
    """The page of `statement` (ordered by `columns`, all one way) after the `after` key or before `before`."""
    key = sa.tuple_(*columns)
    backwards = decode(before, columns) if after is None else None
    start = decode(after, columns)
    if backwards is not None:
        # Read the previous page in reverse order from its boundary, then put it back the right way round.
        boundary = key > sa.tuple_(*backwards) if descending else key < sa.tuple_(*backwards)
        order = [c.asc() if descending else c.desc() for c in columns]
        rows = list(session.scalars(statement.where(boundary).order_by(*order).limit(per_page + 1)).unique())
        more_before = len(rows) > per_page
        items = rows[:per_page][::-1]
        return KeysetPage(
            items,
            encode(key_of(items[-1])) if items else None,
            encode(key_of(items[0])) if items and more_before else None,
        )
    if start is not None:
        statement = statement.where(key < sa.tuple_(*start) if descending else key > sa.tuple_(*start))
    order = [c.desc() if descending else c.asc() for c in columns]
    rows = list(session.scalars(statement.order_by(*order).limit(per_page + 1)).unique())
    items = rows[:per_page]
    return KeysetPage(
        items,
        encode(key_of(items[-1])) if len(rows) > per_page else None,
        encode(key_of(items[0])) if items and start is not None else None,
    )


def estimate_rows(session, statement: sa.Select) -> int:
    """PostgreSQL's planner estimate of the rows `statement` returns (no row read), to two significant digits."""
    compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    plan = session.execute(sa.text(f"EXPLAIN (FORMAT JSON) {compiled}")).scalar_one()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    rows = int(plan[0]["Plan"]["Plan Rows"])
    return int(float(f"{rows:.2g}")) if rows >= 100 else rows


def bounded_count(session, statement: sa.Select, limit: int) -> tuple[int, bool]:
    """(count, exact): exact when at most `limit` rows match (reading no more than limit + 1), else estimated.

    Only PostgreSQL estimates; other databases (SQLite, the small embedded default) count every row.
    """
    if session.get_bind().dialect.name != "postgresql":
        return session.scalar(sa.select(sa.func.count()).select_from(statement.subquery())), True
    capped = statement.limit(limit + 1).subquery()
    found = session.scalar(sa.select(sa.func.count()).select_from(capped))
    return (found, True) if found <= limit else (max(estimate_rows(session, statement), limit + 1), False)
