"""Tables holding an employee reference, and what reads or erases all of one employee's rows.

Each table is declared once with `register` (evaluations, outcomes' departures and their history): the
employee's file, the erasure and the retention runs then cover it with no change elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime

import sqlalchemy as sa

from futurisys.compliance.models import Decision, EmployeeFlag
from futurisys.outcomes.models import Departure, DepartureChange
from futurisys.storage import hooks, stats
from futurisys.storage.models import Input, Prediction


@dataclass(frozen=True)
class EmployeeTable:
    """A table with an employee-reference column; `children` are tables whose rows hang off its ids
    (table, foreign-key column), read and deleted with it. `retention` is (setting key, date column) when a
    retention class applies to it."""

    name: str
    label: str
    table: sa.Table
    ref_column: str = "employee_ref"
    children: tuple[tuple[sa.Table, str], ...] = field(default_factory=tuple)
    retention: tuple[str, str] | None = None

    def ids_of(self, employee_ref: str):
        """SELECT of the ids of this employee's rows."""
        return sa.select(self.table.c.id).where(self.table.c[self.ref_column] == employee_ref)

    def rows(self, connection, employee_ref: str) -> dict[str, list[dict]]:
        """{table name: rows} of this employee, this table's and its children's."""
        out = {
            self.name: [
                dict(row)
                for row in connection.execute(
                    sa.select(self.table).where(self.table.c[self.ref_column] == employee_ref).order_by(self.table.c.id)
                ).mappings()
            ]
        }
        for child, column in self.children:
            query = sa.select(child).where(child.c[column].in_(self.ids_of(employee_ref))).order_by(child.c.id)
            out[child.name] = [dict(row) for row in connection.execute(query).mappings()]
        return out

    def delete_where(self, connection, condition) -> dict[str, int]:
        """Delete the rows matching `condition` (on this table) and their children: {table name: rows removed}."""
        ids = sa.select(self.table.c.id).where(condition)
        removed = {}
        for child, column in self.children:  # children first: no reliance on ON DELETE CASCADE being on
            removed[child.name] = connection.execute(child.delete().where(child.c[column].in_(ids))).rowcount
        removed[self.name] = connection.execute(self.table.delete().where(condition)).rowcount
        return removed


REGISTRY: dict[str, EmployeeTable] = {}


def register(entry: EmployeeTable) -> None:
    """Add (or replace, by name) a table holding an employee reference."""
    REGISTRY[entry.name] = entry


def add_child(name: str, child: sa.Table, column: str) -> None:
    """Another package's table whose rows belong to the rows of the registered table `name` (file, erasure)."""
    entry = REGISTRY[name]
    if all(table is not child for table, _ in entry.children):
        REGISTRY[name] = replace(entry, children=((child, column), *entry.children))


register(
    EmployeeTable(
        "inputs",
        "Évaluations (données saisies)",
        Input.__table__,
        children=((Decision.__table__, "input_id"), (Prediction.__table__, "input_id")),
        retention=("evaluation_months", "created_at"),
    )
)
register(
    EmployeeTable(
        "departures", "Départs enregistrés", Departure.__table__, retention=("departure_months", "departure_date")
    )
)
register(
    EmployeeTable(
        "departure_changes",
        "Historique des départs",
        DepartureChange.__table__,
        retention=("departure_months", "departure_date"),
    )
)


def plain(value):
    """A value as JSON holds it (dates in ISO 8601)."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def all_rows(connection, employee_ref: str) -> dict[str, list[dict]]:
    """Every row of every registered table (and children) about this employee, JSON-ready."""
    out = {}
    for entry in REGISTRY.values():
        for name, rows in entry.rows(connection, employee_ref).items():
            out[name] = [{key: plain(value) for key, value in row.items()} for row in rows]
    return out


def erase_rows(connection, employee_ref: str) -> dict[str, int]:
    """Delete every registered row of this employee in the caller's transaction: {table name: rows removed}."""
    from futurisys.jobs.lots import forget_employee

    removed = {"fichiers_de_lots": forget_employee(connection, employee_ref)}  # lots whose files named them
    hooks.predictions_changed(connection)
    stats.discount(connection, Input.__table__.c.employee_ref == employee_ref)  # the dashboard's counts follow
    for entry in REGISTRY.values():
        removed.update(entry.delete_where(connection, entry.table.c[entry.ref_column] == employee_ref))
    return removed


def move_rows(connection, employee_ref: str, new_ref: str) -> dict[str, int]:
    """Give every registered row of `employee_ref` the reference `new_ref`, in the caller's transaction."""
    moved = {}
    hooks.predictions_changed(connection)
    for entry in REGISTRY.values():
        column = entry.table.c[entry.ref_column]
        moved[entry.name] = connection.execute(
            entry.table.update().where(column == employee_ref).values({entry.ref_column: new_ref})
        ).rowcount
    return moved


FLAGS = EmployeeFlag.__table__
