"""Every admin URL refuses anonymous visitors (redirect or 401 JSON) and HR accounts (403)."""

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.payloads import FEATURES
from tests.support import counts, logged_in, store


def admin_urls(app, prediction_id: int = 1, job_id: str = "inconnue") -> list[tuple[str, str]]:
    """(method, URL) of every rule of the admin blueprint, listed from the URL map."""
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin."):
            url = rule.rule.replace("<int:prediction_id>", str(prediction_id)).replace("<job_id>", job_id)
            assert "<" not in url, f"give a value for {rule.rule}"
            urls.extend((method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"}))
    return urls


def test_the_admin_blueprint_has_every_page(app):
    paths = {url for _, url in admin_urls(app)}
    assert {
        "/admin/",
        "/admin/predictions",
        "/admin/predictions/1",
        "/admin/predictions/1/suppression",
        "/admin/export.csv",
        "/admin/dashboard",
        "/admin/drift",
        "/admin/model",
    } <= paths


def test_anonymous_browsers_are_sent_to_the_login_page(app, client):
    for method, url in admin_urls(app):
        response = client.open(url, method=method, headers={"Accept": "text/html"})
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/connexion?next="), url


def test_anonymous_json_clients_get_401(app, client):
    for method, url in admin_urls(app):
        response = client.open(url, method=method, headers={"Accept": "application/json"})
        assert response.status_code == 401, url
        assert response.get_json()["error"] == "Authentification requise."


def test_hr_accounts_get_403_everywhere(app, client):
    prediction_id = store(app, FEATURES)
    logged_in(app, client, role="hr")
    for method, url in admin_urls(app, prediction_id):
        response = client.open(url, method=method)
        assert response.status_code == 403, url
        assert "rôle" in response.get_data(as_text=True)
    assert counts(app) == (1, 1)  # the POST to the delete URL did not delete anything


def test_admins_get_every_page(app, client):
    prediction_id = store(app, FEATURES)
    logged_in(app, client)
    purge = client.post("/admin/purges", data={"days": "30", "confirm": "y"})
    job_id = purge.headers["Location"].rsplit("/", 1)[1]
    for method, url in admin_urls(app, prediction_id, job_id):
        if method == "GET":
            response = client.get(url)
            assert response.status_code == 200, (url, response.get_data(as_text=True)[:500])


@pytest.mark.parametrize("url", ["/admin/export.csv", "/admin/predictions/1"])
def test_login_redirect_keeps_the_page_asked_for(client, url):
    location = urlsplit(client.get(url).headers["Location"])
    assert location.path == "/connexion" and parse_qs(location.query)["next"] == [url]
