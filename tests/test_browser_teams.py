"""« Que faire ? » and « Vue équipes » in a real Chromium: a proposal becomes a what-if in one click and the what-if
gives the risk the proposal showed; the team view hides its small groups, exports them hidden, and axe-core finds
nothing at laptop and phone sizes (nothing scrolls sideways but the table's own region). Screenshots with
TEST_SCREENSHOTS=1 go to test-artifacts/<size>/equipes-*.png and que-faire-*.png."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from futurisys.auth.accounts import create_user
from futurisys.extensions import db, model_store
from futurisys.storage.models import Input
from futurisys.storage.predictions import Author, predict_and_store
from tests.payloads import FEATURES, RAW
from tests.support import PASSWORD, shot, sign_in
from tests.test_browser_accessibility import VIEWPORTS, axe_violations, sideways_scroll
from tests.test_teams_view import GROUPS, seed

pytestmark = pytest.mark.browser


def plain(text: str) -> str:
    """Page text with its narrow and non-breaking spaces as plain ones."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def test_a_proposal_becomes_a_what_if_in_one_click(browser, live_app, live_server, artifacts_dir):
    with live_app.app_context():
        hr = create_user("rh", PASSWORD, "hr")
        with live_app.test_request_context():
            stored = predict_and_store(
                model_store.predictor, FEATURES, RAW, source="form", request_id="r1", started=time.perf_counter(),
                author=Author(hr.id, "MAT-0001"),
            )  # fmt: skip
        db.session.commit()
    context = browser.new_context(viewport=VIEWPORTS["ordinateur"], locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, live_server, "rh")
    page.goto(f"{live_server}/evaluations/{stored.public_id}")
    section = page.locator("section.recourse")
    expect(section.get_by_role("heading", name="Que faire ?")).to_be_visible()
    first = section.locator("#que-faire-seul-1")
    before, after = re.search(r"(\d+ %) → (\d+ %)", plain(first.inner_text())).groups()
    assert before == plain(page.get_by_test_id("probability").first.inner_text())
    for device, viewport in VIEWPORTS.items():
        page.set_viewport_size(viewport)
        assert axe_violations(page) == [] and sideways_scroll(page) == 0, device
        shot(page, str(artifacts_dir / device / "que-faire-evaluation.png"))
    page.set_viewport_size(VIEWPORTS["ordinateur"])
    first.get_by_role("button", name="Simuler ce changement").click()
    expect(page.get_by_role("heading", name="Résultat de la simulation")).to_be_visible()
    figures = [plain(text) for text in page.get_by_test_id("probability").all_inner_texts()]
    assert figures[:2] == [before, after]  # the what-if gives the risk the proposal announced
    shot(page, str(artifacts_dir / "ordinateur" / "que-faire-simulation.png"))
    context.close()


def test_the_team_view_hides_small_groups_and_is_accessible_on_both_screens(
    browser, live_app, live_server, artifacts_dir
):
    with live_app.app_context():
        create_user("claire", PASSWORD, "admin")
    seed(live_app, GROUPS, "claire", "E")
    human_resources = {("Manager", "Ressources Humaines"): 9, ("Consultant", "Ressources Humaines"): 12}
    seed(live_app, human_resources, "claire", "H", proba=0.35)
    with live_app.app_context():  # evaluated two months ago, then again today at a higher risk: a trend
        db.session.execute(sa.update(Input).values(created_at=datetime.now(UTC) - timedelta(days=61)))
        db.session.commit()
    seed(live_app, human_resources, "claire", "H", proba=0.55)
    context = browser.new_context(viewport=VIEWPORTS["ordinateur"], locale="fr-FR", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, live_server, "claire")
    page.get_by_role("link", name="Vue équipes").click()
    expect(page.get_by_role("heading", name="Vue équipes", level=1)).to_be_visible()
    heatmap = page.get_by_test_id("heatmap")
    expect(heatmap.get_by_role("columnheader", name="Ressources Humaines")).to_be_visible()
    expect(page.get_by_test_id("summary")).to_contain_text("44 salariés évalués")
    expect(heatmap.get_by_text("+20 pt").first).to_be_visible()  # 35 % two months ago, 55 % now
    hidden = heatmap.get_by_test_id("cell-hidden")
    assert hidden.count() >= 2  # the group of 2, and what would give it back
    assert all(text.strip() == "masqué" for text in hidden.all_inner_texts())
    for device, viewport in VIEWPORTS.items():
        page.set_viewport_size(viewport)
        assert axe_violations(page) == [], device
        assert sideways_scroll(page) == 0, device  # the table scrolls inside its own region
        (artifacts_dir / device).mkdir(exist_ok=True)
        shot(page, str(artifacts_dir / device / "equipes.png"))
    page.set_viewport_size(VIEWPORTS["ordinateur"])
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger le tableau (CSV)").click()
    lines = list(csv.reader(io.StringIO(download.value.path().read_text("utf-8-sig")), delimiter=";"))
    period = {(line[1], line[2]): line[3] for line in lines[1:] if line[0] == "période"}
    assert period[("Consultant", "Commercial")] == "masqué"
    assert all(n in ("masqué", "0") or int(n) >= 5 for n in period.values())
    # A bad period: the form says what to fix, nothing is computed.
    page.get_by_label("Du", exact=True).fill("2026-06-01")
    page.get_by_label("Au (inclus)").fill("2026-01-01")
    page.get_by_role("button", name="Afficher").click()
    expect(page.get_by_text("La date de fin précède la date de début.")).to_be_visible()
    assert axe_violations(page) == []
    context.close()
