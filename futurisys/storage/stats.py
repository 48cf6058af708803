"""Daily stats of the stored predictions and inputs, so the dashboard and the drift page read a few hundred rows.

`refresh()` counts each complete day once (Paris days; UTC days on SQLite, which has no time zones) into
`prediction_daily_stats` (per source, label, shown whole percentage and model version: count and sum of probabilities)
and `input_feature_daily_stats` (per source, feature and drift bin), then recounts today up to a few minutes ago (the
mark's `counted_until`); the feature stats of the whole days are also kept summed (`input_feature_totals`), so the
drift page's « all » window reads a few hundred rows, not one per day and bin of the history. Pages add those rows to
the raw rows of what is not counted yet (the minutes since the last refresh, the partial first day of a window): a
read bounded by the refresh's period, not by the history's length nor by today's volume. `refresh()` is a plain
function, run by `flask --app futurisys predictions stats` or a periodic job; the purge, the admin delete, an erasure
and a lot's removal keep the counted rows equal to the raw rows (`forget_before`, `discount`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

import sqlalchemy as sa

from futurisys.domain.risk import at_least_percent
from futurisys.domain.schema import FEATURE_NAMES, FEATURES, LEAVES, feature
from futurisys.ml.drift import quantile_edges
from futurisys.storage.db_timeouts import limit_statements, maintenance
from futurisys.storage.models import (
    DailyStat,
    EmployeeDataset,
    FeatureDailyStat,
    FeatureTotal,
    Input,
    Prediction,
    StatsRefresh,
    utcnow,
)

LOCAL_TZ_NAME = "Europe/Paris"
HISTOGRAM_BINS = 101  # one per shown whole percentage, 0 to 100
PREDICTIONS_MARK, FEATURES_MARK, TOTALS_MARK = "predictions", "features", "feature_totals"
#: Days counted per transaction of a refresh (a statement reads this many days of rows at most).
DAYS_PER_STEP = 7
#: Rows younger than this may belong to a transaction not committed yet (a lot's chunk): a refresh counts up to
#: this long ago, and the pages read the rest raw.
SETTLE = timedelta(minutes=5)
PRED, INPUT = Prediction.__table__, Input.__table__
JOINED = PRED.join(INPUT, INPUT.c.id == PRED.c.input_id)
DAILY, FEATURE_DAILY, MARKS = DailyStat.__table__, FeatureDailyStat.__table__, StatsRefresh.__table__
TOTALS = FeatureTotal.__table__
GROUPS = ("day", "source", "prediction_label", "bin", "model_version")
FEATURE_KEYS = ("source", "feature", "bin")  # a feature stats row's key, with its day in the daily ones
#: Features compared category by category on the drift page; the others over quantile bins of the reference.
CATEGORICAL = frozenset(f.name for f in FEATURES if f.kind in ("category", "bool") or f.choices)


def _postgres(connection) -> bool:
    return connection.dialect.name == "postgresql"


def day_of(connection, column):
    """The SQL day of a timestamp column: its Paris date on PostgreSQL, its UTC date on SQLite."""
    if _postgres(connection):
        return sa.cast(sa.func.timezone(LOCAL_TZ_NAME, column), sa.Date)
    return sa.func.date(column)


def day_start(connection, day: date) -> datetime:
    """The UTC instant `day` starts at, in the same calendar as `day_of`."""
    if _postgres(connection):
        from zoneinfo import ZoneInfo

        return datetime.combine(day, time(), ZoneInfo(LOCAL_TZ_NAME)).astimezone(UTC)
    return datetime.combine(day, time(), UTC)


def today(connection) -> date:
    """The current day in the calendar of `day_of`."""
    now = utcnow()
    if _postgres(connection):
        from zoneinfo import ZoneInfo

        return now.astimezone(ZoneInfo(LOCAL_TZ_NAME)).date()
    return now.date()


def probability_bin(proba=PRED.c.prediction_proba):
    """A probability's shown whole percentage (0 to 100, rounded as every page rounds it: risk.shown_percent).

    The dashboard groups these into its bins, split at the band boundaries of the loaded model's threshold.
    """
    shown = proba * 100
    return sa.case(*[(shown < at_least_percent(k + 1), k) for k in range(HISTOGRAM_BINS - 1)], else_=HISTOGRAM_BINS - 1)


def is_part(label):
    """1 for a "Part" label, else 0 (to sum)."""
    return sa.case((label == LEAVES, 1), else_=0)


def _mark(connection, name: str):
    return connection.execute(
        sa.select(MARKS.c.through, MARKS.c.counted_until, MARKS.c.fingerprint).where(MARKS.c.name == name)
    ).first()


def _set_mark(
    connection, name: str, through: date | None, fingerprint: str | None = None, until: datetime | None = None
) -> None:
    connection.execute(MARKS.delete().where(MARKS.c.name == name))
    connection.execute(MARKS.insert().values(name=name, through=through, fingerprint=fingerprint, counted_until=until))


def counted_through(connection, name: str = PREDICTIONS_MARK, fingerprint: str | None = None) -> date | None:
    """The last whole day the stats hold (None: none, or counted in other bins than `fingerprint`)."""
    mark = _mark(connection, name)
    if mark is None or (fingerprint is not None and mark.fingerprint != fingerprint):
        return None
    return mark.through


class Reach(NamedTuple):
    """How far the stats go: rows up to the day `last_day` are counted, those created from `raw_from` are not."""

    last_day: date
    raw_from: datetime


def counted(connection, name: str = PREDICTIONS_MARK, fingerprint: str | None = None) -> Reach | None:
    """How far the stats hold the rows: the whole days, and the part of the next day counted (None: nothing)."""
    mark = _mark(connection, name)
    if mark is None or mark.through is None or (fingerprint is not None and mark.fingerprint != fingerprint):
        return None
    until = _aware(mark.counted_until) if mark.counted_until is not None else None
    if until is not None and calendar_day(connection, until) == mark.through + timedelta(days=1):
        return Reach(mark.through + timedelta(days=1), until)
    return Reach(mark.through, day_start(connection, mark.through + timedelta(days=1)))


def _counted_end(connection, reach: Reach | None, day: date) -> datetime | None:
    """Up to which instant `day`'s rows are counted (None: not at all)."""
    if reach is None or day > reach.last_day:
        return None
    return reach.raw_from if day == reach.last_day else day_start(connection, day + timedelta(days=1))


def raw_prediction_groups(connection, where: list):
    """Raw rows matching `where`, grouped as the daily stats are (same columns, for a UNION ALL with them)."""
    return (
        sa.select(
            day_of(connection, PRED.c.created_at).label("day"),
            INPUT.c.source,
            PRED.c.prediction_label,
            probability_bin().label("bin"),
            PRED.c.model_version,
            sa.func.count().label("n"),
            sa.func.sum(PRED.c.prediction_proba).label("proba_sum"),
        )
        .select_from(JOINED)
        .where(*where)
        .group_by(*(sa.literal_column(name) for name in GROUPS))
    )


def _between(column, connection, first: date, last: date) -> list:
    return [column >= day_start(connection, first), column < day_start(connection, last + timedelta(days=1))]


def prediction_groups(connection, since: datetime | None):
    """Predictions made since `since` (all when None) as (day, source, label, bin, version, n, proba_sum) groups.

    Counted rows come from the daily stats; the partial first day and the rows not counted yet from the raw rows.
    """
    reach = counted(connection)
    parts, raw_from = [], since
    if reach is not None:
        first = date.min if since is None else _day_after_instant(connection, since)
        if first <= reach.last_day:
            counted_rows = sa.select(*(DAILY.c[name] for name in (*GROUPS, "n", "proba_sum"))).where(
                DAILY.c.day >= first, DAILY.c.day <= reach.last_day
            )
            parts.append(counted_rows)
            if since is not None and since < day_start(connection, first):
                parts.append(
                    raw_prediction_groups(
                        connection, [PRED.c.created_at >= since, PRED.c.created_at < day_start(connection, first)]
                    )
                )
            raw_from = reach.raw_from
    parts.append(raw_prediction_groups(connection, [PRED.c.created_at >= raw_from] if raw_from is not None else []))
    return sa.union_all(*parts).subquery("groups") if len(parts) > 1 else parts[0].subquery("groups")


def _day_after_instant(connection, instant: datetime) -> date:
    """The first whole day starting at or after `instant`."""
    day = calendar_day(connection, instant)
    return day if day_start(connection, day) >= instant else day + timedelta(days=1)


def calendar_day(connection, instant: datetime) -> date:
    """The day of `instant` in the calendar of `day_of`."""
    if _postgres(connection):
        from zoneinfo import ZoneInfo

        return instant.astimezone(ZoneInfo(LOCAL_TZ_NAME)).date()
    return instant.astimezone(UTC).date()


def _first_stored_day(connection, table=PRED) -> date | None:
    first = connection.scalar(sa.select(sa.func.min(table.c.created_at)))
    if first is None:
        return None
    return calendar_day(connection, _aware(first))


def _count_predictions(connection, first: date, last: date, until: datetime | None = None) -> None:
    """(Re)count the days `first` to `last` from the raw rows (the last one only up to `until` when given)."""
    connection.execute(DAILY.delete().where(DAILY.c.day >= first, DAILY.c.day <= last))
    window = _between(PRED.c.created_at, connection, first, last) + ([PRED.c.created_at < until] if until else [])
    groups = raw_prediction_groups(connection, window)
    connection.execute(DAILY.insert().from_select([*GROUPS, "n", "proba_sum"], groups))


# --- drift bins of the inputs' features ---------------------------------------------------------------------------


def drift_edges(connection) -> dict[str, list[float] | None] | None:
    """Each feature's drift bins: None for a categorical one, its reference quantile edges otherwise (None: no data)."""
    table = EmployeeDataset.__table__
    numeric = [name for name in FEATURE_NAMES if name not in CATEGORICAL]
    rows = connection.execute(sa.select(*(table.c[name] for name in numeric))).all()
    if not rows:
        return None
    columns = dict(zip(numeric, zip(*rows, strict=True), strict=True))
    return {
        name: None if name in CATEGORICAL else [float(e) for e in quantile_edges(columns[name])]
        for name in FEATURE_NAMES
    }


def bin_value(name: str, text: str):
    """A feature's drift bin read back: the category's value, or the quantile bin's index."""
    if name not in CATEGORICAL:
        return int(text)
    kind = feature(name).kind
    return text == "1" if kind == "bool" else int(text) if kind == "int" else text


def fingerprint(edges: dict[str, list[float]]) -> str:
    """A short digest of the reference bins: feature stats counted in other bins are not reused."""
    return hashlib.sha256(json.dumps(edges, sort_keys=True).encode()).hexdigest()[:32]


def feature_bin(column, edges: list[float] | None):
    """The drift bin of a feature as text: the category itself, or the index of its reference quantile bin."""
    if edges is None:
        if isinstance(column.type, sa.Boolean):
            return sa.case((column, "1"), else_="0")
        return sa.cast(column, sa.String)
    # Bin k holds edges[k-1] <= x < edges[k], as numpy's searchsorted(side="right") in futurisys/ml/drift.py.
    return sa.cast(sa.case(*[(column < edge, k) for k, edge in enumerate(edges)], else_=len(edges)), sa.String)


def raw_feature_groups(connection, where: list, edges: dict[str, list[float] | None]):
    """Raw inputs matching `where` grouped per (day, source, feature, bin): one select per feature, to UNION ALL
    (flat: SQLite refuses a parenthesised UNION inside another)."""
    day = day_of(connection, INPUT.c.created_at).label("day")
    return [
        sa.select(
            day,
            INPUT.c.source,
            sa.literal(name, sa.String).label("feature"),
            feature_bin(INPUT.c[name], bins).label("bin"),
            sa.func.count().label("n"),
        )
        .where(*where)
        .group_by(sa.literal_column("day"), INPUT.c.source, sa.literal_column("bin"))
        for name, bins in edges.items()
    ]


def feature_groups(connection, since: datetime | None, sources, edges: dict[str, list[float] | None]):
    """Inputs from `sources` since `since` as (day, source, feature, bin, n) groups, counted rows from the stats."""
    reach = counted(connection, FEATURES_MARK, fingerprint(edges))
    chosen = INPUT.c.source.in_(sources)
    parts, raw_from = [], since
    if reach is not None:
        first = date.min if since is None else _day_after_instant(connection, since)
        if first <= reach.last_day:
            days = [FEATURE_DAILY.c.day >= first, FEATURE_DAILY.c.day <= reach.last_day]
            totalled = counted_through(connection, TOTALS_MARK, fingerprint(edges)) if since is None else None
            if totalled is not None and totalled <= reach.last_day:
                # Every day from the first: the totals, and the daily rows of the days counted since they were summed.
                parts.append(
                    sa.select(
                        sa.cast(sa.null(), sa.Date).label("day"),
                        TOTALS.c.source,
                        TOTALS.c.feature,
                        TOTALS.c.bin,
                        TOTALS.c.n,
                    ).where(TOTALS.c.source.in_(sources))
                )
                days = [FEATURE_DAILY.c.day > totalled, FEATURE_DAILY.c.day <= reach.last_day]
            parts.append(sa.select(FEATURE_DAILY).where(*days, FEATURE_DAILY.c.source.in_(sources)))
            if since is not None and since < day_start(connection, first):
                window = [INPUT.c.created_at >= since, INPUT.c.created_at < day_start(connection, first)]
                parts += raw_feature_groups(connection, [chosen, *window], edges)
            raw_from = reach.raw_from
    where = [chosen] + ([INPUT.c.created_at >= raw_from] if raw_from is not None else [])
    parts += raw_feature_groups(connection, where, edges)
    return sa.union_all(*parts).subquery("feature_groups")


def _count_features(
    connection, first: date, last: date, edges: dict[str, list[float] | None], until: datetime | None = None
) -> None:
    """(Re)count the feature bins of the days `first` to `last` (the last one only up to `until` when given)."""
    connection.execute(FEATURE_DAILY.delete().where(FEATURE_DAILY.c.day >= first, FEATURE_DAILY.c.day <= last))
    window = _between(INPUT.c.created_at, connection, first, last) + ([INPUT.c.created_at < until] if until else [])
    groups = raw_feature_groups(connection, window, edges)
    connection.execute(
        FEATURE_DAILY.insert().from_select(["day", "source", "feature", "bin", "n"], sa.union_all(*groups))
    )


def _total_features(connection, through: date, digest: str, after: date | None = None) -> None:
    """Sum the feature stats of the days up to `through` into the totals: the days after `after` added to the totals
    there, or (`after` None) every day afresh. A few hundred rows, whatever the history's length."""
    columns = (*FEATURE_KEYS, "n")
    days = sa.select(*(FEATURE_DAILY.c[name] for name in columns)).where(FEATURE_DAILY.c.day <= through)
    if after is not None:
        days = sa.union_all(days.where(FEATURE_DAILY.c.day > after), sa.select(*(TOTALS.c[k] for k in columns)))
    rows = days.subquery("summed")
    summed = connection.execute(
        sa.select(*(rows.c[name] for name in FEATURE_KEYS), sa.func.sum(rows.c.n).label("n"))
        .group_by(*(rows.c[name] for name in FEATURE_KEYS))
        .having(sa.func.sum(rows.c.n) > 0)
    ).all()
    connection.execute(TOTALS.delete())
    if summed:
        connection.execute(TOTALS.insert(), [{**row._asdict(), "n": int(row.n)} for row in summed])
    _set_mark(connection, TOTALS_MARK, through, digest)


# --- keeping the stats up to date -----------------------------------------------------------------------------------


def refresh(engine, statement_seconds: float, through: date | None = None) -> date:
    """Count every complete day not counted yet (up to yesterday, or `through`), a few days per transaction, then
    (without `through`) today's rows up to `SETTLE` ago.

    Feature bins are counted only once the reference data is loaded (they are its quantile bins). Each statement runs
    under the maintenance limit `statement_seconds`. Returns the last whole day counted.
    """
    with maintenance(statement_seconds):
        return _refresh(engine, statement_seconds, through)


def _refresh(engine, statement_seconds: float, through: date | None) -> date:
    settled = utcnow() - SETTLE
    with engine.connect() as connection:
        settled_day = calendar_day(connection, settled)
        last = through or settled_day - timedelta(days=1)
        first_stored = _first_stored_day(connection)
        edges = drift_edges(connection)
    marks = [(PREDICTIONS_MARK, None)] + ([(FEATURES_MARK, fingerprint(edges))] if edges is not None else [])
    recounted_from = {}
    for name, digest in marks:
        with engine.connect() as connection:
            done = counted_through(connection, name, digest)
        start = done + timedelta(days=1) if done is not None else first_stored
        recounted_from[name] = start
        if start is None:  # nothing stored yet: nothing before `last` will ever need counting
            with engine.begin() as connection:
                _set_mark(connection, name, last, digest)
            start = last + timedelta(days=1)
        while start <= last:
            end = min(start + timedelta(days=DAYS_PER_STEP - 1), last)
            with engine.begin() as connection:
                limit_statements(connection, statement_seconds)
                _count(connection, name, start, end, edges)
                _set_mark(connection, name, end, digest)
            start = end + timedelta(days=1)
        if through is None and start == settled_day:
            # Today so far: recounted whole at each refresh (a row committed late is in the next one), so the pages
            # read raw only what came since, whatever the day's volume.
            with engine.begin() as connection:
                limit_statements(connection, statement_seconds)
                _count(connection, name, settled_day, settled_day, edges, until=settled)
                _set_mark(connection, name, last, digest, until=settled)
    if edges is not None:
        _bring_totals_up(engine, statement_seconds, fingerprint(edges), recounted_from[FEATURES_MARK])
    return last


def _bring_totals_up(engine, statement_seconds: float, digest: str, recounted_from: date | None) -> None:
    """Sum the whole days counted since the feature totals' mark into them (all again if a summed day was recounted)."""
    with engine.begin() as connection:
        limit_statements(connection, statement_seconds)
        through = counted_through(connection, FEATURES_MARK, digest)
        totalled = counted_through(connection, TOTALS_MARK, digest)
        if through is None or totalled == through:
            return
        untouched = (
            totalled is not None and totalled <= through and (recounted_from is None or totalled < recounted_from)
        )
        _total_features(connection, through, digest, after=totalled if untouched else None)


def _count(connection, name: str, first: date, last: date, edges, until: datetime | None = None) -> None:
    if name == PREDICTIONS_MARK:
        _count_predictions(connection, first, last, until)
    else:
        _count_features(connection, first, last, edges, until)


def forget_before(connection, cutoff: datetime) -> None:
    """After a purge of the rows older than `cutoff`: recount the days up to its day from what is left of them (the
    rows kept under legal hold, the day's younger rows), drop the stats of the days before any row; sum the totals."""
    day = calendar_day(connection, cutoff)
    first = min(d for d in (_first_stored_day(connection), _first_stored_day(connection, INPUT), day) if d is not None)
    connection.execute(DAILY.delete().where(DAILY.c.day < first))
    connection.execute(FEATURE_DAILY.delete().where(FEATURE_DAILY.c.day < first))
    _recount_days(connection, first, day)


def _recount_days(connection, first: date, last: date) -> None:
    """Recount the stats of the days `first` to `last` from their raw rows, as far as they were counted (rows were
    deleted from them): an index read of the rows left, whatever the stats rows it replaces."""
    edges = drift_edges(connection)
    digest = fingerprint(edges) if edges is not None else None
    reaches = [(PREDICTIONS_MARK, counted(connection))]
    if edges is not None:
        reaches.append((FEATURES_MARK, counted(connection, FEATURES_MARK, digest)))
    for name, reach in reaches:
        if reach is not None and first <= reach.last_day:
            through = min(last, reach.last_day)
            _count(connection, name, first, through, edges, until=_counted_end(connection, reach, through))
    totalled = counted_through(connection, TOTALS_MARK, digest) if digest is not None else None
    if totalled is not None:
        _total_features(connection, totalled, digest)


def discount(connection, which) -> None:
    """Before deleting inputs (`which`: a condition on `inputs`): take their predictions and features out of the
    counted rows (admin delete, erasure, a lot removed).

    A decrement of the few stats rows they were counted in (found with the very expressions that counted them): a
    cost that grows with the rows deleted, not with the day's rows or the table's.
    """
    reach = counted(connection)
    if reach is not None:
        mine = [which, PRED.c.created_at < reach.raw_from]
        for own in connection.execute(raw_prediction_groups(connection, mine)).all():
            key = [DAILY.c[name] == getattr(own, name) for name in GROUPS[1:]] + [DAILY.c.day == _as_date(own.day)]
            _decrement(connection, DAILY, key, n=DAILY.c.n - own.n, proba_sum=DAILY.c.proba_sum - own.proba_sum)
    edges = drift_edges(connection)
    reach = counted(connection, FEATURES_MARK, fingerprint(edges)) if edges else None
    if reach is None:
        return
    totalled = counted_through(connection, TOTALS_MARK, fingerprint(edges))
    mine = [which, INPUT.c.created_at < reach.raw_from]
    for row in connection.execute(sa.union_all(*raw_feature_groups(connection, mine, edges))).all():
        day = _as_date(row.day)
        key = [FEATURE_DAILY.c[name] == getattr(row, name) for name in FEATURE_KEYS]
        _decrement(connection, FEATURE_DAILY, [*key, FEATURE_DAILY.c.day == day], n=FEATURE_DAILY.c.n - row.n)
        if totalled is not None and day <= totalled:  # also in the totals
            key = [TOTALS.c[name] == getattr(row, name) for name in FEATURE_KEYS]
            _decrement(connection, TOTALS, key, n=TOTALS.c.n - row.n)


def _decrement(connection, table, key: list, **values) -> None:
    """Update the stats row at `key` to `values`; drop it once its count reaches zero."""
    left = connection.scalar(table.update().where(*key).values(**values).returning(table.c.n))
    if left is not None and left <= 0:
        connection.execute(table.delete().where(*key))


def _aware(value) -> datetime:
    """A stored instant as an aware datetime (SQLite gives naive UTC datetimes, or text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _as_date(value) -> date:
    """A day as SQLite's date() gives it (text) or PostgreSQL does (a date)."""
    return value if isinstance(value, date) else date.fromisoformat(value)
