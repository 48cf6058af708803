"""Retention by class: rows past their class's age are deleted, legal holds respected, a report journaled.

A plain function (`apply`) run by `flask --app futurisys retention apply` and, once the job engine is merged, by
its periodic task. Classes: every registered employee table with a retention setting (evaluations, departures
once that table exists) and the journal itself, which loses only its oldest entries so that its chain stays whole.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from futurisys.compliance import journal, settings
from futurisys.compliance.employees import REGISTRY
from futurisys.compliance.rights import held_among, held_keys, unless_held
from futurisys.extensions import db
from futurisys.storage import retention as purge
from futurisys.storage.models import Input, utcnow
from futurisys.storage.sqlite_writes import write_turn

#: Further classes other packages add (the job engine's lot files, say): each is called with the run's time and the
#: pseudonyms under legal hold, deletes what it keeps too long and returns its report line
#: ({"classe", "date_limite", "lignes_supprimees"}).
EXTRA_CLASSES: list[Callable[[datetime, set[str]], dict]] = []


def months_before(moment: datetime, months: int) -> datetime:
    """`moment` moved back by whole calendar months (31 March − 1 month → 28 or 29 February)."""
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def apply(now: datetime | None = None) -> dict:
    """Delete what every class keeps too long, journal the report, and return it."""
    now = now or utcnow()
    held = held_keys()
    report = {"classes": []}
    for entry in REGISTRY.values():
        if entry.retention is None:
            continue
        setting, date_column = entry.retention
        cutoff = months_before(now, settings.months(setting))
        db.session.rollback()
        if entry.table is Input.__table__:
            # Evaluations can be millions of rows: the purge's bounded batches, which also keep the daily stats.
            purged = purge.purge_older_than(
                db.engine,
                cutoff,
                current_app.config["MAINTENANCE_STATEMENT_TIMEOUT"],
                held_among=held_among,
                pause_ratio=current_app.config["PURGE_PAUSE_RATIO"],
            )
            removed = {"inputs": purged.inputs, "predictions": purged.predictions}
        else:
            expired = entry.table.c[date_column] < cutoff
            condition = unless_held(entry.table.c[entry.ref_column], expired)
            with write_turn(current_app), db.engine.begin() as connection:
                removed = entry.delete_where(connection, condition)
        report["classes"].append(
            {"classe": entry.name, "date_limite": cutoff.isoformat(), "lignes_supprimees": removed}
        )
    report["classes"].extend(extra(now, held) for extra in EXTRA_CLASSES)
    report["classes"].append(_journal_class(now, held, report))
    journal.record("retention", detail=report)
    return report


def _journal_class(now: datetime, held: set[str], report: dict) -> dict:
    """Delete the journal's entries older than its cut-off, up to the first one to keep (a held employee's)."""
    cutoff = months_before(now, settings.months("journal_months"))
    table = journal.TABLE
    keep = (
        sa.or_(table.c.created_at >= cutoff, table.c.employee_key.in_(held)) if held else table.c.created_at >= cutoff
    )
    db.session.rollback()
    with write_turn(current_app), db.engine.begin() as connection:
        first_kept = connection.execute(
            sa.select(table.c.seq, table.c.prev_hash).where(keep).order_by(table.c.seq).limit(1)
        ).first()
        last = connection.execute(sa.select(table.c.seq, table.c.hash).order_by(table.c.seq.desc()).limit(1)).first()
        if first_kept is not None:
            start = {"seq": first_kept.seq, "prev_hash": first_kept.prev_hash}
        elif last is not None:
            start = {"seq": last.seq + 1, "prev_hash": last.hash}  # all expired: the report entry starts the chain
        else:
            start = None
        removed = connection.execute(table.delete().where(table.c.seq < start["seq"])).rowcount if start else 0
    result = {
        "classe": "access_journal",
        "date_limite": cutoff.isoformat(),
        "lignes_supprimees": {"access_journal": removed},
    }
    if removed:
        report["journal_debut"] = start
    return result
