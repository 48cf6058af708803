"""The team view's suppression, over random tables (hypothesis): no figure of a group under k is ever published (page
or CSV), and no hidden count can be computed from the visible cells and totals: checked here independently, by
linear algebra on the table's equations, not by the bridge search the helper uses."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from futurisys.teams.suppression import MIN_K, suppress
from futurisys.teams.table import Tally, publish
from futurisys.teams.views import HIDDEN, team_csv

# Small groups are what matters: most counts are under 10, a few larger, many empty.
COUNTS = st.one_of(st.just(0), st.integers(1, 9), st.integers(10, 60))


@st.composite
def tables(draw):
    rows = draw(st.integers(1, 6))
    columns = draw(st.integers(1, 5))
    counts = {(f"r{r}", f"c{c}"): draw(COUNTS) for r in range(rows) for c in range(columns)}
    return counts, draw(st.integers(MIN_K, 8))


def items_and_lines(counts: dict) -> tuple[list, list[set]]:
    """Every item of the published table (cells, row totals, column totals, grand total) and each equation as the
    set of its terms: a line's cells minus its total."""
    rows = sorted({r for r, _ in counts})
    columns = sorted({c for _, c in counts})
    items = [("cell", key) for key in counts] + [("row", r) for r in rows] + [("column", c) for c in columns]
    items.append(("total", None))
    lines = [{("cell", (r, c)) for c in columns} | {("row", r)} for r in rows]
    lines += [{("cell", (r, c)) for r in rows} | {("column", c)} for c in columns]
    lines.append({("row", r) for r in rows} | {("total", None)})
    lines.append({("column", c) for c in columns} | {("total", None)})
    return items, lines


def value(counts: dict, item) -> int:
    kind, key = item
    if kind == "cell":
        return counts[key]
    if kind == "total":
        return sum(counts.values())
    position = 0 if kind == "row" else 1
    return sum(n for cell, n in counts.items() if cell[position] == key)


def is_hidden(result, item) -> bool:
    kind, key = item
    return result.hides(kind, key)


def determinable(counts: dict, result) -> list:
    """The hidden items whose value follows from the visible ones through the equations (exact rank test)."""
    items, lines = items_and_lines(counts)
    hidden = [item for item in items if is_hidden(result, item)]
    if not hidden:
        return []
    matrix = np.array(
        [[(-1 if _is_total_of(item, line) else 1) * (item in line) for item in hidden]
         for line in lines],
        dtype=float,
    )  # fmt: skip
    rank = np.linalg.matrix_rank(matrix)
    found = []
    for j, item in enumerate(hidden):
        unit = np.zeros((1, len(hidden)))
        unit[0, j] = 1
        if np.linalg.matrix_rank(np.vstack([matrix, unit])) == rank:
            found.append(item)
    return found


def _is_total_of(item, line: set) -> bool:
    """Whether `item` is the total of `line` (its right-hand side), not one of its terms."""
    kind = item[0]
    if kind in ("cell", "total"):
        return kind == "total"
    # A row total is the total of its row's line and a term of the line of row totals (which holds the grand total).
    return ("total", None) not in line


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_no_group_under_k_is_shown_and_no_hidden_count_can_be_computed(table):
    counts, k = table
    result = suppress(counts, k)
    items, lines = items_and_lines(counts)
    for item in items:
        n = value(counts, item)
        if 0 < n < k:
            assert is_hidden(result, item), item  # primary suppression
        if n == 0:
            assert not is_hidden(result, item), item  # an empty group protects no one
    assert determinable(counts, result) == []
    for line in lines:
        total = next(item for item in line if _is_total_of(item, line))
        if not is_hidden(result, total):
            remainder = sum(value(counts, item) for item in line if item != total and is_hidden(result, item))
            assert remainder == 0 or remainder >= k, (line, remainder)  # the hidden part of a line is no small group


@settings(max_examples=150, deadline=None)
@given(tables(), st.data())
def test_the_page_and_the_csv_hold_no_figure_of_a_small_group(table, data):
    counts, k = table
    tallies = {}
    for key, n in counts.items():
        high = data.draw(st.integers(0, n))
        tallies[key] = Tally(n, high, data.draw(st.floats(0.01, 0.99)) * n, data.draw(st.integers(0, n)))
    published = publish(tallies, k, with_departures=True)
    groups = [
        *published.cells.values(),
        *published.row_totals.values(),
        *published.column_totals.values(),
        published.total,
    ]
    for shown in groups:
        assert shown.figures is None or shown.figures.n >= k
        if shown.hidden:
            assert shown.figures is None and shown.trend == () and shown.tone is None
    exported = list(csv.reader(io.StringIO(team_csv(published, "Poste").decode("utf-8-sig")), delimiter=";"))
    for line in exported[1:]:
        head_count = line[3]
        if head_count == HIDDEN:
            assert line[4:] == [HIDDEN] * 3
        elif head_count:
            assert int(head_count) == 0 or int(head_count) >= k


def test_a_lone_small_cell_takes_a_second_one_with_it_and_totals_stay_exact():
    counts = {("Ventes", "A"): 2, ("Ventes", "B"): 12, ("RH", "A"): 30, ("RH", "B"): 25}
    result = suppress(counts, 5)
    # Row « Ventes » would give 14 − 12 = 2: its other cell goes too, and column B's second cell with it.
    assert result.cells == {("Ventes", "A"), ("Ventes", "B"), ("RH", "A"), ("RH", "B")}
    assert not result.rows and not result.columns and not result.total


def test_a_small_total_is_hidden_and_so_is_what_would_give_it_away():
    counts = {("a", "x"): 1, ("a", "y"): 0, ("b", "x"): 0, ("b", "y"): 10}
    result = suppress(counts, 5)
    assert ("a", "x") in result.cells and "a" in result.rows and "x" in result.columns
    assert determinable(counts, result) == []


def test_k_under_the_floor_is_refused():
    with pytest.raises(ValueError):
        suppress({("a", "x"): 4}, 2)
