"""An employee's rights by reference: legal hold, objection, erasure (GDPR art. 17, 18, 21)."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from flask import current_app, request
from flask_login import current_user

from futurisys.compliance import journal
from futurisys.compliance.employees import FLAGS, erase_rows, move_rows
from futurisys.compliance.models import EmployeeFlag
from futurisys.errors import error_response
from futurisys.extensions import db
from futurisys.storage.models import Input, Prediction, utcnow
from futurisys.storage.sqlite_writes import write_turn

OBJECTION_MESSAGE = (
    "Le salarié {ref} s'est opposé au traitement de ses données par Futurisys : aucune nouvelle évaluation "
    "ne peut être faite pour lui, et rien n'a été enregistré."
)
HOLD_MESSAGE = "Un gel juridique est posé sur ce salarié : ses données ne peuvent être ni effacées ni purgées."


class LegalHold(Exception):
    """The employee's data is under legal hold: it cannot be erased."""


def flags_of(employee_ref: str) -> EmployeeFlag:
    """The flags of an employee (an unsaved, all-false row when none were ever set)."""
    found = db.session.get(EmployeeFlag, journal.pseudonym(employee_ref))
    return found or EmployeeFlag(employee_key=journal.pseudonym(employee_ref), legal_hold=False, objection=False)


def set_flag(employee_ref: str, name: str, value: bool, username: str) -> None:
    """Set `legal_hold` or `objection` for this employee, commit and journal it."""
    flag = flags_of(employee_ref)
    setattr(flag, name, value)
    flag.updated_at, flag.updated_by = utcnow(), username
    db.session.merge(flag)
    db.session.commit()
    action = "gel" if name == "legal_hold" else "opposition"
    journal.record(action, [journal.Subject(employee_ref)], {"valeur": value})


def objected(references: Iterable[str | None]) -> list[str]:
    """Those of `references` whose employee has objected, in the given order."""
    keys = {ref: journal.pseudonym(ref) for ref in references if ref}
    if not keys:
        return []
    query = sa.select(FLAGS.c.employee_key).where(FLAGS.c.employee_key.in_(set(keys.values())), FLAGS.c.objection)
    found = set(db.session.scalars(query))
    return [ref for ref, key in keys.items() if key in found]


def held_keys() -> set[str]:
    """Pseudonyms of the employees under legal hold."""
    return set(db.session.scalars(sa.select(FLAGS.c.employee_key).where(FLAGS.c.legal_hold)))


def held_among(references: Iterable[str]) -> list[str]:
    """Those of `references` whose employee is under legal hold."""
    held = held_keys()
    return [ref for ref in references if journal.pseudonym(ref) in held] if held else []


def unless_held(column, condition):
    """`condition` on rows with an employee reference in `column`, minus the rows of employees under legal hold."""
    held = held_among(db.session.scalars(sa.select(column).where(condition, column.is_not(None)).distinct()))
    return sa.and_(condition, sa.or_(column.is_(None), column.not_in(held))) if held else condition


def refuse_held_deletion():
    """Before an admin deletes one prediction: 409 when its employee is under legal hold."""
    if request.endpoint != "admin.delete" or not current_user.is_authenticated or current_user.role != "admin":
        return None
    prediction_id = request.view_args.get("prediction_id", 0)
    query = sa.select(Input.employee_ref).join(Prediction, Prediction.input_id == Input.id)
    reference = db.session.scalar(query.where(Prediction.id == min(prediction_id, 2**63 - 1)))
    if reference and flags_of(reference).legal_hold:
        return error_response(409, HOLD_MESSAGE)
    return None


class RectificationRefused(Exception):
    """A reference cannot be rectified as asked (the message says why, in French)."""


def rectify_reference(employee_ref: str, new_ref: str) -> dict[str, int]:
    """Rectification (GDPR art. 16) of rows filed under the wrong employee: every row of `employee_ref` moves to
    `new_ref`, in one transaction, journaled under both pseudonyms. The flags stay with each pseudonym (they are
    each person's own); a legal hold on either side freezes the rows.
    """
    if new_ref == employee_ref:
        raise RectificationRefused("La nouvelle référence est celle d'aujourd'hui : rien à rectifier.")
    if flags_of(employee_ref).legal_hold or flags_of(new_ref).legal_hold:
        raise LegalHold(HOLD_MESSAGE)
    db.session.rollback()
    try:
        with write_turn(current_app), db.engine.begin() as connection:
            moved = move_rows(connection, employee_ref, new_ref)
    except sa.exc.IntegrityError:
        raise RectificationRefused(
            f"{new_ref} a déjà un départ de même date et de même motif : supprimez le doublon d'abord."
        ) from None
    subjects = [journal.Subject(employee_ref), journal.Subject(new_ref)]
    journal.record("rectification", subjects, {"lignes_rattachees": moved})
    return moved


def erase(employee_ref: str) -> dict[str, int]:
    """Delete every row about this employee in one transaction and journal a pseudonymous tombstone.

    Raises LegalHold when a hold is set. The flags stay (keyed by pseudonym): an objection outlives the erasure.
    """
    if flags_of(employee_ref).legal_hold:
        raise LegalHold(HOLD_MESSAGE)
    db.session.rollback()  # end the read transaction before writing on another connection
    with write_turn(current_app), db.engine.begin() as connection:
        removed = erase_rows(connection, employee_ref)
    journal.record("effacement", [journal.Subject(employee_ref)], {"lignes_supprimees": removed})
    return removed
