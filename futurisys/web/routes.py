"""Routes of the HR pages."""
from flask import render_template

from futurisys.web import bp


@bp.get("/")
def index():
    """Placeholder home page (the HR form replaces it)."""
    return render_template("web/index.html")
