"""« Vue équipes »: risk by job (or level) and department, where no group under k employees can be read.

`suppression` decides what to hide (no Flask), `table` publishes the figures of what is left (no Flask),
`queries` counts the latest evaluation of each employee in the database, `views` draws the page and the CSV.
"""

from __future__ import annotations


def init_app(app) -> None:
    """Register the team view's page and export."""
    from futurisys.teams.views import bp

    app.register_blueprint(bp)
