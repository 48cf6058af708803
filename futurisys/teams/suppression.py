"""Which cells of a two-way table of head counts to hide so that no group under k employees can be read or deduced.

The table is published with its row totals, column totals and grand total. Three rules, applied until none adds a
hidden item (no Flask here):

1. *Primary*: every cell, row total, column total or grand total counting from 1 to k − 1 employees is hidden.
2. *Nothing deducible*: a hidden count must not follow from the visible ones by the additions the totals state.
   Each line of the table ("row r's cells add up to row r's total", likewise for columns, and "the row totals add
   up to the grand total", likewise for the column totals) is a node of a graph whose edges are the hidden items,
   each joining the two lines it appears in (a cell: its row and its column; a row total: its row and the line of
   row totals; the grand total: the two lines of totals). Up to signs this is the incidence matrix of a directed
   graph, so a hidden item's count is fixed by the visible ones exactly when its edge is a bridge (on no cycle);
   otherwise moving ±1 around a cycle through it gives another table with the same visible figures, and since every
   hidden item counts at least 1 person that table has no negative count. So no bridge is left: the smallest
   visible non-empty item joining the bridge's two sides is hidden too (a cycle at once), until none remains.
3. *No small remainder*: when a line's total is visible, the hidden items of that line add up to a known number;
   they are the group that number counts, so it must be 0 or at least k.

Empty cells are never hidden (an empty cell says no one, which protects no one). Hiding everything satisfies all
three rules, so the loop always ends, usually after a few items.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

#: The smallest group size the setting may ask for (default 5).
MIN_K = 3
ROW_TOTALS, COLUMN_TOTALS = ("totaux", "lignes"), ("totaux", "colonnes")
TOTAL = ("total",)


@dataclass(frozen=True)
class Suppression:
    """The hidden cells, row totals and column totals, and whether the grand total is hidden."""

    cells: frozenset[tuple[Hashable, Hashable]]
    rows: frozenset[Hashable]
    columns: frozenset[Hashable]
    total: bool

    def hides(self, kind: str, key) -> bool:
        """Whether a group is hidden: kind "cell" (key (row, column)), "row", "column" or "total" (key None)."""
        if kind == "total":
            return self.total
        return key in {"cell": self.cells, "row": self.rows, "column": self.columns}[kind]


def suppress(counts: Mapping[tuple[Hashable, Hashable], int], k: int) -> Suppression:
    """What to hide of the table `counts` ({(row, column): head count}, missing cells empty) for groups of `k`."""
    if k < MIN_K:
        raise ValueError(f"k must be at least {MIN_K}, got {k}")
    table = _Table(counts)
    hidden = {item for item, n in table.items.items() if 0 < n < k}
    while (extra := _next_to_hide(table, hidden, k)) is not None:
        hidden.add(extra)
    return Suppression(
        cells=frozenset(item[1:] for item in hidden if item[0] == "cell"),
        rows=frozenset(item[1] for item in hidden if item[0] == "row"),
        columns=frozenset(item[1] for item in hidden if item[0] == "column"),
        total=TOTAL in hidden,
    )


class _Table:
    """The table's items (cells, totals) with their counts and the two lines each one appears in."""

    def __init__(self, counts: Mapping[tuple[Hashable, Hashable], int]):
        if any(n < 0 for n in counts.values()):
            raise ValueError("head counts cannot be negative")
        self.items: dict[tuple, int] = {}
        self.lines: dict[tuple, tuple[tuple, tuple]] = {}
        row_totals: dict[Hashable, int] = defaultdict(int)
        column_totals: dict[Hashable, int] = defaultdict(int)
        for (row, column), n in counts.items():
            row_totals[row] += n
            column_totals[column] += n
            self._add(("cell", row, column), n, ("row", row), ("column", column))
        for row, n in row_totals.items():
            self._add(("row", row), n, ("row", row), ROW_TOTALS)
        for column, n in column_totals.items():
            self._add(("column", column), n, ("column", column), COLUMN_TOTALS)
        self._add(TOTAL, sum(row_totals.values()), ROW_TOTALS, COLUMN_TOTALS)
        self.members: dict[tuple, list[tuple]] = defaultdict(list)
        for item, ends in self.lines.items():
            for line in ends:
                self.members[line].append(item)

    def _add(self, item: tuple, n: int, *ends: tuple) -> None:
        self.items[item] = n
        self.lines[item] = ends  # type: ignore[assignment]

    def total_of(self, line: tuple) -> tuple:
        """The item that is the total of a line (the row total of a row; the grand total of the lines of totals)."""
        return TOTAL if line in (ROW_TOTALS, COLUMN_TOTALS) else line


def _next_to_hide(table: _Table, hidden: set[tuple], k: int) -> tuple | None:
    """One more item to hide under rules 2 and 3, or None when the hidden set already satisfies them."""
    for line, members in sorted(table.members.items(), key=repr):
        total = table.total_of(line)
        if total in hidden:
            continue
        remainder = sum(table.items[item] for item in members if item in hidden and item != total)
        if 0 < remainder < k:
            return _smallest_visible(table, hidden, line)
    for item in sorted(hidden, key=repr):
        sides = _sides_of_bridge(table, hidden, item)
        if sides is not None:
            return _closing(table, hidden, *sides)
    return None


def _closing(table: _Table, hidden: set[tuple], side: set[tuple], other_side: set[tuple]) -> tuple:
    """The visible non-empty item to hide that puts a bridge on a cycle, the one with the fewest people.

    Best an item joining its two sides (a cycle at once), else one reaching out of either side, else any.
    """
    visible = [item for item in table.items if item not in hidden and table.items[item] > 0]
    joining = [item for item in visible if _joins(table.lines[item], side, other_side)]
    touching = [item for item in visible if set(table.lines[item]) & (side | other_side)]
    return _fewest(table, joining or touching or visible)


def _joins(ends: tuple[tuple, tuple], side: set[tuple], other_side: set[tuple]) -> bool:
    first, second = ends
    return (first in side and second in other_side) or (first in other_side and second in side)


def _fewest(table: _Table, candidates: list[tuple]) -> tuple:
    # A cell before a total of the same size: hiding a total hides a figure of every cell of its line.
    return min(candidates, key=lambda item: (table.items[item], item[0] != "cell", repr(item)))


def _smallest_visible(table: _Table, hidden: set[tuple], *lines: tuple) -> tuple | None:
    """The visible non-empty item of these lines with the fewest people, None when they have none left."""
    candidates = [
        item for line in lines for item in table.members[line] if item not in hidden and table.items[item] > 0
    ]
    return _fewest(table, candidates) if candidates else None


def _sides_of_bridge(table: _Table, hidden: set[tuple], item: tuple) -> tuple[set, set] | None:
    """The lines each end of `item` still reaches once it is removed from the graph of hidden items, when they are
    apart (a bridge); None when `item` is on a cycle."""
    start, goal = table.lines[item]
    side = _reach(table, hidden, item, start)
    return None if goal in side else (side, _reach(table, hidden, item, goal))


def _reach(table: _Table, hidden: set[tuple], removed: tuple, start: tuple) -> set[tuple]:
    """The lines reachable from `start` through hidden items other than `removed`."""
    seen, frontier = {start}, [start]
    while frontier:
        line = frontier.pop()
        for other in table.members[line]:
            if other == removed or other not in hidden:
                continue
            for end in table.lines[other]:
                if end not in seen:
                    seen.add(end)
                    frontier.append(end)
    return seen
