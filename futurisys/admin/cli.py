"""`flask --app futurisys predictions …`: retention of stored inputs and predictions (personal HR data)."""

from __future__ import annotations

import re
from datetime import timedelta

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from futurisys.extensions import db
from futurisys.models import Input, Prediction, utcnow

predictions_cli = AppGroup("predictions", help="Stored inputs and predictions.")
_AGE = re.compile(r"^\s*(\d+)\s*([dh])\s*$", re.IGNORECASE)


def parse_age(value: str) -> timedelta:
    """'90d' → 90 days, '12h' → 12 hours; ValueError otherwise."""
    match = _AGE.match(value)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"expected a positive number of days or hours such as 90d or 12h, got {value!r}")
    number, unit = int(match.group(1)), match.group(2).lower()
    return timedelta(days=number) if unit == "d" else timedelta(hours=number)


class AgeParam(click.ParamType):
    """A click parameter for ages written Nd or Nh."""

    name = "age"

    def convert(self, value, param, ctx):
        if isinstance(value, timedelta):
            return value
        try:
            return parse_age(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


@predictions_cli.command("purge")
@click.option("--older-than", "age", type=AgeParam(), required=True, help="Age such as 90d (days) or 12h (hours).")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
def purge_command(age: timedelta, dry_run: bool) -> None:
    """Delete the inputs older than AGE together with their predictions, in one transaction."""
    inputs, predictions = Input.__table__, Prediction.__table__
    cutoff = utcnow() - age
    old_inputs = sa.select(inputs.c.id).where(inputs.c.created_at < cutoff)
    with db.engine.begin() as connection:
        if dry_run:
            n_inputs = connection.scalar(sa.select(sa.func.count()).select_from(old_inputs.subquery()))
            n_predictions = connection.scalar(
                sa.select(sa.func.count()).select_from(predictions).where(predictions.c.input_id.in_(old_inputs))
            )
        else:
            # Predictions first, explicitly: the result does not depend on the foreign-key cascade being on.
            n_predictions = connection.execute(
                predictions.delete().where(predictions.c.input_id.in_(old_inputs))
            ).rowcount
            n_inputs = connection.execute(inputs.delete().where(inputs.c.created_at < cutoff)).rowcount
    from futurisys.db_check import shown

    verb = "would be deleted" if dry_run else "deleted"
    click.echo(
        f"{n_inputs} inputs and {n_predictions} predictions older than {cutoff:%Y-%m-%d %H:%M} UTC {verb} "
        f"in {shown(db.engine.url)}"
    )
