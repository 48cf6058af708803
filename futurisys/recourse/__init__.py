"""« Que faire ? »: the lever catalogue admins set, and the exact best changes shown with every evaluation.

The search itself is futurisys.ml.recourse (no Flask); this package keeps the catalogue in the database, puts the
proposals on the evaluation page and in /predict?recommendations=N, and draws the admins' catalogue page.
"""

from __future__ import annotations

from futurisys.recourse import models  # noqa: F401 — the table, for the metadata and the migrations check


def init_app(app) -> None:
    """Register the catalogue page and the template helper of the evaluation page."""
    from futurisys.compliance.employees import add_child
    from futurisys.recourse.models import EngagedAction
    from futurisys.recourse.views import bp, engaged_among, hr_bp, proposals_for

    add_child("inputs", EngagedAction.__table__, "input_id")  # in the employee's file, gone with an erasure
    app.register_blueprint(bp)
    app.register_blueprint(hr_bp)
    app.jinja_env.globals.update(recourse_for=proposals_for, engaged_among=engaged_among)
