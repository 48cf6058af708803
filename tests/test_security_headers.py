"""Security headers on every answer: strict CSP, no framing, nosniff, referrer, HSTS over https, no-store."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from futurisys.security import CSP
from tests.payloads import FEATURES, RAW
from tests.support import form_data, logged_in, make_app, make_user, sign_in, store

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
HR_PAGES = ("/", "/lot")
ADMIN_PAGES = ("/admin/", "/admin/dashboard", "/admin/drift", "/admin/model")


def assert_protected(response) -> None:
    headers = response.headers
    policy = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'" and "unsafe-inline" not in policy["script-src"]
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in headers  # plain http here


def assert_html_without_inline_script(response) -> None:
    assert response.mimetype == "text/html"
    assert not INLINE_SCRIPT.findall(response.get_data(as_text=True))


@pytest.mark.parametrize("path", HR_PAGES + ("/evaluations", "/docs", "/page-inconnue"))
def test_html_pages(hr_client, path):
    response = hr_client.get(path, headers={"Accept": "text/html"})
    assert response.status_code in (200, 404)
    assert_protected(response)
    assert_html_without_inline_script(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_the_login_page(client):
    response = client.get("/connexion")
    assert response.status_code == 200
    assert_protected(response)
    assert_html_without_inline_script(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_the_result_page_is_not_stored(hr_client):
    posted = hr_client.post("/", data=form_data(RAW))
    assert posted.status_code == 303
    response = hr_client.get(posted.headers["Location"])
    assert response.status_code == 200 and 'data-testid="probability"' in response.get_data(as_text=True)
    assert_protected(response)
    assert_html_without_inline_script(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_admin_pages_with_charts(app, client):
    store(app, FEATURES)
    admin = logged_in(app, client)
    for path in ADMIN_PAGES:
        response = admin.get(path)
        assert response.status_code == 200, path
        assert_protected(response)
        assert_html_without_inline_script(response)
        assert response.headers["Cache-Control"] == "no-store", path
    assert "<svg" in admin.get("/admin/dashboard").get_data(as_text=True)  # the charts are there, without script
    export = admin.get("/admin/export.csv")
    assert export.headers["Cache-Control"] == "no-store"
    assert_protected(export)


def test_evaluation_pages_are_not_stored(client):
    response = client.get("/evaluations/quelconque", headers={"Accept": "text/html"})
    assert response.headers["Cache-Control"] == "no-store"
    assert_protected(response)


def test_api_and_static_answers_get_the_headers_too(client):
    for path in ("/health", "/openapi.json", "/static/css/app.css", "/static/js/docs.js"):
        with client.get(path) as response:  # closed: a static file is sent from an open file
            assert response.status_code == 200, path
            assert_protected(response)
    with client.get("/static/css/app.css") as response:
        assert "no-store" not in response.headers.get("Cache-Control", "")


def test_hsts_only_over_https(client):
    secure = client.get("/", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_behind_the_proxy_https_is_read_from_x_forwarded_proto(database_url, bundle_dir):
    client = make_app(database_url, bundle_dir, PROXY_COUNT=1).test_client()
    response = client.get("/health", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def _csp_violations(page) -> list[str]:
    messages: list[str] = []
    page.on(
        "console", lambda message: messages.append(message.text) if "Content Security Policy" in message.text else None
    )
    return messages


@pytest.mark.browser
def test_swagger_ui_works_under_the_policy(page, live_server):
    violations = _csp_violations(page)
    response = page.goto(f"{live_server}/docs")
    assert response.headers["content-security-policy"] == CSP
    expect(page.locator('.opblock-summary-path[data-path="/predict"]')).to_be_visible()
    operation = page.locator(".opblock-post").filter(has=page.locator('.opblock-summary-path[data-path="/predict"]'))
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Essayer", exact=True).click()
    operation.get_by_role("button", name="Envoyer", exact=True).click()
    expect(operation.locator(".live-responses-table tbody .response-col_status")).to_have_text("200")
    assert violations == []


@pytest.mark.browser
def test_admin_dashboard_and_form_run_without_violations(page, live_app, live_server):
    store(live_app, FEATURES)
    make_user(live_app)
    violations = _csp_violations(page)
    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/admin/dashboard")
    expect(page.locator("figure.chart svg").first).to_be_visible()
    page.goto(f"{live_server}/lot")
    page.goto(f"{live_server}/")
    assert violations == []
