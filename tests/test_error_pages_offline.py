"""A server error page answers without a single query: the database may be the very thing that failed."""

import sqlalchemy as sa

from futurisys.extensions import db
from tests.support import logged_in


def test_a_500_page_for_a_signed_in_admin_runs_no_query(app, client):
    def broken():
        raise RuntimeError("boom")

    app.add_url_rule("/admin/casse", "broken_for_test", broken)
    admin = logged_in(app, client)
    statements = []
    with app.app_context():
        engine = db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        response = admin.get("/admin/casse")
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    assert response.status_code == 500 and "Erreur interne" in response.get_data(as_text=True)
    assert statements == []
