"""`flask --app futurisys predictions …`: retention of stored inputs and predictions (personal HR data)."""

from __future__ import annotations

import re
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from futurisys.extensions import db
from futurisys.storage import retention, stats
from futurisys.storage.models import utcnow

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
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=retention.BATCH_SIZE, show_default=True)
@click.option("--in-background", is_flag=True, help="Hand the purge to the job engine and print its page's address.")
@click.option(
    "--pause-ratio",
    type=click.FloatRange(0, 100),
    default=None,
    help="Rest this many times a batch's time after it [default: PURGE_PAUSE_RATIO, 1.0].",
)
def purge_command(age: timedelta, dry_run: bool, batch_size: int, in_background: bool, pause_ratio) -> None:
    """Delete the inputs older than AGE together with their predictions, a batch per transaction (legal holds kept)."""
    from futurisys.compliance.rights import held_among

    cutoff = utcnow() - age
    seconds = current_app.config["MAINTENANCE_STATEMENT_TIMEOUT"]
    if in_background and not dry_run:
        from futurisys.jobs.purges import create_purge

        job_id = create_purge(cutoff, user_id=None, request_id="cli")
        click.echo(f"purge {job_id} sent to the job engine: follow it at /admin/purges/{job_id}")
        return
    if dry_run:
        result = retention.count_older_than(db.engine, cutoff, seconds, held_among=held_among)
    else:
        result = retention.purge_older_than(
            db.engine,
            cutoff,
            seconds,
            batch_size=batch_size,
            progress=lambda done: click.echo(f"  {done.inputs} inputs deleted so far", err=True),
            held_among=held_among,
            pause_ratio=current_app.config["PURGE_PAUSE_RATIO"] if pause_ratio is None else pause_ratio,
        )
    from futurisys.storage.db_check import shown

    verb = "would be deleted" if dry_run else "deleted"
    click.echo(
        f"{result.inputs} inputs and {result.predictions} predictions older than {cutoff:%Y-%m-%d %H:%M} UTC {verb} "
        f"in {shown(db.engine.url)}"
    )


@predictions_cli.command("stats")
def stats_command() -> None:
    """Count the days not counted yet into the daily stats the dashboard and the drift page read (run it daily)."""
    last = stats.refresh(db.engine, current_app.config["MAINTENANCE_STATEMENT_TIMEOUT"])
    click.echo(f"daily stats complete through {last:%Y-%m-%d}")
