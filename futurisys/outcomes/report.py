"""« Performance réelle » of one model version: matured monthly cohorts, their realised figures and what a calibrated
model would have given, from two queries over the outcome subquery (no Flask here)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np
import sqlalchemy as sa

from futurisys.domain.schema import LEAVES
from futurisys.ml.fairness import reliability
from futurisys.outcomes import metrics
from futurisys.outcomes.horizon import (
    CENSURE,
    EN_ATTENTE,
    PARTI,
    RESTE,
    SANS_REFERENCE,
    cohort_date,
    first_immature_month,
    outcomes,
)


@dataclass
class Cohort:
    """One month of predictions by the version: counts by outcome, and its figures once the month has matured."""

    month: date
    mature: bool
    counts: dict[str, int] = field(default_factory=dict)
    realised: dict[str, metrics.Estimate] | None = None
    expected: dict[str, float | None] = field(default_factory=dict)

    @property
    def departures(self) -> int:
        """Voluntary departures within the horizon so far."""
        return self.counts.get(PARTI, 0)

    @property
    def insufficient(self) -> bool:
        """Too few departures for its figures to mean much (shown greyed)."""
        return self.departures < metrics.MIN_DEPARTURES

    @property
    def total(self) -> int:
        """Predictions counted in the month (one per employee), with those without reference."""
        return sum(self.counts.values())


@dataclass
class Report:
    """Everything the page and the model card show for one version and horizon."""

    version: str
    horizon: int
    now: datetime
    cohorts: list[Cohort]
    maturity: dict[str, int]
    overall: dict[str, metrics.Estimate] | None
    overall_expected: dict[str, float | None]
    overall_departures: int
    reliability_bins: list[dict]

    @property
    def mature_cohorts(self) -> list[Cohort]:
        """The matured cohorts, oldest first."""
        return [c for c in self.cohorts if c.mature]


#: Memory PostgreSQL may sort and hash the report's rows in (the default 4 MB spills 100,000 rows to disk).
REPORT_WORK_MEM = "64MB"


def build(session, version: str, horizon: int, now: datetime, voluntary) -> Report:
    """The report of `version` over `horizon` months as of `now`.

    Two queries, each over its own months: the matured ones give their counted rows (for exact figures), the
    others only their sums by outcome (for the maturity bar and the figures expected under calibration).
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(sa.text(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'"))
    limit = datetime.combine(first_immature_month(now, horizon), datetime.min.time(), tzinfo=UTC)
    cohorts: dict[date, Cohort] = {}
    maturity: dict[str, int] = defaultdict(int)

    recent = outcomes(dialect, horizon, now, voluntary, model_version=version, since=limit)
    flagged = sa.case((recent.c.label == LEAVES, 1), else_=0)
    grouped = session.execute(
        sa.select(
            recent.c.cohort,
            recent.c.status,
            sa.func.count(),
            sa.func.sum(recent.c.proba),
            sa.func.sum(flagged),
            sa.func.sum(recent.c.proba * flagged),
            sa.func.sum(recent.c.proba * (1 - recent.c.proba)),
        )
        .where(recent.c.counted)
        .group_by(recent.c.cohort, recent.c.status)
    ).all()
    pending: dict[date, metrics.Sums] = defaultdict(lambda: metrics.ZERO)
    for month, status, n, sum_p, n_flagged, sum_p_flagged, sum_pq in grouped:
        month = cohort_date(month)
        cohorts.setdefault(month, Cohort(month, mature=False)).counts[status] = n
        maturity[status] += n
        if status != SANS_REFERENCE:
            pending[month] += metrics.Sums(n, float(sum_p), int(n_flagged), float(sum_p_flagged), float(sum_pq))
    for month, total in pending.items():
        cohorts[month].expected = metrics.expected(total)

    matured = outcomes(dialect, horizon, now, voluntary, model_version=version, until=limit)
    rows = session.execute(
        sa.select(matured.c.cohort, matured.c.status, matured.c.proba, matured.c.label).where(matured.c.counted)
    ).all()
    ordinals: dict = {}
    months = np.fromiter(
        (ordinals.get(r[0]) or ordinals.setdefault(r[0], cohort_date(r[0]).toordinal()) for r in rows),
        dtype=np.int64,
        count=len(rows),
    )
    statuses = np.array([r[1] for r in rows], dtype=object)
    proba = np.fromiter((r[2] for r in rows), dtype=np.float64, count=len(rows))
    flags = np.array([r[3] == LEAVES for r in rows], dtype=bool)
    known = (statuses == PARTI) | (statuses == RESTE)  # censored and unreferenced rows have no outcome to score
    for ordinal in np.unique(months):
        inside = months == ordinal
        cohort = cohorts.setdefault(date.fromordinal(int(ordinal)), Cohort(date.fromordinal(int(ordinal)), True))
        found, counts = np.unique(statuses[inside], return_counts=True)
        cohort.counts = {str(s): int(n) for s, n in zip(found, counts, strict=True)}
        for status, n in cohort.counts.items():
            maturity[status] += n
        scored = inside & known
        if scored.any():
            target = (statuses[scored] == PARTI).astype(np.int8)
            cohort.realised = metrics.realised(target, proba[scored], flags[scored])
            cohort.expected = metrics.expected_from_rows(proba[scored], flags[scored])
    target, proba, flags = (statuses[known] == PARTI).astype(np.int8), proba[known], flags[known]
    overall = metrics.realised(target, proba, flags) if len(target) else None
    return Report(
        version=version,
        horizon=horizon,
        now=now,
        cohorts=sorted(cohorts.values(), key=lambda c: c.month),
        maturity={s: maturity.get(s, 0) for s in (EN_ATTENTE, PARTI, RESTE, CENSURE, SANS_REFERENCE)},
        overall=overall,
        overall_expected=metrics.expected_from_rows(proba, flags) if len(target) else {},
        overall_departures=int(target.sum()),
        reliability_bins=reliability(target, proba)["bins"] if len(target) else [],
    )
