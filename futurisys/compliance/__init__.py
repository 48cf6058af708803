"""What a DPO and a works council need: access journal, employee files, rights, retention, oversight, documents."""

from flask import Blueprint, request

from futurisys.auth.access import refuse_unless_role

bp = Blueprint("compliance", __name__, url_prefix="/admin/conformite")
#: Read-only pages the DPO opens; every other endpoint of the blueprint is the admins' alone.
DPO_ENDPOINTS = frozenset(
    {
        "compliance.journal",
        "compliance.journal_csv",
        "compliance.employee",
        "compliance.employee_file",
        "compliance.settings_page",
        "compliance.logic",
        "compliance.notice",
        "compliance.annex",
    }
)


@bp.before_request
def _admins_and_dpo_only():
    # Denied by default: the DPO reads (the journal, files, settings, documents; searches by reference are POSTs
    # that change nothing); every change (settings saved, flags, erasure) is for admins only.
    changes_settings = request.endpoint == "compliance.settings_page" and request.method == "POST"
    reading = request.endpoint in DPO_ENDPOINTS and not changes_settings
    return refuse_unless_role("admin", "dpo") if reading else refuse_unless_role("admin")


@bp.after_request
def _never_cached(response):
    response.headers["Cache-Control"] = "no-store"  # personal data
    return response


from futurisys.compliance import routes  # noqa: E402,F401


def init_app(app) -> None:
    """Register the pages, the journal hooks, the scoring gates and the `journal` / `retention` commands."""
    from futurisys.admin.export import EXPORTED_HOOKS
    from futurisys.compliance import journal, oversight, rights
    from futurisys.compliance.cli import journal_cli, retention_cli
    from futurisys.compliance.models import DECISION_ACTIONS
    from futurisys.compliance.routes import DecisionForm, oversight_bp
    from futurisys.jobs.lots import FINISHED_HOOKS
    from futurisys.jobs.purges import FINISHED_HOOKS as PURGE_HOOKS
    from futurisys.jobs.purges import HOLDS
    from futurisys.storage.predictions import GUARDS, ScoringRefused

    journal.install()
    if oversight.objection_guard not in GUARDS:
        GUARDS.append(oversight.objection_guard)
    if journal.lot_scored not in FINISHED_HOOKS:
        FINISHED_HOOKS.append(journal.lot_scored)
    if journal.exported not in EXPORTED_HOOKS:
        EXPORTED_HOOKS.append(journal.exported)
    if journal.purge_done not in PURGE_HOOKS:
        PURGE_HOOKS.append(journal.purge_done)
    if rights.held_among not in HOLDS:
        HOLDS.append(rights.held_among)
    app.before_request(journal.start_request)
    app.before_request(oversight.gate)
    app.before_request(rights.refuse_held_deletion)
    app.after_request(journal.after_request)
    app.register_error_handler(ScoringRefused, oversight.refused_response)
    app.register_blueprint(bp)
    app.register_blueprint(oversight_bp)
    app.jinja_env.globals.update(
        evaluation_decisions=oversight.decisions_of, decision_form=DecisionForm, decision_actions=DECISION_ACTIONS
    )
    app.cli.add_command(journal_cli)
    app.cli.add_command(retention_cli)
