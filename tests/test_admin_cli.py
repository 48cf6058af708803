"""`predictions purge`: old inputs go with their predictions, recent ones stay; `--dry-run` only counts."""

from datetime import timedelta

import pytest

from futurisys.admin.cli import parse_age
from futurisys.storage.models import utcnow
from tests.payloads import FEATURES, RAW
from tests.support import counts, restamp, store


@pytest.fixture
def aged(app):
    """Two predictions 100 days old, one 5 hours old, one fresh."""
    ids = [store(app, FEATURES), store(app, FEATURES, raw=RAW), store(app, FEATURES), store(app, FEATURES)]
    for prediction_id, age in zip(ids, (timedelta(days=100), timedelta(days=100), timedelta(hours=5)), strict=False):
        restamp(app, prediction_id, created_at=utcnow() - age)
    return ids


def test_purge_deletes_old_inputs_and_their_predictions(app, runner, aged):
    result = runner.invoke(args=["predictions", "purge", "--older-than", "90d"])
    assert result.exit_code == 0, result.output
    assert "2 inputs and 2 predictions older than" in result.output and "deleted" in result.output
    assert counts(app) == (2, 2)
    result = runner.invoke(args=["predictions", "purge", "--older-than", "2h"])
    assert "1 inputs and 1 predictions" in result.output
    assert counts(app) == (1, 1)


def test_dry_run_only_counts(app, runner, aged):
    result = runner.invoke(args=["predictions", "purge", "--older-than", "90d", "--dry-run"])
    assert result.exit_code == 0 and "2 inputs and 2 predictions" in result.output
    assert "would be deleted" in result.output
    assert counts(app) == (4, 4)


@pytest.mark.parametrize("value", ["90", "0d", "3w", "-5d", "quatre-vingt-dix jours"])
def test_bad_ages_are_refused(app, runner, aged, value):
    result = runner.invoke(args=["predictions", "purge", "--older-than", value])
    assert result.exit_code == 2 and "expected a positive number of days or hours" in result.output
    assert counts(app) == (4, 4)


def test_parse_age():
    assert parse_age("90d") == timedelta(days=90) and parse_age(" 12H ") == timedelta(hours=12)


def test_purge_in_background_hands_it_to_the_job_engine(app, runner, aged):
    import futurisys.jobs.tasks  # noqa: F401 — registers the tasks
    from futurisys.jobs.engine import RUN_PURGE

    result = runner.invoke(args=["predictions", "purge", "--older-than", "90d", "--in-background"])
    assert result.exit_code == 0, result.output
    job_id = result.output.split("/admin/purges/")[1].strip()
    assert counts(app) == (4, 4)  # nothing deleted by the command itself
    assert app.extensions["celery"].tasks[RUN_PURGE].apply(args=[job_id]).get() == "termine"
    assert counts(app) == (2, 2)


def test_purge_rests_between_batches_as_asked(app, runner, aged, monkeypatch):
    from futurisys.storage import retention

    rests = []
    monkeypatch.setattr(retention.time, "sleep", rests.append)
    result = runner.invoke(args=["predictions", "purge", "--older-than", "90d", "--pause-ratio", "0"])
    assert result.exit_code == 0 and rests == []
    result = runner.invoke(
        args=["predictions", "purge", "--older-than", "2h", "--pause-ratio", "2", "--batch-size", "1"]
    )
    assert result.exit_code == 0 and len(rests) == 1
