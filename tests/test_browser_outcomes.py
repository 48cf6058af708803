"""The outcome pages in a real Chromium: a departure declared from an evaluation, the departures, « Performance
réelle » over a history; axe-core finds nothing and nothing scrolls sideways, on a laptop and on a phone."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from futurisys.auth.accounts import create_user
from futurisys.extensions import db, model_store
from futurisys.outcomes import clock
from futurisys.storage.predictions import Author, predict_and_store
from tests.outcome_rows import NOW, history
from tests.payloads import FEATURES, RAW
from tests.support import PASSWORD, shot, sign_in
from tests.test_browser_accessibility import VIEWPORTS, axe_violations, sideways_scroll

pytestmark = pytest.mark.browser


def test_outcome_pages_are_usable_and_accessible_on_both_screens(
    page, live_app, live_server, artifacts_dir, monkeypatch
):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    with live_app.app_context():
        history(months=20, per_month=12)
        db.session.remove()
    with live_app.test_request_context():
        admin = create_user("claire", PASSWORD, "admin")
        stored = predict_and_store(
            model_store.predictor,
            FEATURES,
            RAW,
            source="form",
            request_id="r1",
            started=time.perf_counter(),
            author=Author(admin.id, "MAT-0042"),
        )
    found, overflow = {}, {}
    for device in VIEWPORTS:
        (artifacts_dir / device).mkdir(exist_ok=True)

    def check(name: str) -> None:
        for device, viewport in VIEWPORTS.items():
            page.set_viewport_size(viewport)
            found[f"{device}/{name}"] = axe_violations(page)
            overflow[f"{device}/{name}"] = sideways_scroll(page)
            shot(page, str(artifacts_dir / device / f"{name}.png"))

    sign_in(page, live_server, "claire")
    page.goto(f"{live_server}/evaluations/{stored.public_id}")
    expect(page.get_by_role("heading", name="Déclarer un départ")).to_be_visible()
    page.get_by_role("button", name="Déclarer le départ").click()
    expect(page.locator("#date_depart[aria-invalid=true]")).to_be_visible()
    check("evaluation-depart-erreurs")
    page.get_by_label("Date de départ").fill("2026-03-31")
    page.get_by_label("Type de départ").select_option("demission")
    page.get_by_role("button", name="Déclarer le départ").click()
    expect(page.get_by_text("Départ enregistré : Démission")).to_be_visible()
    check("evaluation-depart")

    page.goto(f"{live_server}/admin/departs?reference=MAT-0042")
    page.get_by_role("link", name="Corriger").click()
    expect(page.get_by_role("heading", name="Historique")).to_be_visible()
    check("admin-depart")
    page.goto(f"{live_server}/admin/departs")
    check("admin-departs")

    page.goto(f"{live_server}/admin/performance?version=v1&horizon=12")
    expect(page.locator(".perf-chart svg")).to_have_count(4)
    expect(page.get_by_text("effectif insuffisant").first).to_be_visible()
    check("admin-performance")
    page.goto(f"{live_server}/admin/performance?horizon=7")
    check("admin-performance-erreur")

    assert {name: ids for name, ids in found.items() if ids} == {}
    assert {name: px for name, px in overflow.items() if px > 0} == {}
