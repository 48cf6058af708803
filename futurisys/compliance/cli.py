"""`flask --app futurisys journal verify` and `flask --app futurisys retention apply`."""

from __future__ import annotations

import click
from flask.cli import AppGroup

journal_cli = AppGroup("journal", help="The append-only access journal.")
retention_cli = AppGroup("retention", help="Retention of personal data by class.")


@journal_cli.command("verify")
def verify_command() -> None:
    """Walk the hash chain: exit 1 with the problems when an entry is missing or was edited."""
    from futurisys.compliance.journal import verify

    problems = verify()
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise SystemExit(1)
    click.echo("journal intact")


@retention_cli.command("apply")
def apply_command() -> None:
    """Delete what each class keeps past its setting (legal holds respected); the report goes to the journal."""
    from futurisys.compliance import retention

    report = retention.apply()
    for item in report["classes"]:
        removed = ", ".join(f"{name} {count}" for name, count in item["lignes_supprimees"].items())
        click.echo(f"{item['classe']}: before {item['date_limite'][:10]} -> removed {removed}")
