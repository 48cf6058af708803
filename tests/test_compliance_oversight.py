"""Human oversight (decision-aid sentence, HR decisions) and the suspend switch; retention by class with holds."""

import html
import io
from datetime import timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from futurisys.compliance import journal, retention
from futurisys.compliance.models import JournalEntry
from futurisys.domain.formatting import NNBSP  # pages are typeset: compared here with plain spaces
from futurisys.extensions import db
from futurisys.storage.models import Input, utcnow
from tests.payloads import FEATURES, RAW, french_csv, french_row
from tests.support import counts, evaluate, form_data, logged_in, scalar


def test_the_result_page_warns_and_records_the_decision(app, hr_client):
    path = evaluate(hr_client, reference_salarie="MAT-5")
    page = html.unescape(hr_client.get(path).get_data(as_text=True).replace(NNBSP, " "))
    assert "Ce score est une aide à la décision, pas une décision" in page
    response = hr_client.post(
        f"{path}/decision", data={"action": "action_retention", "avis": "suit", "commentaire": "Plan"}
    )
    assert response.status_code == 303
    page = html.unescape(hr_client.get(path).get_data(as_text=True).replace(NNBSP, " "))
    assert "Action de rétention</strong> — suit l'avis du modèle — « Plan »" in page
    bad = hr_client.post(f"{path}/decision", data={"action": "licenciement"}, follow_redirects=True)
    assert "Décision non enregistrée" in html.unescape(bad.get_data(as_text=True).replace(NNBSP, " "))
    assert scalar(app, sa.text("SELECT count(*) FROM evaluation_decisions")) == 1


def test_the_switch_suspends_every_scoring_entry_point(app, client):
    logged_in(app, client)
    path = evaluate(client)
    before = counts(app)
    saved = client.post(
        "/admin/conformite/parametres",
        data={
            "evaluation_months": "24",
            "journal_months": "12",
            "departure_months": "60",
            "team_min_group": "5",
            "organisation": "ACME",
            "dpo_contact": "dpo@acme.fr",
            "scoring_suspended": "y",
            "suspension_reason": "audit du CSE",
        },
    )
    assert saved.status_code == 303
    lot = french_csv([french_row(1, "MAT-9")])
    attempts = [
        client.post("/", data=form_data(RAW)),
        client.post(f"{path}/simulation", data=form_data(RAW)),
        client.post("/lot", data={"fichier": (io.BytesIO(lot), "lot.csv")}, content_type="multipart/form-data"),
        client.post("/predict", json=FEATURES),
        client.post("/predict/batch", json=[FEATURES]),
    ]
    for response in attempts:
        assert response.status_code == 503
        assert "suspendues par l'administration de Futurisys : audit du CSE" in html.unescape(
            response.get_data(as_text=True).replace(NNBSP, " ")
        )
    assert counts(app) == before
    with app.app_context():
        changes = db.session.scalars(sa.select(JournalEntry).where(JournalEntry.action == "suspension")).all()
    assert {c.username for c in changes} == {"admin"} and "audit du CSE" in " ".join(c.detail for c in changes)
    invalid = client.post("/admin/conformite/parametres", data={"journal_months": "3", "evaluation_months": "x"})
    assert invalid.status_code == 422 and "entre 6 et 60" in invalid.get_data(as_text=True).replace(NNBSP, " ")
    client.post(
        "/admin/conformite/parametres",
        data={"evaluation_months": "24", "journal_months": "12", "departure_months": "60", "team_min_group": "5"},
    )
    assert client.post("/predict", json=FEATURES).status_code == 200


def _insert_inputs(app, ages_in_days, ref_of):
    """Inputs (with predictions) aged as given, straight into the tables; their ids."""
    now = utcnow()
    with app.app_context(), db.engine.begin() as connection:
        ids = []
        for index, age in enumerate(ages_in_days):
            row = {
                **FEATURES,
                "source": "form",
                "request_id": "r",
                "created_at": now - timedelta(days=age),
                "employee_ref": ref_of(index),
            }
            input_id = connection.execute(Input.__table__.insert().returning(Input.id), row).scalar_one()
            connection.execute(
                sa.text(
                    "INSERT INTO predictions (input_id, prediction_label, prediction_proba, threshold, "
                    "model_version, created_at, latency_ms) VALUES (:i, 'Reste', 0.1, 0.5, 'v', :t, 1)"
                ),
                {"i": input_id, "t": row["created_at"]},
            )
            ids.append(input_id)
    return ids, now


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ages=st.lists(st.integers(min_value=0, max_value=1500), min_size=1, max_size=8), months=st.integers(1, 48))
def test_retention_removes_exactly_what_is_past_its_cutoff_and_nothing_held(app, ages, months):
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM inputs"))
        connection.execute(sa.text("DELETE FROM employee_flags"))
    with app.test_request_context():
        from futurisys.compliance import settings as compliance_settings

        compliance_settings.save({"evaluation_months": str(months)}, "test")
        db.session.add(_hold("MAT-HOLD"))
        db.session.commit()
    ids, now = _insert_inputs(app, ages, lambda i: "MAT-HOLD" if i == 0 else f"MAT-{i}")
    with app.test_request_context():
        report = retention.apply(now)
        cutoff = retention.months_before(now, months)
        expected = {i for i, age in zip(ids, ages, strict=True) if now - timedelta(days=age) >= cutoff or i == ids[0]}
        left = set(db.session.scalars(sa.select(Input.id)))
        assert left == expected
        assert scalar(app, sa.text("SELECT count(*) FROM predictions")) == len(expected)
        entry = db.session.scalars(sa.select(JournalEntry).where(JournalEntry.action == "retention")).all()[-1]
        assert f'"inputs": {len(ids) - len(expected)}' in entry.detail
        assert report["classes"][0]["date_limite"] == cutoff.isoformat()


def _hold(reference):
    from futurisys.compliance.models import EmployeeFlag

    return EmployeeFlag(
        employee_key=journal.pseudonym(reference), legal_hold=True, objection=False, updated_at=utcnow()
    )


def test_months_before_keeps_the_calendar():
    from datetime import datetime

    assert retention.months_before(datetime(2026, 3, 31), 1) == datetime(2026, 2, 28)
    assert retention.months_before(datetime(2026, 1, 15), 13) == datetime(2024, 12, 15)


def test_retention_trims_the_journal_from_its_start_up_to_a_held_employee(app, runner, monkeypatch):
    old = utcnow() - timedelta(days=730)
    with app.test_request_context():
        monkeypatch.setattr(journal, "utcnow", lambda: old)  # entries from two years ago
        journal.record("export", detail={"n": 1})
        journal.record("export", detail={"n": 2})
        journal.record("consultation", [journal.Subject("MAT-HOLD")])
        journal.record("export", detail={"n": 3})
        monkeypatch.undo()
        journal.record("export", detail={"n": 4})
        db.session.add(_hold("MAT-HOLD"))
        db.session.commit()
    result = runner.invoke(args=["retention", "apply"])
    assert result.exit_code == 0, result.output
    assert "access_journal: before" in result.output and "access_journal 2" in result.output
    with app.app_context():
        kept = db.session.scalars(sa.select(JournalEntry.seq).order_by(JournalEntry.seq)).all()
    assert kept == [3, 4, 5, 6]  # from the held employee's entry on, and the run's report
    assert runner.invoke(args=["journal", "verify"]).exit_code == 0
    with app.app_context(), db.engine.begin() as connection:  # the database itself refuses to drop young entries
        with __import__("pytest").raises(sa.exc.DBAPIError, match="append-only"):
            connection.execute(sa.text("DELETE FROM access_journal WHERE seq = 5"))
