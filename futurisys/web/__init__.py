"""Pages for HR staff: the evaluation form, its result and the what-if simulation (plus the batch page)."""
from flask import Blueprint

from futurisys.explain import format_percent
from futurisys.web.forms import current_value, option_value, widget_for

bp = Blueprint("web", __name__)

from futurisys.web import batch, routes  # noqa: E402,F401


def init_app(app) -> None:
    """Register the HR pages, and the template helpers their form macros use."""
    app.register_blueprint(bp)
    app.add_template_filter(format_percent, "percent")
    app.jinja_env.globals.update(field_widget=widget_for, field_value=current_value, option_value=option_value)
