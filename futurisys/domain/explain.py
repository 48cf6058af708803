"""What drives a prediction, in plain French with units, from the predictor's per-feature contributions."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from futurisys.domain.formatting import money, number
from futurisys.domain.schema import feature, raw_field
from futurisys.ml.predictor import Predictor


def _years(count: int) -> str:
    return f"{number(count)} an{'s' if abs(count) >= 2 else ''}"


def _points(count: int) -> str:
    return f"{number(abs(count))} point{'s' if abs(count) >= 2 else ''}"


def _rating_gap(gap: int) -> str:
    if gap == 0:
        return "note d'évaluation stable d'une année sur l'autre"
    return f"note d'évaluation en {'hausse' if gap > 0 else 'baisse'} de {_points(gap)} sur un an"


def _no_promotion(flag: int) -> str:
    return {1: "aucune promotion depuis son arrivée", 0: "au moins une promotion depuis son arrivée"}.get(
        flag, "arrivé(e) dans l'année : pas encore de promotion possible"
    )


def _mobility(gap: int) -> str:
    if gap == -1:  # both a new role (the derivation's marker) and a promotion a year before the role
        return "poste pris dans l'année, ou promotion un an avant la prise du poste"
    if gap == 0:
        return "pas de promotion depuis la prise du poste actuel"
    return f"promotion {_years(abs(gap))} {'après' if gap > 0 else 'avant'} la prise du poste actuel"


def _pay_per_year(kind: str) -> Callable[[int], str]:
    def phrase(value: int) -> str:
        if value == -1:
            return "sans objet (" + ("aucune expérience" if kind == "d'expérience" else "embauche de l'année") + ")"
        return f"{money(value)} de salaire annuel par année {kind}"

    return phrase


def _scale_word(name: str, value: int) -> str:
    """The word of a labelled scale ("3 — Élevée" → "élevée")."""
    return feature(name).choice_label(value).split(" — ")[-1].lower()


def _scale(subject: str, name: str) -> Callable[[int], str]:
    return lambda value: f"{subject} : {_scale_word(name, value)} ({value} sur 4)"


#: The features whose raw value would not speak to HR: each gets its own sentence.
_PHRASES: dict[str, Callable] = {
    "ecart_note_evaluation": _rating_gap,
    "evolution_cat_evol": lambda v: {"hausse": "évaluation en progrès", "baisse": "évaluation en recul"}.get(
        v, "évaluation stable"
    ),
    "ratio_sans_promotion": _no_promotion,
    "mobilite_promotion": _mobility,
    "revenu_par_annee_experience_totale": _pay_per_year("d'expérience"),
    "revenu_par_annee_experience_interne": _pay_per_year("d'ancienneté"),
    "revenu_mensuel": lambda v: f"salaire mensuel brut de {money(v)}",
    "distance_domicile_travail": lambda v: f"{number(v)} km entre domicile et travail",
    "heure_supplementaires": lambda v: "fait des heures supplémentaires" if v else "pas d'heures supplémentaires",
    "annees_depuis_la_derniere_promotion": lambda v: (
        "promotion cette année" if v == 0 else f"dernière promotion il y a {_years(v)}"
    ),
    "annees_dans_l_entreprise": lambda v: f"{_years(v)} d'ancienneté" if v else "embauche de l'année",
    "exp_hors_entreprise": lambda v: f"{_years(v)} d'expérience avant l'entreprise",
    "nombre_experiences_precedentes": lambda v: f"{number(v)} employeur{'s' if v >= 2 else ''} avant celui-ci",
    "nb_formations_suivies": lambda v: (
        f"{number(v)} formation{'s' if v >= 2 else ''} suivie{'s' if v >= 2 else ''} l'an dernier"
    ),
    "satisfaction_globale": lambda v: f"satisfaction moyenne de {number(v, 1)} sur 4",
    "age": lambda v: f"{number(v)} ans",
    "nombre_participation_pee": lambda v: (
        f"participation au plan d'épargne entreprise : {_scale_word('nombre_participation_pee', v)} ({v} sur 3)"
    ),
    "satisfaction_employee_environnement": _scale(
        "satisfaction sur l'environnement de travail", "satisfaction_employee_environnement"
    ),
    "satisfaction_employee_nature_travail": _scale(
        "satisfaction sur la nature du travail", "satisfaction_employee_nature_travail"
    ),
    "satisfaction_employee_equipe": _scale("satisfaction sur l'équipe", "satisfaction_employee_equipe"),
    "satisfaction_employee_equilibre_pro_perso": _scale(
        "équilibre vie professionnelle / personnelle", "satisfaction_employee_equilibre_pro_perso"
    ),
}


def display_value(name: str, value) -> str:
    """A feature value as HR staff read it (French labels for categories, yes/no, units, no sentinels)."""
    spec = feature(name)
    if value is None:
        return "non renseigné"
    if spec.kind == "bool":
        return "oui" if value else "non"
    if spec.sentinel and value == -1:  # mobilite_promotion's -1 is also a real value: not a sentinel
        return "sans objet"
    if spec.choices:
        return spec.choice_label(value)
    return _with_unit(spec.unit, value)


def _with_unit(unit: str, value) -> str:
    text = number(value, 1 if isinstance(value, float) and not float(value).is_integer() else 0)
    if unit == "€":
        return money(value)
    if unit == "ans" and abs(value) < 2:  # « 1 an », « 0 an », never « 1 ans »
        unit = "an"
    return f"{text}\u00a0{unit}" if unit else text


def describe(name: str, value) -> str:
    """One feature's value as a plain French phrase ("25 km entre domicile et travail")."""
    phrase = _PHRASES.get(name)
    return phrase(value) if phrase else f"{feature(name).label} : {display_value(name, value)}"


def drivers(predictor: Predictor, features: Mapping, count: int = 5) -> list[dict]:
    """The `count` strongest drivers: feature, plain phrase, direction, lever or context, contribution (log-odds)."""
    out = []
    for item in predictor.top_drivers(features, count):
        name, contribution = item["feature"], item["contribution"]
        spec = feature(name)
        out.append(
            {
                "feature": name,
                "label": spec.label,
                "value": display_value(name, features[name]),
                "phrase": describe(name, features[name]),
                "contribution": contribution,
                "increases": contribution > 0,
                "lever": spec.lever,
                "text": f"{describe(name, features[name])} — {'augmente' if contribution > 0 else 'réduit'} le risque",
            }
        )
    return out


def display_raw_value(name: str, value) -> str:
    """A raw-record value as HR staff read it ("Oui"/"Non", French labels, units, "non renseigné" when absent)."""
    spec = raw_field(name)
    if value is None:
        return "non renseigné"
    if spec.kind == "bool":
        return "Oui" if value else "Non"
    if spec.choices:
        return spec.choice_label(value)
    return _with_unit(spec.unit, value)


def main_factors(predictor, records: list[dict]) -> list[str]:
    """The feature that raises each record's risk most, in French (empty when none raises it)."""
    if not records:
        return []
    contributions, _ = predictor.contributions(records)
    names = predictor.encoder.feature_names
    factors = []
    for record, row in zip(records, contributions, strict=False):
        top = int(np.argmax(row))
        phrase = describe(names[top], record[names[top]]) if row[top] > 0 else ""
        factors.append(phrase[:1].upper() + phrase[1:])
    return factors
