"""Outcomes: the departures HR records, what became of each prediction, and the model's realised accuracy.

Importing this package imports nothing else (the API's OpenAPI document reads `outcomes.openapi`, Flask-free).
"""

from __future__ import annotations

import os


def init_app(app) -> None:
    """Register the pages and the JSON endpoint, and check the voluntary-departure setting."""
    from futurisys.extensions import csrf
    from futurisys.outcomes import api, performance, views  # noqa: F401  (performance: a page of views.admin_bp)
    from futurisys.outcomes.kinds import DEFAULT_VOLUNTARY, voluntary_kinds
    from futurisys.outcomes.summaries import forget_changed
    from futurisys.storage.hooks import PREDICTIONS_CHANGED

    app.config.setdefault(
        "OUTCOMES_VOLUNTARY_KINDS", os.environ.get("OUTCOMES_VOLUNTARY_KINDS") or ",".join(DEFAULT_VOLUNTARY)
    )
    voluntary_kinds(app.config["OUTCOMES_VOLUNTARY_KINDS"])  # a mistyped type stops the boot, not a page
    if forget_changed not in PREDICTIONS_CHANGED:
        PREDICTIONS_CHANGED.append(forget_changed)
    csrf.exempt(api.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(views.hr_bp)
    app.register_blueprint(views.admin_bp)
    app.context_processor(views.template_helpers)
