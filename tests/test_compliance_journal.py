"""The access journal: every view of an employee's data writes an entry (URL-map walk), the chain detects a gap
or an edit, the database refuses UPDATE and DELETE, and the DPO's page finds who saw whom."""

import io

import pytest
import sqlalchemy as sa

from futurisys.compliance import journal
from futurisys.compliance.models import JournalEntry
from futurisys.domain.formatting import NNBSP
from futurisys.jobs.lots import run_lot  # pages are typeset: compared here with plain spaces
from tests.payloads import french_csv, french_row
from tests.support import evaluate, journal_unlocked, logged_in, scalar

REF = "MAT-0042"
EMPLOYEE_ARGS = {"public_id", "prediction_id"}


def entries(app, action: str | None = None, ref: str | None = None) -> int:
    """How many journal entries there are, of this action and about this employee."""
    with app.test_request_context():
        query = sa.select(sa.func.count()).select_from(JournalEntry)
        if action:
            query = query.where(JournalEntry.action == action)
        if ref:
            query = query.where(JournalEntry.employee_key == journal.pseudonym(ref))
        return scalar(app, query)


def test_every_endpoint_is_classified(app):
    """A new route must say whether it is journaled; those taking an evaluation in their URL must be."""
    known = set(journal.JOURNALED) | set(journal.UNJOURNALED) | journal.SELF_JOURNALED
    for rule in app.url_map.iter_rules():
        assert rule.endpoint in known, f"{rule.endpoint}: add it to JOURNALED or UNJOURNALED (with the reason)"
        if EMPLOYEE_ARGS & set(rule.arguments):
            assert rule.endpoint in set(journal.JOURNALED) | journal.SELF_JOURNALED, rule.endpoint


def _read(response):
    response.get_data()
    return response


def test_every_journaled_view_writes_an_entry_about_the_employee(app, client):
    logged_in(app, client)  # an admin reaches the HR pages and the admin pages
    visited = {}

    def visit(endpoint: str, action: str, send, about: str | None = REF) -> None:
        before = entries(app, action, about)
        response = send()
        assert response.status_code < 400, (
            endpoint,
            response.status_code,
            response.get_data(as_text=True).replace(NNBSP, " ")[-3000:],
        )
        assert entries(app, action, about) > before, endpoint
        visited[endpoint] = action

    page = {}
    visit("web.index", "evaluation", lambda: _keep(page, client.post("/", data=_form())))
    path = page["response"].headers["Location"]
    visit("web.evaluation", "consultation", lambda: client.get(path))
    visit("web.simulation_page", "consultation", lambda: client.get(f"{path}/simulation"))
    visit("web.simulation", "simulation", lambda: client.post(f"{path}/simulation", data=_form(with_ref=False)))
    lot = french_csv([french_row(1, REF), french_row(2, "MAT-0043")])
    uploaded = client.post("/lot", data={"fichier": (io.BytesIO(lot), "lot.csv")}, content_type="multipart/form-data")
    lot_path = uploaded.headers["Location"]
    before = entries(app, "lot", REF)
    with app.app_context():
        assert run_lot(lot_path.rsplit("/", 1)[1]) == "termine"
    assert entries(app, "lot", REF) == before + 1  # the worker journals each stored line, in the author's name
    # The lot's page names only the employees it lists at risk; its file holds them all (one entry per download).
    visit("lots.show", "consultation_lot", lambda: client.get(lot_path), about=None)
    visit("lots.result", "telechargement_lot", lambda: client.get(f"{lot_path}/resultat.csv"), about=None)
    visit("lots.cancel", "annulation_lot", lambda: client.post(f"{lot_path}/annuler"), about=None)
    api_lot = client.post("/lots", data=lot, headers={"Content-Type": "text/csv"}).get_json()["id"]
    with app.app_context():
        assert run_lot(api_lot) == "termine"
    visit("api.lot_result", "telechargement_lot", lambda: client.get(f"/api/lots/{api_lot}/resultat.csv"), about=None)
    visit("web.evaluations", "liste", lambda: client.get("/evaluations"))
    visit("admin.history", "liste", lambda: client.get("/admin/predictions"))
    departure = {"date_depart": "2025-03-31", "motif": "demission"}
    visit("outcomes.declare", "depart_declaration", lambda: client.post(f"{path}/depart", data=departure))
    departure_id = scalar(app, sa.text("SELECT max(id) FROM departures"))
    visit("outcomes_admin.departures", "departs", lambda: client.get("/admin/departs"))
    visit("outcomes_admin.departure", "depart", lambda: client.get(f"/admin/departs/{departure_id}"))
    fixed = {**departure, "reference_salarie": REF, "motif": "licenciement"}
    visit(
        "outcomes_admin.correct_departure", "depart", lambda: client.post(f"/admin/departs/{departure_id}", data=fixed)
    )
    visit(
        "outcomes_admin.remove_departure",
        "depart",
        lambda: client.post(f"/admin/departs/{departure_id}/suppression", data={"confirmer": "y"}),
    )
    departures_csv = f"reference_salarie;date_depart;motif\n{REF};2025-05-31;demission\n".encode()
    visit(
        "outcomes_admin.import_departures",
        "depart_import",
        lambda: client.post(
            "/admin/departs",
            data={"fichier": (io.BytesIO(departures_csv), "departs.csv")},
            content_type="multipart/form-data",
        ),
    )
    api_departure = [{"reference_salarie": REF, "date_depart": "2025-06-30", "motif": "demission"}]
    visit("outcomes_api.record_outcomes", "depart_import", lambda: client.post("/outcomes", json=api_departure))
    prediction_id = scalar(
        app,
        sa.text(
            f"SELECT max(p.id) FROM predictions p JOIN inputs i ON i.id = p.input_id WHERE i.employee_ref = '{REF}'"
        ),
    )
    visit("admin.detail", "consultation_admin", lambda: client.get(f"/admin/predictions/{prediction_id}"))
    visit("admin.export_csv", "export", lambda: _read(client.get("/admin/export.csv")))  # journaled once streamed
    visit(
        "admin.delete",
        "suppression",
        lambda: client.post(f"/admin/predictions/{prediction_id}/suppression", data={"confirm": "y"}),
    )
    assert visited.keys() == journal.JOURNALED.keys() | {"admin.export_csv"}
    with app.test_request_context():
        assert journal.verify() == []
    # No entry holds the reference in clear; the address and the account are there.
    with app.app_context():
        rows = [dict(row) for row in journal.db.session.execute(sa.select(JournalEntry.__table__)).mappings()]
    assert all(REF not in str(row) for row in rows)
    assert {row["username"] for row in rows} - {"système"} == {"admin"}  # the API lot's lines: no account
    assert all(row["address"] for row in rows if row["action"] != "lot")  # a worker's entries have no address


def _keep(store: dict, response):
    store["response"] = response
    return response


def _form(with_ref: bool = True) -> dict:
    from tests.payloads import RAW
    from tests.support import form_data

    return {**form_data(RAW), **({"reference_salarie": REF} if with_ref else {})}


def test_the_chain_detects_an_edit_and_a_gap(app, runner):
    with app.test_request_context():
        for number in range(4):
            journal.record("export", detail={"n": number})
    assert runner.invoke(args=["journal", "verify"]).exit_code == 0
    with app.app_context(), journal.db.engine.begin() as connection, journal_unlocked(connection):
        connection.execute(sa.text("UPDATE access_journal SET username = 'quelqu_un' WHERE seq = 2"))
        connection.execute(sa.text("DELETE FROM access_journal WHERE seq = 3"))
    result = runner.invoke(args=["journal", "verify"])
    assert result.exit_code == 1
    assert "entry 2: content does not match its hash" in result.output
    assert "entries 3 to 3 are missing" in result.output


def test_the_database_refuses_update_and_delete(app):
    with app.test_request_context():
        journal.record("export")
    with app.app_context():
        for statement in ("UPDATE access_journal SET username = 'x'", "DELETE FROM access_journal"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), journal.db.engine.begin() as connection:
                connection.execute(sa.text(statement))
    assert entries(app, "export") == 1


def test_the_dpo_finds_who_saw_an_employee_and_exports_it(app, client):
    logged_in(app, client, role="hr")
    path = evaluate(client, reference_salarie=REF)
    client.get(path)
    client.post("/deconnexion")
    logged_in(app, client, role="dpo")
    page = client.post("/admin/conformite/", data={"reference": REF}).get_data(as_text=True).replace(NNBSP, " ")
    assert "Consultation d&#39;une évaluation" in page and "Évaluation (formulaire)" in page and ">hr<" in page
    assert "0 entrée." in client.post("/admin/conformite/", data={"utilisateur": "personne"}).get_data(
        as_text=True
    ).replace(NNBSP, " ")
    exported = client.post("/admin/conformite/journal.csv", data={"reference": REF})
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    lines = exported.get_data(as_text=True).replace(NNBSP, " ").strip().splitlines()
    assert len(lines) == 1 + entries(app, ref=REF) - 1  # header + entries, less the export's own (after)
    assert client.post("/admin/conformite/", data={"du": "2026-02-01", "au": "2026-01-01"}).status_code == 422
