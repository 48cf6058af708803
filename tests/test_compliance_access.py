"""The `dpo` role reads the journal, employee files, settings and documents; every HR and admin route and every
change refuses it (403), and HR accounts cannot open the compliance pages."""

import sqlalchemy as sa

from futurisys.domain.formatting import NNBSP  # pages are typeset: compared here with plain spaces
from futurisys.storage.models import Input
from tests.support import counts, evaluate, logged_in, scalar

WRITES = [
    ("POST", "/admin/conformite/salarie/drapeaux", {"reference": "MAT-1", "objection": "y"}),
    ("POST", "/admin/conformite/salarie/effacement", {"reference": "MAT-1", "confirm": "y"}),
    ("POST", "/admin/conformite/salarie/rectification", {"reference": "MAT-1", "new_reference": "B", "confirm": "y"}),
    ("POST", "/admin/conformite/parametres", {"evaluation_months": "1", "journal_months": "6"}),
]
READS = [
    "/admin/conformite/",
    "/admin/conformite/salarie",
    "/admin/conformite/parametres",
    "/admin/conformite/logique",
    "/admin/conformite/notice",
    "/admin/conformite/annexe-cse",
]


def urls(app, public_id: str, prediction_id: int, prefixes: tuple[str, ...]):
    """(method, URL) of every rule of the blueprints named by `prefixes`, from the URL map."""
    values = {
        "<public_id>": public_id,
        "<int:prediction_id>": str(prediction_id),
        "<any(json, html):kind>": "json",
        "<job_id>": "inconnue",
    }
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(prefixes):
            url = rule.rule
            for placeholder, value in values.items():
                url = url.replace(placeholder, value)
            assert "<" not in url, url
            out.extend((method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"}))
    return out


def test_dpo_is_refused_on_every_hr_and_admin_route_and_every_change(app, client):
    logged_in(app, client, role="hr")
    path = evaluate(client, reference_salarie="MAT-1")
    client.post("/deconnexion")
    public_id = path.rsplit("/", 1)[1]
    prediction_id = scalar(app, sa.text("SELECT max(id) FROM predictions"))
    logged_in(app, client, role="dpo")
    refused = urls(app, public_id, prediction_id, ("web.", "admin.", "oversight."))
    assert len(refused) > 15
    for method, url in refused:
        assert client.open(url, method=method).status_code == 403, (method, url)
    for method, url, data in WRITES:
        assert client.open(url, method=method, data=data).status_code == 403, url
    assert counts(app) == (1, 1)
    assert scalar(app, sa.select(sa.func.count()).select_from(Input).where(Input.employee_ref == "MAT-1")) == 1
    for url in READS:
        assert client.get(url).status_code == 200, url
    page = (
        client.post("/admin/conformite/salarie", data={"reference": "MAT-1"}).get_data(as_text=True).replace(NNBSP, " ")
    )
    assert "Salarié MAT-1" in page and "Effacer définitivement" not in page  # no erasure form for the DPO
    assert client.post("/admin/conformite/salarie/dossier.json", data={"reference": "MAT-1"}).status_code == 200


def test_hr_cannot_open_the_compliance_pages(app, client):
    logged_in(app, client, role="hr")
    for method, url in urls(app, "x", 1, ("compliance.",)):
        assert client.open(url, method=method).status_code == 403, url


def test_a_dpo_lands_on_the_journal(app, client):
    response = logged_in(app, client, role="dpo").get("/connexion")
    assert response.headers["Location"] == "/admin/conformite/"
