"""Pages for HR staff (role hr or admin): the evaluation form, evaluations and what-ifs, history, batch page."""

from flask import Blueprint

from futurisys.auth.access import refuse_unless_role
from futurisys.domain.risk import band_for
from futurisys.web.forms import current_value, option_value, widget_for

bp = Blueprint("web", __name__)


@bp.before_request
def _hr_staff_only():
    # Every HR page and result holds personal data: anonymous → login page, other roles → 403.
    return refuse_unless_role("hr", "admin")


from futurisys.web import batch, history, routes  # noqa: E402,F401


def init_app(app) -> None:
    """Register the HR pages, and the template helpers their form macros use."""
    app.register_blueprint(bp)
    app.add_template_filter(band_for, "risk_band")  # probability|risk_band(threshold)
    app.jinja_env.globals.update(field_widget=widget_for, field_value=current_value, option_value=option_value)
