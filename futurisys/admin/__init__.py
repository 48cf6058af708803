"""The admin area: prediction history, export, dashboard, drift, model card — for role `admin` only."""

from flask import Blueprint

from futurisys.auth.access import refuse_unless_role

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def _admins_only():
    # Every admin endpoint, the export included, goes through here: 401/redirect when anonymous, 403 for HR.
    return refuse_unless_role("admin")


from futurisys.admin import dashboard, export, insights, purges, routes  # noqa: E402,F401


def init_app(app) -> None:
    """Register the admin pages and the `predictions` commands."""
    from futurisys.admin.charts import titled
    from futurisys.admin.cli import predictions_cli
    from futurisys.admin.queries import local_time

    app.register_blueprint(bp)
    app.add_template_filter(lambda value: local_time(value).strftime("%d/%m/%Y %H:%M:%S"), "heure_locale")
    app.add_template_filter(titled, "titre_graphique")
    app.cli.add_command(predictions_cli)
