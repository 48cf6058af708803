"""The « Vue équipes » table as published: every figure of a group under k (or hidden with it) is left out.

Counts come in per cell (`Tally`); `publish` adds the row, column and company totals, asks `suppression.suppress`
which items to hide, and builds the figures of the visible ones only: a hidden item carries no number at all, so
neither a template nor the CSV export can show one by mistake. Each month of the trend is a table of its own,
with its own suppression. No Flask here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from datetime import date

from futurisys.teams.suppression import suppress

#: Points of « part en risque élevé » above or below the company's from which a cell is coloured as such.
TONE_STEPS = ((10, "plus2"), (3, "plus"), (-3, "egal"), (-10, "moins"))
TONE_LABELS = {
    "plus2": "nettement au-dessus de l'entreprise",
    "plus": "au-dessus de l'entreprise",
    "egal": "comparable à l'entreprise",
    "moins": "en dessous de l'entreprise",
    "moins2": "nettement en dessous de l'entreprise",
}


@dataclass
class Tally:
    """What is added up for one group: employees, those in risk band élevé, their risks, their departures."""

    n: int = 0
    high: int = 0
    risk_sum: float = 0.0
    departed: int = 0

    def add(self, other: Tally) -> None:
        """Add another group's counts to this one."""
        self.n += other.n
        self.high += other.high
        self.risk_sum += other.risk_sum
        self.departed += other.departed


@dataclass(frozen=True)
class Figures:
    """The published figures of a visible group of at least k employees."""

    n: int
    share_high: float
    mean_risk: float
    departure_rate: float | None


@dataclass(frozen=True)
class Shown:
    """One published group: its figures when visible, or only that it is hidden, or that it is empty."""

    figures: Figures | None = None
    hidden: bool = False
    tone: str | None = None
    trend: tuple[tuple[date, float], ...] = ()

    @property
    def empty(self) -> bool:
        """No one evaluated in this group."""
        return self.figures is None and not self.hidden


@dataclass(frozen=True)
class TeamTable:
    """The published heatmap: rows, columns, cells and totals, each a `Shown`."""

    rows: tuple[Hashable, ...]
    columns: tuple[Hashable, ...]
    cells: Mapping[tuple[Hashable, Hashable], Shown]
    row_totals: Mapping[Hashable, Shown]
    column_totals: Mapping[Hashable, Shown]
    total: Shown
    k: int
    months: tuple[date, ...] = ()
    with_departures: bool = False
    hidden_count: int = field(default=0)


def publish(
    tallies: Mapping[tuple[Hashable, Hashable], Tally],
    k: int,
    *,
    monthly: Mapping[date, Mapping[tuple[Hashable, Hashable], Tally]] | None = None,
    with_departures: bool = False,
    rows: tuple[Hashable, ...] | None = None,
    columns: tuple[Hashable, ...] | None = None,
) -> TeamTable:
    """The table of `tallies` ({(row, column): Tally}) with every group under `k` hidden, and its monthly trend."""
    rows = rows or tuple(sorted({row for row, _ in tallies}, key=str))
    columns = columns or tuple(sorted({column for _, column in tallies}, key=str))
    groups = _groups(tallies)
    hidden = suppress({key: tally.n for key, tally in tallies.items()}, k)
    company = groups["total"][None]
    trends = _trends(monthly or {}, k)

    def shown(kind: str, key) -> Shown:
        tally = groups[kind].get(key) or Tally()
        if tally.n == 0:
            return Shown()
        if hidden.hides(kind, key):
            return Shown(hidden=True)
        figures = _figures(tally, with_departures)
        return Shown(figures, tone=_tone(figures, company), trend=tuple(trends[kind].get(key, ())))

    cells = {(r, c): shown("cell", (r, c)) for r in rows for c in columns}
    return TeamTable(
        rows=rows,
        columns=columns,
        cells=cells,
        row_totals={r: shown("row", r) for r in rows},
        column_totals={c: shown("column", c) for c in columns},
        total=shown("total", None),
        k=k,
        months=tuple(sorted(monthly or {})),
        with_departures=with_departures,
        hidden_count=len(hidden.cells),
    )


def _groups(tallies: Mapping[tuple[Hashable, Hashable], Tally]) -> dict[str, dict]:
    """The tallies of every cell, row, column and of the company."""
    groups: dict[str, dict] = {"cell": {}, "row": defaultdict(Tally), "column": defaultdict(Tally)}
    groups["total"] = {None: Tally()}
    for (row, column), tally in tallies.items():
        groups["cell"][(row, column)] = tally
        groups["row"][row].add(tally)
        groups["column"][column].add(tally)
        groups["total"][None].add(tally)
    return groups


def _figures(tally: Tally, with_departures: bool) -> Figures:
    return Figures(
        n=tally.n,
        share_high=tally.high / tally.n,
        mean_risk=tally.risk_sum / tally.n,
        departure_rate=tally.departed / tally.n if with_departures else None,
    )


def _tone(figures: Figures, company: Tally) -> str:
    """Where a group's share in band élevé stands against the company's, in points."""
    gap = 100 * (figures.share_high - company.high / company.n)
    return next((tone for step, tone in TONE_STEPS if gap >= step), "moins2")


def _trends(monthly: Mapping[date, Mapping[tuple, Tally]], k: int) -> dict[str, dict]:
    """Per group, the mean risk of each month where that month's own table shows the group."""
    trends: dict[str, dict] = {kind: defaultdict(list) for kind in ("cell", "row", "column", "total")}
    for month in sorted(monthly):
        tallies = monthly[month]
        if not tallies:
            continue
        groups = _groups(tallies)
        hidden = suppress({key: tally.n for key, tally in tallies.items()}, k)
        for kind, members in groups.items():
            for key, tally in members.items():
                if tally.n and not hidden.hides(kind, key):
                    trends[kind][key].append((month, tally.risk_sum / tally.n))
    return trends


def trend_points(shown: Shown) -> int | None:
    """The change of mean risk, in points, from the first to the last month shown (None under two months)."""
    if len(shown.trend) < 2:
        return None
    return round(100 * (shown.trend[-1][1] - shown.trend[0][1]))
