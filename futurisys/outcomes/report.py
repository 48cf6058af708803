"""« Performance réelle » of one model version: matured monthly cohorts, their realised figures and what a calibrated
model would have given, from two queries over the outcome subquery (no Flask here)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np
import sqlalchemy as sa

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
from futurisys.schema import LEAVES


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


def build(session, version: str, horizon: int, now: datetime, voluntary) -> Report:
    """The report of `version` over `horizon` months as of `now`."""
    dialect = session.get_bind().dialect.name
    limit = datetime.combine(first_immature_month(now, horizon), datetime.min.time(), tzinfo=UTC)
    every = outcomes(dialect, horizon, now, voluntary, model_version=version)
    flagged = sa.case((every.c.label == LEAVES, 1), else_=0)
    grouped = session.execute(
        sa.select(
            every.c.cohort,
            every.c.status,
            sa.func.count(),
            sa.func.sum(every.c.proba),
            sa.func.sum(flagged),
            sa.func.sum(every.c.proba * flagged),
            sa.func.sum(every.c.proba * (1 - every.c.proba)),
        )
        .where(every.c.counted)
        .group_by(every.c.cohort, every.c.status)
    ).all()
    cohorts: dict[date, Cohort] = {}
    pending: dict[date, metrics.Sums] = defaultdict(lambda: metrics.ZERO)
    maturity: dict[str, int] = defaultdict(int)
    for month, status, n, sum_p, n_flagged, sum_p_flagged, sum_pq in grouped:
        month = cohort_date(month)
        cohort = cohorts.setdefault(month, Cohort(month, mature=month < limit.date()))
        cohort.counts[status] = n
        maturity[status] += n
        if status != SANS_REFERENCE:
            pending[month] += metrics.Sums(n, float(sum_p), int(n_flagged), float(sum_p_flagged), float(sum_pq))

    matured = outcomes(dialect, horizon, now, voluntary, model_version=version, until=limit)
    rows = session.execute(
        sa.select(matured.c.cohort, matured.c.proba, matured.c.label, matured.c.status).where(
            matured.c.counted, matured.c.status.in_((PARTI, RESTE))
        )
    ).all()
    months = np.array([cohort_date(r[0]).toordinal() for r in rows], dtype=np.int64)
    proba = np.array([r[1] for r in rows], dtype=np.float64)
    flags = np.array([r[2] == LEAVES for r in rows], dtype=bool)
    target = np.array([r[3] == PARTI for r in rows], dtype=np.int8)
    for cohort in cohorts.values():
        if cohort.mature:
            inside = months == cohort.month.toordinal()
            if inside.any():
                cohort.realised = metrics.realised(target[inside], proba[inside], flags[inside])
                cohort.expected = metrics.expected_from_rows(proba[inside], flags[inside])
        else:
            cohort.expected = metrics.expected(pending[cohort.month])
    overall = metrics.realised(target, proba, flags) if len(rows) else None
    return Report(
        version=version,
        horizon=horizon,
        now=now,
        cohorts=sorted(cohorts.values(), key=lambda c: c.month),
        maturity={s: maturity.get(s, 0) for s in (EN_ATTENTE, PARTI, RESTE, CENSURE, SANS_REFERENCE)},
        overall=overall,
        overall_expected=metrics.expected_from_rows(proba, flags) if len(rows) else {},
        overall_departures=int(target.sum()),
        reliability_bins=reliability(target, proba)["bins"] if len(rows) else [],
    )
