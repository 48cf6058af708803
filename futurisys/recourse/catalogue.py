"""The catalogue in force (defaults overridden by what admins set) and the proposals for one record."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa

from futurisys.extensions import db
from futurisys.ml.recourse import CAVEAT, LEVERS, LeverRule, Proposal, Recourse, check_rule, default_rules, recommend
from futurisys.recourse.models import LeverSetting
from futurisys.storage.models import utcnow

MAX_RECOMMENDATIONS = 5


def rules() -> dict[str, LeverRule]:
    """Every lever's rule: the admins' setting where there is one, the default otherwise."""
    found = default_rules()
    for row in db.session.scalars(sa.select(LeverSetting).where(LeverSetting.name.in_(LEVERS))):
        found[row.name] = LeverRule(row.name, row.enabled, row.direction, row.max_change, row.step, int(row.cost))
    return found


def save(rule: LeverRule, username: str) -> None:
    """Store an admin's rule for one lever (LeverError when it cannot be a lever or is out of range)."""
    check_rule(rule)
    row = db.session.get(LeverSetting, rule.name) or LeverSetting(name=rule.name)
    row.enabled, row.direction, row.max_change, row.step, row.cost = (
        rule.enabled,
        rule.direction,
        float(rule.max_change),
        float(rule.step),
        int(rule.cost),
    )
    row.updated_by, row.updated_at = username, utcnow()
    db.session.add(row)
    db.session.commit()


def proposals(predictor, features: Mapping, raw: Mapping | None, count: int = 3) -> Recourse:
    """The `count` best single changes and the cheapest combination under the threshold, with the catalogue."""
    return recommend(predictor, features, raw, rules(), count)


def _proposal_json(proposal: Proposal) -> dict:
    return {
        "texte": proposal.phrase,
        "Probabilite_depart": round(proposal.proba, 4),
        "cout": proposal.cost,
        "changements": [{"levier": c.lever, "avant": c.before, "apres": c.after} for c in proposal.changes],
    }


def as_json(found: Recourse) -> dict:
    """The API's « Recommandations »: single changes, the combination (or why there is none), the caveat."""
    return {
        "Probabilite_depart": round(found.proba, 4),
        "seuil": found.threshold,
        "deja_sous_le_seuil": found.below,
        "changements_simples": [_proposal_json(p) for p in found.singles],
        "combinaison": _proposal_json(found.combination) if found.combination else None,
        "meilleur_possible": _proposal_json(found.best) if found.best else None,
        "contraintes": [{"levier": lever, "raison": why} for lever, why in found.binding],
        "avertissement": CAVEAT,
    }
