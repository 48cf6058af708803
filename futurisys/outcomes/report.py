"""« Performance réelle » of one model version: matured monthly cohorts, their realised figures and what a calibrated
model would have given, from monthly summaries of the outcome subquery (outcomes/summaries.py; no Flask here)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np
import sqlalchemy as sa

from futurisys.domain.schema import LEAVES
from futurisys.outcomes import metrics
from futurisys.outcomes.clock import as_utc, month_start, shift_months
from futurisys.outcomes.horizon import (
    CENSURE,
    EN_ATTENTE,
    PARTI,
    RESTE,
    SANS_REFERENCE,
    first_immature_month,
    outcomes,
)
from futurisys.outcomes.summaries import Summary, kinds_key, stored
from futurisys.storage.models import Prediction


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
    pending_months: list[date] = field(default_factory=list)  # not summarised within the page's time budget

    @property
    def mature_cohorts(self) -> list[Cohort]:
        """The matured cohorts, oldest first."""
        return [c for c in self.cohorts if c.mature]


#: Memory PostgreSQL may sort and hash a month's rows in (the default 4 MB spills 100,000 rows to disk).
REPORT_WORK_MEM = "64MB"
#: Called with (version, horizon, kinds, month, mature, valid_on, summary) for each month summarised afresh.
Save = Callable[[str, int, str, date, bool, date, Summary], None]


def month_summary(session, version: str, horizon: int, now: datetime, voluntary, month: date) -> Summary:
    """One month's summary, from its counted rows (one query over that month's predictions only)."""
    dialect = session.get_bind().dialect.name
    since = datetime.combine(month, datetime.min.time(), tzinfo=UTC)
    rows = outcomes(dialect, horizon, now, voluntary, model_version=version, since=since, until=shift_months(since, 1))
    found = session.execute(sa.select(rows.c.status, rows.c.proba, rows.c.label).where(rows.c.counted)).all()
    statuses = np.array([r[0] for r in found], dtype=object)
    proba = np.fromiter((r[1] for r in found), dtype=np.float64, count=len(found))
    flags = np.array([r[2] == LEAVES for r in found], dtype=bool)
    return Summary.of_rows(statuses, proba, flags)


def months_of(session, version: str) -> list[date]:
    """Every month from the version's first prediction to its last (two index probes)."""
    first, last = session.execute(
        sa.select(sa.func.min(Prediction.created_at), sa.func.max(Prediction.created_at)).where(
            Prediction.model_version == version
        )
    ).one()
    if first is None:
        return []
    months, month, end = [], month_start(first), month_start(last)
    while month <= end:
        months.append(month)
        month = shift_months(month, 1)
    return months


def build(
    session,
    version: str,
    horizon: int,
    now: datetime,
    voluntary,
    *,
    save: Save | None = None,
    budget_s=None,
    matured_only: bool = False,
) -> Report:
    """The report of `version` over `horizon` months as of `now`, from monthly summaries.

    A stored summary is used while valid (a matured month's for good, a maturing month's, the current one included,
    on the UTC day it was made: predictions made later that day are counted the next day); the others are computed
    from their rows and handed to `save`. With `budget_s`, months left once that many seconds are spent are listed
    in `pending_months`, not computed. `matured_only` skips the months still maturing (the model card's figures).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'"))
    kinds, today = kinds_key(voluntary), as_utc(now).date()
    limit = first_immature_month(now, horizon)
    cached = stored(session.connection(), version, horizon, kinds)
    started = time.perf_counter()
    by_month: dict[date, Summary] = {}
    pending: list[date] = []
    for month in months_of(session, version):
        mature = month < limit
        if matured_only and not mature:
            continue
        hit = cached.get(month)
        if hit is not None and hit[0] == mature and (mature or hit[1] == today):
            by_month[month] = hit[2]
            continue
        left = None if budget_s is None else budget_s - (time.perf_counter() - started)
        if left is not None and left <= 0:
            pending.append(month)
            continue
        summary = _summary_within(session, left, version, horizon, now, voluntary, month)
        if summary is None:
            pending.append(month)
            continue
        by_month[month] = summary
        if save is not None:
            save(version, horizon, kinds, month, mature, today, summary)
    return _report(version, horizon, now, limit, by_month, pending)


def _summary_within(session, seconds: float | None, *month_args) -> Summary | None:
    """month_summary(), given up past `seconds` on PostgreSQL (None then): one month of a big table may take
    longer than a page may wait, and the job engine summarises it instead."""
    if seconds is None or session.get_bind().dialect.name != "postgresql":
        return month_summary(session, *month_args)
    usual = session.execute(sa.text("SHOW statement_timeout")).scalar()
    try:
        with session.begin_nested():  # a cancelled count rolls back to here, the page's transaction goes on
            session.execute(sa.text(f"SET LOCAL statement_timeout = {max(1, round(seconds * 1000))}"))
            summary = month_summary(session, *month_args)
    except sa.exc.OperationalError:
        return None
    finally:
        session.execute(sa.text("SELECT set_config('statement_timeout', :usual, true)"), {"usual": usual})
    return summary


def _report(version, horizon, now, limit, by_month: dict[date, Summary], pending: list[date]) -> Report:
    cohorts, maturity, matured = [], defaultdict(int), Summary()
    for month, summary in sorted(by_month.items()):
        if not summary.counts:
            continue
        mature = month < limit
        cohort = Cohort(month, mature, counts=dict(summary.counts))
        for status, n in summary.counts.items():
            maturity[status] += n
        if mature:
            matured = matured + summary
            cohort.realised = summary.realised()
            if cohort.realised is not None:
                cohort.expected = metrics.expected(summary.scored, summary.top_mean())
        else:
            cohort.expected = metrics.expected(summary.referenced)
        cohorts.append(cohort)
    overall = matured.realised()
    return Report(
        version=version,
        horizon=horizon,
        now=now,
        cohorts=cohorts,
        maturity={s: maturity.get(s, 0) for s in (EN_ATTENTE, PARTI, RESTE, CENSURE, SANS_REFERENCE)},
        overall=overall,
        overall_expected=metrics.expected(matured.scored, matured.top_mean()) if overall else {},
        overall_departures=matured.departures,
        reliability_bins=matured.reliability_bins() if overall else [],
        pending_months=pending,
    )
