"""Compliance settings: documented defaults in code, the DPO's choices in `compliance_settings`.

Read on every scoring request (the suspend switch), so each process keeps them for a couple of seconds: a change
made in another worker takes effect there within CACHE_SECONDS; one made in this process at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from futurisys.compliance.models import Setting
from futurisys.extensions import db
from futurisys.storage.models import utcnow

CACHE_KEY = "futurisys.compliance.settings"
CACHE_SECONDS = 2.0
#: The journal is never kept less than this (the CNIL recommends 6 months to a year); the database refuses to
#: delete younger entries whatever the setting.
JOURNAL_MIN_MONTHS = 6


@dataclass(frozen=True)
class Spec:
    """One setting: its default, its French label, and for numbers the allowed range (months)."""

    default: str
    label: str
    minimum: int | None = None
    maximum: int | None = None
    unit: str = "mois"


SPECS = {
    "evaluation_months": Spec("24", "Conservation des évaluations (mois)", 1, 120),
    "journal_months": Spec("12", "Conservation du journal des accès (mois)", JOURNAL_MIN_MONTHS, 60),
    "departure_months": Spec("60", "Conservation des départs enregistrés (mois)", 1, 120),
    # The smallest group « Vue équipes » shows (futurisys/teams/suppression.py: MIN_K, 3, is the floor).
    "team_min_group": Spec("5", "Taille minimale d'un groupe affiché dans la Vue équipes", 3, 100, unit="salariés"),
    "organisation": Spec("[nom de l'employeur]", "Responsable du traitement (employeur)"),
    "dpo_contact": Spec("[adresse du délégué à la protection des données]", "Contact du DPO"),
    "scoring_suspended": Spec("0", "Évaluations suspendues"),
    "suspension_reason": Spec("", "Motif de la suspension"),
}
MONTH_SETTINGS = tuple(key for key, spec in SPECS.items() if spec.minimum is not None and spec.unit == "mois")


def all_settings() -> dict[str, str]:
    """Every setting, stored value or default (cached for CACHE_SECONDS in this process)."""
    cached = current_app.extensions.get(CACHE_KEY)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    stored = dict(db.session.execute(sa.select(Setting.key, Setting.value)).all())
    values = {key: stored.get(key) or spec.default for key, spec in SPECS.items()}  # a blanked text: its default
    current_app.extensions[CACHE_KEY] = (time.monotonic() + CACHE_SECONDS, values)
    return values


def get(key: str) -> str:
    """One setting's value."""
    return all_settings()[key]


def months(key: str) -> int:
    """A retention setting in months."""
    return int(get(key))


def team_min_group() -> int:
    """The smallest group of employees « Vue équipes » shows (k)."""
    return int(get("team_min_group"))


def suspended() -> bool:
    """Whether an admin has suspended all scoring."""
    return get("scoring_suspended") == "1"


def validate(key: str, value: str) -> str | None:
    """A French message when `value` is not allowed for `key`, else None."""
    spec = SPECS[key]
    if spec.minimum is None:
        return "Texte trop long (500 caractères au plus)." if len(value) > 500 else None
    if not value.strip().isdigit() or not spec.minimum <= int(value) <= spec.maximum:
        return f"Un nombre entier de {spec.unit} entre {spec.minimum} et {spec.maximum}."
    return None


def save(changes: dict[str, str], username: str) -> dict[str, tuple[str, str]]:
    """Store the changed settings and commit; {key: (old, new)} of those that changed."""
    current = all_settings()
    changed = {key: (current[key], value) for key, value in changes.items() if current[key] != value}
    for key, (_, value) in changed.items():
        db.session.merge(Setting(key=key, value=value, updated_at=utcnow(), updated_by=username))
    db.session.commit()
    current_app.extensions.pop(CACHE_KEY, None)
    return changed
