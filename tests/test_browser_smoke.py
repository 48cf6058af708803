"""The browser fixtures work: Chromium reaches the live server."""

import pytest

pytestmark = pytest.mark.browser


def test_chromium_reads_the_health_endpoint(page, live_server):
    page.goto(f"{live_server}/health")
    assert '"status"' in page.content() and "ok" in page.content()
