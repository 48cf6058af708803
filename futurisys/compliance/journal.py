"""The access journal: who saw or changed what, append-only and hash-chained.

Which requests are journaled is declared here, per endpoint (JOURNALED), not in each view: after the request,
every evaluation the view loaded through the ORM (an `Input` load event), plus what a resolver finds (rows the
request created, the employees an export holds), becomes one entry each. tests/test_compliance_journal.py walks
the URL map: every endpoint is either in JOURNALED or in UNJOURNALED with the reason why.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app, g, has_request_context, request
from flask_login import current_user

from futurisys.admin.queries import as_utc
from futurisys.compliance.models import JournalEntry
from futurisys.extensions import db
from futurisys.outcomes.models import Departure, DepartureChange
from futurisys.storage.models import Input, User, utcnow
from futurisys.storage.sqlite_writes import write_turn

GENESIS = "0" * 64
_LOCK_ID = 250_025  # PostgreSQL advisory lock serialising the chain's writers
TABLE = JournalEntry.__table__
JOURNAL_BATCH = 5000  # lines of a lot journaled per transaction

#: French labels of the actions, as the journal page shows them.
ACTIONS = {
    "evaluation": "Évaluation (formulaire)",
    "consultation": "Consultation d'une évaluation",
    "simulation": "Simulation",
    "lot": "Ligne d'un lot",
    "consultation_lot": "Consultation d'un lot",
    "telechargement_lot": "Téléchargement d'un lot évalué",
    "annulation_lot": "Annulation d'un lot",
    "liste": "Liste d'évaluations",
    "consultation_admin": "Détail (administration)",
    "suppression": "Suppression d'une évaluation",
    "export": "Export CSV",
    "dossier": "Dossier du salarié",
    "effacement": "Effacement du salarié",
    "rectification": "Rectification de la référence",
    "gel": "Gel juridique",
    "opposition": "Opposition",
    "decision": "Décision RH",
    "action_engagee": "Action engagée (« Que faire ? »)",
    "parametres": "Changement de paramètre",
    "promotion": "Promotion d'un modèle",
    "suspension": "Suspension des évaluations",
    "retention": "Application des durées de conservation",
    "purge": "Purge des évaluations anciennes",
    "journal": "Consultation du journal",
    "journal_export": "Export du journal",
    "departs": "Liste des départs",
    "depart": "Consultation ou modification d'un départ",
    "depart_declaration": "Déclaration d'un départ",
    "depart_import": "Import de départs",
}


@dataclass(frozen=True)
class Subject:
    """Whose data an entry is about: the employee's reference (kept only as a pseudonym) and the evaluation."""

    employee_ref: str | None = None
    input_id: int | None = None


def pseudonym(employee_ref: str | None) -> str | None:
    """The keyed pseudonym (HMAC-SHA-256) the journal and the flags keep instead of the reference itself."""
    if not employee_ref:
        return None
    key = (current_app.config.get("JOURNAL_PSEUDONYM_KEY") or current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, employee_ref.encode(), hashlib.sha256).hexdigest()


def entry_hash(row: dict) -> str:
    """SHA-256 of an entry's fields and of the previous entry's hash."""
    fields = [
        row["seq"],
        as_utc(row["created_at"]).isoformat(),
        row["user_id"],
        row["username"],
        row["role"],
        row["action"],
        row["employee_key"],
        row["input_id"],
        row["address"],
        row["detail"],
        row["prev_hash"],
    ]
    return hashlib.sha256(json.dumps(fields, separators=(",", ":")).encode()).hexdigest()


def _actor() -> dict:
    if has_request_context() and current_user and current_user.is_authenticated:
        address = (request.remote_addr or "")[:64] or None
        return {
            "user_id": current_user.id,
            "username": current_user.username,
            "role": current_user.role,
            "address": address,
        }
    return {"user_id": None, "username": "système", "role": "systeme", "address": None}


def record(action: str, subjects: Iterable[Subject] = (), detail: dict | None = None, actor: dict | None = None):
    """Append one entry per subject (one without subject when there is none), chained, in one transaction."""
    subjects = list(subjects) or [Subject()]
    who = actor or _actor()
    text = json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else None
    now = utcnow()
    with write_turn(current_app), db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        last = connection.execute(sa.select(TABLE.c.seq, TABLE.c.hash).order_by(TABLE.c.seq.desc()).limit(1)).first()
        seq, prev = (last.seq, last.hash) if last else (0, GENESIS)
        rows = []
        for subject in subjects:
            seq += 1
            row = {
                "seq": seq,
                "created_at": now,
                **who,
                "action": action,
                "employee_key": pseudonym(subject.employee_ref),
                "input_id": subject.input_id,
                "detail": text,
                "prev_hash": prev,
            }
            row["hash"] = prev = entry_hash(row)
            rows.append(row)
        connection.execute(TABLE.insert(), rows)


def verify() -> list[str]:
    """Problems found walking the chain in order (empty when intact): a gap, an edited or a removed entry."""
    problems, previous = [], None
    anchor = _retention_anchor()
    with db.engine.connect() as connection:
        result = connection.execution_options(yield_per=1000).execute(sa.select(TABLE).order_by(TABLE.c.seq))
        for row in result.mappings():
            if previous is None:
                expected_seq, expected_prev = anchor or (1, GENESIS)
                if row["seq"] != expected_seq or row["prev_hash"] != expected_prev:
                    problems.append(f"entry {row['seq']}: the chain does not start where it should (entries removed)")
            elif row["seq"] != previous["seq"] + 1:
                problems.append(f"entries {previous['seq'] + 1} to {row['seq'] - 1} are missing")
            elif row["prev_hash"] != previous["hash"]:
                problems.append(f"entry {row['seq']}: previous hash does not match entry {previous['seq']}")
            if entry_hash(row) != row["hash"]:
                problems.append(f"entry {row['seq']}: content does not match its hash (edited)")
            previous = dict(row)
    return problems


def _retention_anchor() -> tuple[int, str] | None:
    """Where the chain starts after a retention run removed its oldest entries: (seq, prev_hash), else None."""
    detail = db.session.scalar(
        sa.select(TABLE.c.detail)
        .where(TABLE.c.action == "retention", TABLE.c.detail.like('%"journal_debut"%'))
        .order_by(TABLE.c.seq.desc())
        .limit(1)
    )
    if not detail:
        return None
    start = json.loads(detail)["journal_debut"]
    return start["seq"], start["prev_hash"]


# --- which requests write entries -------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """How an endpoint is journaled: its action, extra subjects beyond the evaluations it loads, and whether an
    entry is written even when no evaluation was involved (an export of nothing is still an export)."""

    action: str
    resolver: Callable[[], list[Subject]] | None = None
    always: bool = False


def _created_here() -> list[Subject]:
    """The evaluations this request stored (the form, a what-if, an upload), by request id and author."""
    if not current_user.is_authenticated or "compliance_started" not in g:
        return []
    query = sa.select(Input.id, Input.employee_ref).where(
        Input.request_id == g.request_id, Input.user_id == current_user.id, Input.created_at >= g.compliance_started
    )
    return [Subject(ref, input_id) for input_id, ref in db.session.execute(query.order_by(Input.id))]


def _departures_recorded_here() -> list[Subject]:
    """The employees whose departures this request recorded (CSV import by this account, or this API key)."""
    if "compliance_started" not in g:
        return []
    if request.blueprint == "outcomes_api":  # recorded in the name of the API key (or of none), not the account
        author = DepartureChange.api_key_name.is_not_distinct_from(g.get("api_key_name"))
    elif current_user.is_authenticated:
        author = DepartureChange.username == current_user.username
    else:
        return []
    query = sa.select(DepartureChange.employee_ref).where(author, DepartureChange.changed_at >= g.compliance_started)
    return [Subject(ref) for ref in sorted(set(db.session.scalars(query)))]


def _lot_shown() -> list[Subject]:
    """The employees a lot's page listed (set by the page: the lot's summary is not loaded as evaluations)."""
    return [Subject(ref) for ref in g.get("lot_references", ())]


def purge_done(job: dict, detail: dict) -> None:
    """jobs.purges.FINISHED_HOOKS entry: one « purge » entry (cut-off and counts), in the name of who asked."""
    user = db.session.get(User, job["user_id"]) if job["user_id"] else None
    db.session.remove()
    who = (
        {"user_id": user.id, "username": user.username, "role": user.role, "address": None}
        if user
        else {"user_id": None, "username": "système", "role": "systeme", "address": None}
    )
    record("purge", detail={"adresse": f"/admin/purges/{job['id']}", **detail}, actor=who)


def lot_scored(job: dict) -> None:
    """jobs.lots.FINISHED_HOOKS entry: one « lot » entry per stored line, in the name of the lot's author."""
    user = db.session.get(User, job["user_id"]) if job["user_id"] else None
    who = (
        {"user_id": user.id, "username": user.username, "role": user.role, "address": None}
        if user
        else {"user_id": None, "username": job["api_key_name"] or "système", "role": "systeme", "address": None}
    )
    detail = {"adresse": f"/lots/{job['id']}"}
    last_id = 0
    while True:
        rows = db.session.execute(
            sa.select(Input.id, Input.employee_ref)
            .where(Input.lot_id == job["id"], Input.id > last_id)
            .order_by(Input.id)
            .limit(JOURNAL_BATCH)
        ).all()
        db.session.remove()
        if not rows:
            return
        record("lot", [Subject(ref, input_id) for input_id, ref in rows], detail, actor=who)
        last_id = rows[-1].id


def exported(references: list[str], filters: dict) -> None:
    """admin.export.EXPORTED_HOOKS entry: one « export » entry per employee the download held (one without
    subject for an export of nobody), written once the stream ended: no query of its own, whatever the history."""
    detail = {"adresse": request.path, **({"filtres": filters} if filters else {})}
    record("export", [Subject(ref) for ref in references], detail)


#: Endpoints whose requests write journal entries.
JOURNALED: dict[str, Rule] = {
    "web.index": Rule("evaluation", _created_here),
    "web.evaluation": Rule("consultation"),
    "web.simulation": Rule("simulation", _created_here),
    "web.simulation_page": Rule("consultation"),
    "lots.show": Rule("consultation_lot", _lot_shown, always=True),
    "lots.result": Rule("telechargement_lot", always=True),
    "api.lot_result": Rule("telechargement_lot", always=True),
    "lots.cancel": Rule("annulation_lot", always=True),
    "web.evaluations": Rule("liste"),
    "admin.history": Rule("liste"),
    "admin.detail": Rule("consultation_admin"),
    "admin.delete": Rule("suppression"),
    "outcomes.declare": Rule("depart_declaration"),
    "outcomes_admin.departures": Rule("departs"),
    "outcomes_admin.departure": Rule("depart"),
    "outcomes_admin.correct_departure": Rule("depart"),
    "outcomes_admin.remove_departure": Rule("depart"),
    "outcomes_admin.import_departures": Rule("depart_import", _departures_recorded_here, always=True),
    "outcomes_api.record_outcomes": Rule("depart_import", _departures_recorded_here, always=True),
}

#: Endpoints that show no stored employee data, or that write their entries themselves, and why.
UNJOURNALED: dict[str, str] = {
    "static": "fichiers statiques",
    "metrics": "compteurs agrégés, sans donnée individuelle",
    "api.predict": "l'appelant envoie lui-même le dossier et reçoit le score : aucune lecture d'une évaluation stockée",
    "api.predict_batch": "idem, par lot",
    "api.openapi_json": "description de l'API",
    "api.health": "sonde",
    "api.ready": "sonde",
    "api.model_info": "métadonnées du modèle",
    "docs.index": "documentation",
    "docs.asset": "documentation",
    "web.batch_template": "modèle de fichier vide",
    "web.batch": "dépôt du fichier : ses lignes sont évaluées par le moteur de tâches, qui écrit les entrées",
    "api.create_lot": "fichier enregistré tel quel ; ses lignes sont journalisées par le processus de calcul",
    "api.lot_status": "avancement d'un lot (et ses erreurs de saisie s'il est refusé : rien n'a été enregistré)",
    "lots.mine": "liste des lots du compte (nom de fichier et comptes, sans donnée d'un salarié)",
    "lots.status": "avancement en nombre de lignes",
    "lots.errors": "erreurs de saisie d'un fichier refusé, rien n'a été enregistré",
    "auth.login": "connexion",
    "auth.logout": "déconnexion",
    "auth.logout_everywhere": "déconnexion de toutes les sessions",
    "admin.dashboard": "agrégats",
    "admin.drift": "agrégats",
    "admin.model_card": "fiche du modèle",
    "compliance.logic": "document tiré de la fiche du modèle",
    "compliance.notice": "document tiré des paramètres",
    "compliance.annex": "document tiré des paramètres",
    "outcomes_admin.departures_template": "modèle de fichier vide",
    "outcomes_admin.performance": "agrégats par cohorte",
    "recourse.catalogue": "catalogue des leviers, sans donnée d'un salarié",
    "admin.purges": "liste des purges (dates et nombres, sans donnée d'un salarié)",
    "admin.request_purge": "la purge est faite par le moteur de tâches, qui écrit l'entrée « purge » à sa fin",
    "admin.purge": "avancement d'une purge en nombres",
    "admin.purge_status": "avancement d'une purge en nombres",
    "admin.cancel_purge": "arrêt d'une purge ; ce qu'elle a supprimé est journalisé à sa fin",
    "models.index": "versions, alias et jeux de données en nombres, sans donnée d'un salarié",
    "models.upload_dataset": "historique d'entraînement : les 30 variables et le départ, sans référence de salarié",
    "models.start_training": "l'entraînement est fait par le moteur de tâches, sur des données sans référence",
    "models.training_page": "avancement et indicateurs agrégés d'un entraînement",
    "models.training_status": "avancement d'un entraînement en nombres",
    "models.training_out_of_fold": "probabilités hors échantillon par numéro de ligne, sans référence de salarié",
    "models.cancel_training": "arrêt d'un entraînement",
    "models.version_page": "fiche d'une version de modèle",
    "models.promote": "changement d'alias, gardé dans l'historique des modèles",
    "models.clear_challenger": "retrait du challenger, gardé dans l'historique des modèles",
    "models.agreement": "accord du challenger en agrégats",
    "teams.index": "agrégats par équipe ; tout groupe de moins de k salariés est masqué (futurisys/teams)",
    "teams.export": "les mêmes agrégats en CSV, passés par le même masquage",
}

#: Endpoints whose views call `record` themselves (what they journal depends on what was asked or changed).
SELF_JOURNALED = frozenset(
    {
        "compliance.journal",
        "compliance.journal_csv",
        "compliance.employee",
        "compliance.employee_file",
        "compliance.flags",
        "compliance.erase",
        "compliance.rectify",
        "recourse.save_lever",
        "recourse_hr.engage",
        "admin.export_csv",
        "compliance.settings_page",
        "oversight.decision",
    }
)


def _note_loaded(target: Input, _context) -> None:
    """ORM load event: an evaluation read while answering a journaled request is noted for its entry."""
    if has_request_context() and request.endpoint in JOURNALED:
        g.setdefault("journal_loaded", {})[target.id] = target.employee_ref


def _note_departure_loaded(target: Departure, _context) -> None:
    """ORM load event: a departure read while answering a journaled request names its employee in the entry."""
    if has_request_context() and request.endpoint in JOURNALED:
        g.setdefault("journal_departures", set()).add(target.employee_ref)


def start_request() -> None:
    """Before a journaled request: when it started (to find the rows it creates)."""
    if request.endpoint in JOURNALED:
        g.compliance_started = utcnow()


def after_request(response):
    """Write the entries of a journaled request that showed or changed an employee's data."""
    rule = JOURNALED.get(request.endpoint or "")
    shown = response.status_code < 400 or (response.status_code == 422 and g.get("journal_loaded"))
    if rule is None or not shown:
        return response
    subjects = {input_id: Subject(ref, input_id) for input_id, ref in g.get("journal_loaded", {}).items()}
    extra = rule.resolver() if rule.resolver else []
    extra += [Subject(ref) for ref in sorted(g.get("journal_departures", ()))]
    for subject in extra:
        subjects.setdefault(subject.input_id or ("ref", subject.employee_ref), subject)
    if subjects or rule.always:
        detail = {"adresse": request.path}
        if request.args:
            # The filters, without the employee's reference (the entry's pseudonym stands for it).
            detail["filtres"] = {k: v for k, v in request.args.items() if k not in ("reference", "employee_ref")}
        record(rule.action, subjects.values(), detail)
    return response


def install() -> None:
    """Listen to evaluation loads (once per process: the mapper is shared by every app)."""
    if not sa.event.contains(Input, "load", _note_loaded):
        sa.event.listen(Input, "load", _note_loaded)
    if not sa.event.contains(Departure, "load", _note_departure_loaded):
        sa.event.listen(Departure, "load", _note_departure_loaded)


def entries_select(employee_ref: str | None = None, username: str | None = None, since=None, until=None):
    """Journal entries, newest first, filtered by employee (pseudonym), account and dates."""
    query = sa.select(JournalEntry)
    if employee_ref:
        query = query.where(JournalEntry.employee_key == pseudonym(employee_ref))
    if username:
        query = query.where(JournalEntry.username == username)
    if since is not None:
        query = query.where(JournalEntry.created_at >= since)
    if until is not None:
        query = query.where(JournalEntry.created_at < until)
    return query.order_by(JournalEntry.seq.desc())


def when(entry: JournalEntry) -> datetime:
    """An entry's time, aware UTC."""
    return as_utc(entry.created_at)
