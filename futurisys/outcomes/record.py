"""Recording departures (idempotent on reference, date and type), correcting and removing them, with history."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from futurisys.extensions import db
from futurisys.outcomes import clock, summaries
from futurisys.outcomes.kinds import parse_kind
from futurisys.outcomes.models import Departure, DepartureChange
from futurisys.storage.models import EMPLOYEE_REF_LENGTH

REFERENCE = re.compile(rf"^[A-Za-z0-9._-]{{1,{EMPLOYEE_REF_LENGTH}}}$")
EARLIEST = date(2000, 1, 1)
_CHUNK = 500  # references looked up per query, rows inserted per statement


@dataclass(frozen=True)
class NewDeparture:
    """A departure to record: who (the employee's reference), when, which type (a code of KINDS)."""

    employee_ref: str
    departure_date: date
    kind: str


@dataclass(frozen=True)
class Actor:
    """Who records or changes a departure: an account (form, CSV, admin pages) or an API key."""

    user_id: int | None = None
    username: str | None = None
    api_key_name: str | None = None


@dataclass(frozen=True)
class Recorded:
    """What a recording did: departures created, and those already known (left as they were)."""

    created: int
    known: int


def parse_date(value) -> tuple[date | None, str | None]:
    """A departure date from a date or text (2025-03-31 or 31/03/2025): (date, None) or (None, French message)."""
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        text = value.strip() if isinstance(value, str) else ""
        if not text:
            return None, "Date de départ manquante."
        parsed = None
        for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                parsed = datetime.strptime(text, pattern).date()
                break
            except ValueError:
                continue
        if parsed is None:
            return None, f"Date illisible « {text[:20]} » : écrivez-la 2025-03-31 ou 31/03/2025."
        value = parsed
    today = clock.now().date()
    if value > today:
        return None, "Date dans le futur : déclarez le départ une fois qu'il a eu lieu."
    if value < EARLIEST:
        return None, f"Date antérieure à {EARLIEST.year} : vérifiez l'année."
    return value, None


def reference_error(value) -> str | None:
    """The French message for a missing or malformed employee reference (None when valid)."""
    if not isinstance(value, str) or not value.strip():
        return "Référence du salarié manquante."
    if not REFERENCE.match(value.strip()):
        return (
            f"Référence invalide : {EMPLOYEE_REF_LENGTH} caractères au plus, parmi les lettres sans accent, les "
            "chiffres et - _ . (par exemple « MAT-0042 »)."
        )
    return None


def validate(reference, when, kind) -> tuple[NewDeparture | None, dict[str, list[str]]]:
    """One departure from its three values as sent; the errors by field name otherwise."""
    errors: dict[str, list[str]] = {}
    if message := reference_error(reference):
        errors["reference_salarie"] = [message]
    day, message = parse_date(when)
    if message:
        errors["date_depart"] = [message]
    code, message = parse_kind(kind if isinstance(kind, str) else "")
    if message:
        errors["motif"] = [message]
    if errors:
        return None, errors
    return NewDeparture(reference.strip(), day, code), {}


def _existing(connection, items: list[NewDeparture]) -> set[tuple]:
    found = set()
    references = sorted({item.employee_ref for item in items})
    table = Departure.__table__
    for start in range(0, len(references), _CHUNK):
        rows = connection.execute(
            sa.select(table.c.employee_ref, table.c.departure_date, table.c.kind).where(
                table.c.employee_ref.in_(references[start : start + _CHUNK])
            )
        )
        found.update(tuple(row) for row in rows)
    return found


def record_departures(items: list[NewDeparture], source: str, actor: Actor) -> Recorded:
    """Store the departures not yet known, each with its history line, in one transaction (all or nothing).

    A (reference, date, type) already stored, or repeated in `items`, is left as it is: recording is idempotent.
    """
    unique = list(dict.fromkeys(items))
    for attempt in (1, 2):
        try:
            return _insert(unique, source, actor, len(items))
        except IntegrityError:
            # Another request stored one of them in between: read again what exists, once.
            db.session.rollback()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _insert(unique: list[NewDeparture], source: str, actor: Actor, sent: int) -> Recorded:
    departures, changes = Departure.__table__, DepartureChange.__table__
    connection = db.session.connection()
    known = _existing(connection, unique)
    new = [item for item in unique if (item.employee_ref, item.departure_date, item.kind) not in known]
    moment = clock.now()
    for start in range(0, len(new), _CHUNK):
        chunk = new[start : start + _CHUNK]
        ids = (
            connection.execute(
                departures.insert().returning(departures.c.id, sort_by_parameter_order=True),
                [
                    {
                        "employee_ref": item.employee_ref,
                        "departure_date": item.departure_date,
                        "kind": item.kind,
                        "source": source,
                        "created_at": moment,
                    }
                    for item in chunk
                ],
            )
            .scalars()
            .all()
        )
        connection.execute(
            changes.insert(),
            [
                {
                    "departure_id": departure_id,
                    "action": "creation",
                    "employee_ref": item.employee_ref,
                    "departure_date": item.departure_date,
                    "kind": item.kind,
                    "previous": None,
                    "user_id": actor.user_id,
                    "username": actor.username,
                    "api_key_name": actor.api_key_name,
                    "changed_at": moment,
                }
                for departure_id, item in zip(ids, chunk, strict=True)
            ],
        )
    if new:  # the months whose horizon holds one of them are summarised again
        summaries.forget_around_departure(connection, min(item.departure_date for item in new))
    db.session.commit()
    return Recorded(created=len(new), known=sent - len(new))


def _values(departure: Departure) -> dict:
    return {
        "employee_ref": departure.employee_ref,
        "departure_date": departure.departure_date.isoformat(),
        "kind": departure.kind,
    }


def _history(departure: Departure, action: str, actor: Actor, previous: dict | None) -> DepartureChange:
    return DepartureChange(
        departure_id=departure.id,
        action=action,
        employee_ref=departure.employee_ref,
        departure_date=departure.departure_date,
        kind=departure.kind,
        previous=previous,
        user_id=actor.user_id,
        username=actor.username,
        api_key_name=actor.api_key_name,
        changed_at=clock.now(),
    )


class Conflict(ValueError):
    """The corrected departure would be one already recorded."""


def correct(departure: Departure, fixed: NewDeparture, actor: Actor) -> bool:
    """Give `departure` the values of `fixed`, keeping a history line; False when nothing changed."""
    before = _values(departure)
    if (departure.employee_ref, departure.departure_date, departure.kind) == (
        fixed.employee_ref,
        fixed.departure_date,
        fixed.kind,
    ):
        return False
    clash = db.session.scalar(
        sa.select(Departure.id).where(
            Departure.employee_ref == fixed.employee_ref,
            Departure.departure_date == fixed.departure_date,
            Departure.kind == fixed.kind,
            Departure.id != departure.id,
        )
    )
    if clash is not None:
        raise Conflict("Ce départ (même référence, même date, même type) est déjà enregistré.")
    summaries.forget_around_departure(db.session.connection(), min(departure.departure_date, fixed.departure_date))
    departure.employee_ref, departure.departure_date, departure.kind = (
        fixed.employee_ref,
        fixed.departure_date,
        fixed.kind,
    )
    departure.updated_at = clock.now()
    db.session.add(_history(departure, "correction", actor, before))
    db.session.commit()
    return True


def remove(departure: Departure, actor: Actor) -> None:
    """Delete `departure`; its history keeps its last values, who removed it and when."""
    db.session.add(_history(departure, "suppression", actor, _values(departure)))
    summaries.forget_around_departure(db.session.connection(), departure.departure_date)
    db.session.delete(departure)
    db.session.commit()
