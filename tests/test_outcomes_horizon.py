"""The outcome of each prediction on hand-built timelines, and the property that nothing young is « resté »."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from futurisys.outcomes.clock import shift_months
from futurisys.outcomes.horizon import HORIZONS, RESTE, matured_before, outcomes
from tests.outcome_rows import VOLUNTARY, add_departures, add_predictions, clear

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def statuses(db, horizon=12, now=NOW, **kwargs) -> dict[int, tuple[str, bool]]:
    query = outcomes(db.engine.dialect.name, horizon, now, VOLUNTARY, **kwargs)
    rows = db.session.execute(sa.select(query.c.prediction_id, query.c.status, query.c.counted)).all()
    return {prediction_id: (status, bool(counted)) for prediction_id, status, counted in rows}


def test_every_status_on_hand_built_timelines(db):
    at = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)  # 15 months before NOW: matured for 3, 6 and 12 months
    ids = add_predictions(
        [
            {"created_at": at, "employee_ref": "LEFT"},  # resigned 4 months later
            {"created_at": at, "employee_ref": "FIRED"},  # dismissed 2 months later
            {"created_at": at, "employee_ref": "STAYED"},  # no departure
            {"created_at": at, "employee_ref": "LATE"},  # resigned 13 months later: after 12
            {"created_at": NOW - timedelta(days=30), "employee_ref": "YOUNG"},  # a month old
            {"created_at": at, "employee_ref": None, "source": "api"},  # no reference
            {"created_at": at + timedelta(days=5), "employee_ref": "LEFT"},  # same month again: not counted
            {"created_at": at, "employee_ref": "SIM", "source": "whatif"},  # a simulation: never an outcome
            {"created_at": at, "employee_ref": "BEFORE"},  # left on the day of the prediction: not within
            {"created_at": at, "employee_ref": "FUTURE"},  # resignation dated after "now": not known yet
            {"created_at": at, "employee_ref": "BOTH"},  # dismissed first, then (data error) resigned
        ]
    )
    add_departures(
        [
            ("LEFT", date(2025, 7, 10), "demission"),
            ("FIRED", date(2025, 5, 1), "licenciement"),
            ("LATE", date(2026, 4, 20), "demission"),
            ("BEFORE", date(2025, 3, 10), "demission"),
            ("FUTURE", date(2026, 6, 20), "demission"),
            ("BOTH", date(2025, 4, 1), "fin_cdd"),
            ("BOTH", date(2025, 4, 2), "demission"),
        ]
    )
    found = statuses(db)
    assert len(found) == 10 and ids[7] not in found
    assert [found[i] for i in ids[:7]] == [
        ("parti", True),
        ("censure", True),
        ("reste", True),
        ("reste", True),
        ("en_attente", True),
        ("sans_reference", True),
        ("parti", False),
    ]
    assert [found[i][0] for i in ids[8:]] == ["reste", "reste", "censure"]
    # Over 3 months, the resignation 4 months later is beyond the horizon; over 6 it is within.
    assert statuses(db, 3)[ids[0]][0] == "reste" and statuses(db, 6)[ids[0]][0] == "parti"
    # Before the dismissal is known (now moved back), the employee is still pending, never « resté ».
    assert statuses(db, now=datetime(2025, 4, 1, tzinfo=UTC))[ids[1]][0] == "en_attente"
    assert set(statuses(db, model_version="v2")) == set()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    horizon=st.sampled_from(HORIZONS),
    ages=st.lists(st.integers(min_value=0, max_value=800 * 86400), min_size=1, max_size=8),
    exits=st.lists(
        st.tuples(st.integers(0, 7), st.integers(-400, 400), st.sampled_from(["demission", "licenciement"])),
        max_size=6,
    ),
)
def test_no_prediction_younger_than_its_horizon_is_ever_reste(db, horizon, ages, exits):
    clear()
    created = [NOW - timedelta(seconds=age) for age in ages]
    ids = add_predictions([{"created_at": moment, "employee_ref": f"E{i}"} for i, moment in enumerate(created)])
    add_departures(
        list(
            {
                (f"E{who % len(created)}", (created[who % len(created)] + timedelta(days=days)).date(), kind)
                for who, days, kind in exits
            }
        )
    )
    found = statuses(db, horizon)
    limit = matured_before(NOW, horizon)
    for prediction_id, moment in zip(ids, created, strict=True):
        if moment > limit:  # younger than H
            assert found[prediction_id][0] != RESTE
        assert shift_months(moment, horizon) > NOW or moment <= limit
