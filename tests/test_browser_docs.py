"""/docs in a real Chromium: Swagger UI from this service only, in French, axe-clean, and « Essayer » scores."""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.support import shot
from tests.test_browser_accessibility import VIEWPORTS, axe_violations

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
    operation.get_by_role("button", name="Essayer", exact=True).click()
    operation.get_by_role("button", name="Envoyer", exact=True).click()

    live = operation.locator(".live-responses-table")
    expect(live.locator("tbody .response-col_status")).to_have_text("200")
    expect(live.locator("tbody .response-col_description")).to_contain_text('"Prediction"')
    expect(live.locator("tbody .response-col_description")).to_contain_text('"Probabilite_depart"')
    shot(page, str(artifacts_dir / "docs.png"))
    assert hosts == {urlsplit(live_server).netloc}, f"requests left the service: {hosts}"


# Swagger UI's own English labels (it has no translations): none may be left on the page.
ENGLISH = (
    "Try it out",
    "Execute",
    "Parameters",
    "Responses",
    "Request body",
    "Authorize",
    "Schemas",
    "Servers",
    "Example Value",
    "Media type",
    "No links",
    "Server response",
    "Response body",
    "Controls",
)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_docs_are_french_and_axe_clean_open_tried_and_authorizing(page, live_server, artifacts_dir, viewport):
    """axe-core finds nothing at each step a reader takes: the list, an operation tried, all open, the key dialog
    (on the phone, the list and a try: the rest is the same markup)."""
    page.set_viewport_size(VIEWPORTS[viewport])
    page.goto(f"{live_server}/docs")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    found = {"liste": axe_violations(page)}
    operation = page.locator(".opblock-post").filter(has=page.locator('.opblock-summary-path[data-path="/predict"]'))
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Essayer", exact=True).click()
    operation.get_by_role("button", name="Envoyer", exact=True).click()
    expect(operation.get_by_text("Réponse du serveur")).to_be_visible()
    found["essai"] = axe_violations(page)
    (artifacts_dir / viewport).mkdir(exist_ok=True)
    shot(page, str(artifacts_dir / viewport / "docs-essai.png"))
    if viewport == "telephone":  # the same markup at either size: the phone checks the list and a try only
        assert {step: ids for step, ids in found.items() if ids} == {}
        return
    for summary in page.locator(".opblock-summary-control").all()[1:]:
        summary.click()
    found["tout-ouvert"] = axe_violations(page)
    text = page.locator("#swagger-ui").inner_text()
    page.get_by_role("button", name="Autoriser").first.click()
    expect(page.get_by_text("Autorisations disponibles")).to_be_visible()
    found["autorisation"] = axe_violations(page)
    assert {step: ids for step, ids in found.items() if ids} == {}
    assert [word for word in ENGLISH if re.search(rf"\b{word}\b", text)] == []
