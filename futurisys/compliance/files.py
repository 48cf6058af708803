"""An employee's file (GDPR art. 15): every stored row, each score explained, who viewed it, the logic applied."""

from __future__ import annotations

import sqlalchemy as sa

from futurisys.compliance import journal
from futurisys.compliance.employees import all_rows, plain
from futurisys.compliance.models import DECISION_ACTIONS
from futurisys.compliance.rights import flags_of
from futurisys.domain.explain import display_raw_value, display_value
from futurisys.domain.risk import band_for
from futurisys.domain.schema import FEATURE_NAMES, FEATURES, feature, raw_field
from futurisys.extensions import db, model_store
from futurisys.storage.models import utcnow

METRICS = {
    "cv_roc_auc_mean": "ROC AUC en validation croisée (0,5 = hasard, 1 = parfait)",
    "cv_pr_auc_mean": "PR AUC en validation croisée (hasard ≈ 0,16)",
    "brier": "Score de Brier (0 = parfait)",
    "ece": "Erreur de calibration",
    "precision": "Précision au seuil",
    "recall": "Rappel au seuil",
}
ATTRIBUTES = {"genre": "Genre", "statut_marital": "Statut marital", "tranche_age": "Tranche d'âge"}


def logic() -> dict:
    """« Logique du traitement », from the loaded model's card: what it uses, how it scores, how well, how fairly."""
    predictor = model_store.state().predictor
    if predictor is None:
        return {"disponible": False}
    meta = predictor.metadata
    metrics = meta.get("metrics") or {}
    fairness = {
        ATTRIBUTES.get(attribute, attribute): [
            {
                "groupe": row.get("group"),
                "effectif": row.get("n"),
                "taux_signalement": row.get("flag_rate"),
                "rapport_au_plus_signale": row.get("flag_ratio"),
            }
            for row in rows
        ]
        for attribute, rows in (meta.get("fairness") or {}).items()
    }
    return {
        "disponible": True,
        "version": predictor.version,
        "seuil": predictor.threshold,
        "variables_utilisees": [f.label for f in FEATURES if f.name not in predictor.excluded],
        "variables_exclues": [feature(name).label for name in predictor.excluded],
        "calcul": (
            "Le score est une somme : une valeur de départ (le risque d'un employé moyen) plus un effet par "
            "variable, calculé par de petits arbres de décision à une question (XGBoost) et une régression "
            "logistique, entraînés sur des données de référence. La somme est convertie en probabilité de départ ; "
            "au-delà du seuil, le modèle signale « Part ». Chaque effet est montré exactement dans le dossier."
        ),
        "mesures": [{"mesure": label, "valeur": metrics[key]} for key, label in METRICS.items() if key in metrics],
        "equite": fairness,
        "donnees_entrainement": meta.get("training_rows"),
    }


def _contributions(features: dict, model_version: str) -> dict | None:
    """The exact per-feature log-odds contributions, when the model that scored is still the one loaded."""
    predictor = model_store.state().predictor
    if predictor is None or predictor.version != model_version:
        return None
    values, base = predictor.contributions([features])
    names = predictor.encoder.feature_names
    return {
        "base": round(float(base[0]), 6),
        "variables": {names[i]: round(float(values[0][i]), 6) for i in range(len(names))},
    }


def build(employee_ref: str) -> dict:
    """The whole file of one employee, JSON-ready (the HTML page shows the same dictionary)."""
    db.session.rollback()
    with db.engine.connect() as connection:
        tables = all_rows(connection, employee_ref)
    predictions = {row["input_id"]: row for row in tables.get("predictions", [])}
    decisions = tables.get("evaluation_decisions", [])
    evaluations = []
    for row in tables.get("inputs", []):
        prediction = predictions.get(row["id"])
        features = {name: row[name] for name in FEATURE_NAMES}
        item = {
            "entree": row["id"],
            "date": row["created_at"],
            "origine": row["source"],
            "simulation_de": row["parent_input_id"],
            "variables": [
                {
                    "nom": name,
                    "libelle": feature(name).label,
                    "valeur": row[name],
                    "valeur_lisible": display_value(name, row[name]),
                    "contribution": None,
                }
                for name in FEATURE_NAMES
            ],
            "dossier_rh_saisi": row["raw_record"],
            "dossier_rh_lisible": {
                raw_field(name).label: display_raw_value(name, value)
                for name, value in (row["raw_record"] or {}).items()
            },
            "decisions": [
                {**d, "action_libelle": DECISION_ACTIONS.get(d["action"], d["action"])}
                for d in decisions
                if d["input_id"] == row["id"]
            ],
        }
        if prediction:
            contributions = _contributions(features, prediction["model_version"])
            for variable in item["variables"] if contributions else ():
                variable["contribution"] = contributions["variables"].get(variable["nom"])
            item["prediction"] = {
                "resultat": prediction["prediction_label"],
                "probabilite": prediction["prediction_proba"],
                "seuil": prediction["threshold"],
                "niveau": band_for(prediction["prediction_proba"], prediction["threshold"]).label,
                "version_modele": prediction["model_version"],
                "contributions": contributions,
            }
        evaluations.append(item)
    views = db.session.scalars(journal.entries_select(employee_ref=employee_ref))
    flags = flags_of(employee_ref)
    return {
        "reference": employee_ref,
        "genere_le": plain(utcnow()),
        "evaluations": evaluations,
        "drapeaux": {"gel_juridique": bool(flags.legal_hold), "opposition": bool(flags.objection)},
        "consultations": [
            {
                "date": plain(journal.when(entry)),
                "utilisateur": entry.username,
                "role": entry.role,
                "action": journal.ACTIONS.get(entry.action, entry.action),
                "evaluation": entry.input_id,
            }
            for entry in views
        ],
        "tables": tables,
        "logique_du_traitement": logic(),
    }


def held_count() -> int:
    """How many employees are under legal hold (for the settings page)."""
    from futurisys.compliance.employees import FLAGS

    return db.session.scalar(sa.select(sa.func.count()).select_from(FLAGS).where(FLAGS.c.legal_hold))
