"""/docs in a real Chromium: Swagger UI from this service only, and "Try it out" scores an employee."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_try_it_out_scores_an_employee(page, live_server, artifacts_dir):
    hosts = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    page.goto(f"{live_server}/docs")
    expect(page.get_by_role("heading", name="Documentation de l'API", exact=True)).to_be_visible()
    for path in ("/predict", "/predict/batch", "/health", "/ready", "/model", "/metrics"):
        expect(page.locator(f'.opblock-summary-path[data-path="{path}"]')).to_be_visible()

    operation = page.locator(".opblock-post").filter(has=page.locator('.opblock-summary-path[data-path="/predict"]'))
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()

    live = operation.locator(".live-responses-table")
    expect(live.locator("tbody .response-col_status")).to_have_text("200")
    expect(live.locator("tbody .response-col_description")).to_contain_text('"Prediction"')
    expect(live.locator("tbody .response-col_description")).to_contain_text('"Probabilite_depart"')
    page.screenshot(path=str(artifacts_dir / "docs.png"), full_page=True)
    assert hosts == {urlsplit(live_server).netloc}, f"requests left the service: {hosts}"
