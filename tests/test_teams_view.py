"""« Vue équipes » on PostgreSQL and SQLite: the latest evaluation of each employee counted once per cell, small
groups hidden on the page and in the CSV (with the k setting), HR limited to their own evaluations, periods
checked, rows by manager level when the data has it, realised departures once some are recorded."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from html import unescape

import sqlalchemy as sa

from futurisys.compliance import settings
from futurisys.domain.formatting import NNBSP
from futurisys.extensions import db as _db
from futurisys.extensions import model_store
from futurisys.outcomes.models import Departure
from futurisys.storage.models import Input, Prediction, User
from futurisys.storage.predictions import Author, predict_and_store_many
from tests.payloads import FEATURES, RAW
from tests.support import logged_in, login, make_user

#: (poste, département): head count. « Consultant » in « Commercial » is a group of 2.
GROUPS = {
    ("Consultant", "Consulting"): 6,
    ("Manager", "Consulting"): 7,
    ("Consultant", "Commercial"): 2,
    ("Manager", "Commercial"): 8,
}


def seed(app, groups: dict, author: str, prefix: str, proba: float = 0.2, level: int | None = None, **extra) -> list:
    """Store one HR evaluation per employee of each group (written by `author`); return the references."""
    with app.app_context():
        user_id = _db.session.scalar(sa.select(User.id).where(User.username == author))
        items, authors = [], []
        for (job, department), n in groups.items():
            for _ in range(n):
                features = {**FEATURES, "poste": job, "departement": department, **extra}
                raw = None if level is None else {**RAW, "poste": job, "departement": department}
                if raw is not None:
                    raw["niveau_hierarchique_poste"] = level
                items.append((features, raw))
                authors.append(Author(user_id, f"{prefix}{len(authors)}"))
        first_id = (_db.session.scalar(sa.select(sa.func.max(Input.id))) or 0) + 1
        with app.test_request_context():
            predict_and_store_many(
                model_store.predictor, items, source="form", request_id="seed", started=0.0, authors=authors
            )
        seeded = sa.select(Input.id).where(Input.id >= first_id)
        _db.session.execute(sa.update(Prediction).where(Prediction.input_id.in_(seeded)).values(prediction_proba=proba))
        _db.session.commit()
    return [author.employee_ref for author in authors]


def text(response) -> str:
    return re.sub(r"\s+", " ", unescape(response.get_data(as_text=True)).replace(NNBSP, " ").replace("\u00a0", " "))


def visible_counts(page: str) -> list[int]:
    """The head counts of the visible cells and totals of the heatmap."""
    cells = re.findall(r'<td class="heat heat--\w+" data-testid="cell">(.*?)</td>', page, re.S)
    return [int(re.search(r"(\d+) salariés?", cell).group(1)) for cell in cells]


def exported(client, query: str = "") -> list[list[str]]:
    response = client.get(f"/equipes.csv{query}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig")), delimiter=";"))


def test_each_employee_counts_once_and_no_group_under_five_is_shown(app, client, db):
    logged_in(app, client, "admin")
    refs = seed(app, GROUPS, "admin", "E")
    seed(app, {("Manager", "Consulting"): 1}, "admin", "X", proba=0.7)
    # A second evaluation of E0 moves them from Consultant/Consulting to Manager/Consulting, at high risk.
    with app.app_context():
        moved = _db.session.scalar(sa.select(Input).where(Input.employee_ref == "X0"))
        moved.employee_ref = refs[0]
        _db.session.execute(sa.update(Input).where(Input.source == "form").values(created_at=sa.func.now()))
        moved.created_at = datetime.now(UTC) + timedelta(seconds=1)
        _db.session.commit()
    page = text(client.get("/equipes"))
    assert "23 salariés évalués" in page  # 23 references, the re-evaluated one once, in its latest cell
    # Consultant/Commercial (2) is hidden; row « Consultant » (7) and column « Commercial » (10) would give it back,
    # so a cell of each goes too, and the fourth closes the cycle: only the totals are left, none under 5.
    assert page.count('data-testid="cell-hidden"') == 4
    assert sorted(visible_counts(page)) == [7, 10, 13, 16, 23]
    assert "4 cases masquées" in page

    lines = exported(client)
    assert lines[0][:3] == ["mois", "poste", "departement"]
    by_key = {(line[1], line[2]): line[3:] for line in lines[1:] if line[0] == "période"}
    assert all(by_key[(job, department)] == ["masqué"] * 4 for job, department in GROUPS)
    assert [by_key[(job, "Tous")][0] for job in ("Consultant", "Manager")] == ["7", "16"]
    assert by_key[("Tous", "Tous")][:2] == ["23", "4"]  # E0's 70 % in band élevé: 1 of 23, shown as 4 %
    months = [line for line in lines[1:] if line[0] != "période"]
    assert months and {line[1] for line in months} <= {"Consultant", "Manager", "Tous"}
    assert all(line[3] == "" and line[5].isdigit() for line in months)  # a month: the mean risk only


def test_the_k_setting_shows_groups_from_its_size(app, client, db):
    logged_in(app, client, "admin")
    seed(app, {("Consultant", "Consulting"): 4, ("Manager", "Consulting"): 4}, "admin", "E")
    assert visible_counts(text(client.get("/equipes"))) == [8, 8]  # the department and the company; no job
    settings.save({"team_min_group": "3"}, "admin")
    page = text(client.get("/equipes"))
    assert sorted(visible_counts(page)) == [4, 4, 4, 4, 8, 8]
    assert "moins de 3 salariés" in page or "moins de 3" in page


def test_the_minimum_group_setting_cannot_go_under_three(app, client, db):
    logged_in(app, client, "admin")
    page = client.get("/admin/conformite/parametres")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1)
    form = {**settings.all_settings(), "csrf_token": token, "team_min_group": "2", "scoring_suspended": ""}
    answer = client.post("/admin/conformite/parametres", data=form)
    assert answer.status_code == 422
    assert "Un nombre entier de salariés entre 3 et 100." in text(answer)
    assert settings.team_min_group() == 5


def test_hr_staff_see_only_their_own_evaluations_and_the_dpo_none(app, client, db):
    make_user(app, "admin", "admin")
    make_user(app, "rh", "hr")
    make_user(app, "dpo", "dpo")
    seed(app, {("Manager", "Consulting"): 6}, "rh", "R")
    seed(app, {("Manager", "Consulting"): 9}, "admin", "A")
    assert client.get("/equipes").status_code in (302, 401)
    login(client, "rh")
    assert "6 salariés évalués" in text(client.get("/equipes"))
    assert "vous avez faites" in text(client.get("/equipes"))
    client.post("/deconnexion")
    login(client, "admin")
    assert "15 salariés évalués" in text(client.get("/equipes"))
    client.post("/deconnexion")
    login(client, "dpo")
    assert client.get("/equipes").status_code == 403
    assert client.get("/equipes.csv").status_code == 403


def test_a_bad_period_is_explained_not_computed(app, client, db):
    logged_in(app, client, "admin")
    backwards = client.get("/equipes?date_from=2026-06-01&date_to=2026-01-01")
    assert backwards.status_code == 422 and "La date de fin précède la date de début." in text(backwards)
    too_long = client.get("/equipes?date_from=2020-01-01&date_to=2026-01-01")
    assert too_long.status_code == 422 and "trois ans au plus" in text(too_long)
    assert client.get("/equipes?date_from=pas-une-date").status_code == 422
    assert client.get("/equipes.csv?date_from=2026-06-01&date_to=2026-01-01").status_code == 422
    assert client.get("/equipes?rows=salaire").status_code == 422  # not a choice


def test_the_period_bounds_what_counts(app, client, db):
    logged_in(app, client, "admin")
    seed(app, {("Manager", "Consulting"): 6}, "admin", "E")
    with app.app_context():
        _db.session.execute(sa.update(Input).values(created_at=datetime(2025, 3, 10, 12, tzinfo=UTC)))
        _db.session.commit()
    assert "6 salariés évalués" in text(client.get("/equipes?date_from=2025-03-01&date_to=2025-03-31"))
    outside = text(client.get("/equipes?date_from=2025-04-01&date_to=2025-04-30"))
    assert "Aucune évaluation d'un salarié identifié" in outside


def test_rows_by_manager_level_where_the_data_has_it(app, client, db):
    logged_in(app, client, "admin")
    seed(app, {("Manager", "Consulting"): 6}, "admin", "E")
    page = text(client.get("/equipes?rows=niveau"))
    assert "ne renseigne le niveau hiérarchique" in page and "Lignes du tableau" not in page
    seed(app, {("Manager", "Consulting"): 5}, "admin", "L", level=3)
    page = text(client.get("/equipes?rows=niveau"))
    assert "Lignes du tableau" in page
    assert re.search(r'<th scope="row">Niveau 3</th>', page) and re.search(r'<th scope="row">Non renseigné</th>', page)
    assert exported(client, "?rows=niveau")[0][1] == "niveau hiérarchique"


def test_realised_departures_show_once_recorded_and_unreferenced_evaluations_are_named(app, client, db):
    logged_in(app, client, "admin")
    refs = seed(app, {("Manager", "Consulting"): 10}, "admin", "E")
    assert "partis" not in text(client.get("/equipes"))
    with app.app_context():
        for ref, kind in zip(refs[:4], ["demission"] * 3 + ["licenciement"], strict=True):
            _db.session.add(Departure(employee_ref=ref, departure_date=date.today(), kind=kind, source="form"))
        _db.session.execute(sa.update(Input).values(created_at=datetime.now(UTC) - timedelta(days=40)))
        anonymous = _db.session.scalar(sa.select(Input).where(Input.employee_ref == refs[9]))
        anonymous.employee_ref = None
        _db.session.commit()
    page = text(client.get("/equipes"))
    assert "9 salariés évalués" in page
    assert "partis 33 %" in page  # 3 voluntary departures of 9; the dismissal is not one
    assert "1 évaluation sans référence de salarié n'est pas comptée" in page


def test_acted_on_and_other_employees_at_risk_are_compared_once_departures_exist(app, client, db):
    from futurisys.recourse.models import EngagedAction

    logged_in(app, client, "admin")
    acted = seed(app, {("Manager", "Consulting"): 6}, "admin", "A", proba=0.6)
    others = seed(app, {("Manager", "Commercial"): 7}, "admin", "O", proba=0.5)
    seed(app, {("Manager", "Commercial"): 5}, "admin", "L", proba=0.01)  # under the threshold: not compared
    with app.app_context():
        _db.session.execute(sa.update(Input).values(created_at=datetime.now(UTC) - timedelta(days=40)))
        for ref in acted:
            input_id = _db.session.scalar(sa.select(Input.id).where(Input.employee_ref == ref))
            _db.session.add(
                EngagedAction(input_id=input_id, levers="heure_supplementaires", description="Supprimer les heures",
                              proba_before=0.6, proba_after=0.4)
            )  # fmt: skip
        for ref in (acted[0], others[0], others[1]):
            _db.session.add(Departure(employee_ref=ref, departure_date=date.today(), kind="demission", source="form"))
        _db.session.commit()
    assert action_rows(client) == {
        "Action engagée": ["6", "60 %", "17 %"],  # 1 of 6 left
        "Sans action engagée": ["7", "50 %", "29 %"],  # 2 of 7; the 5 under the threshold are not compared
    }
    settings.save({"team_min_group": "7"}, "admin")
    # 6 under 7: hidden, and the other group with it (the company's total would give it back).
    assert action_rows(client) == {"Action engagée": ["masqué"], "Sans action engagée": ["masqué"]}


def action_rows(client) -> dict[str, list[str]]:
    """The « Actions engagées et départs » table: each group's cells."""
    page = text(client.get("/equipes"))
    table = re.search(r'<table class="actions-table" data-testid="actions">(.*?)</table>', page, re.S).group(1)
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', table, re.S)
    return {label: [cell.strip() for cell in re.findall(r"<td[^>]*>([^<]*)</td>", cells)] for label, cells in rows}
