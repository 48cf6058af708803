"""What drives a prediction, in plain French, from the predictor's per-feature contributions."""
from __future__ import annotations

import math
from collections.abc import Mapping

from futurisys.ml.predictor import Predictor
from futurisys.schema import feature, raw_field

# Features where -1 means "does not apply" (mobilite_promotion's -1 is also a real value, so it is shown).
_SENTINEL_FEATURES = {"revenu_par_annee_experience_totale", "revenu_par_annee_experience_interne",
                      "ratio_sans_promotion"}


def _number(value) -> str:
    # French writing: decimal comma, narrow no-break space between thousands (from 10 000 up).
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    return f"{value:,}".replace(",", "\u202f") if isinstance(value, int) and abs(value) >= 10_000 else str(value)


def display_value(name: str, value) -> str:
    """A feature value as HR staff read it (French labels for categories, yes/no, no sentinels)."""
    spec = feature(name)
    if spec.kind == "bool":
        return "oui" if value else "non"
    if name in _SENTINEL_FEATURES and value == -1:
        return "sans objet"
    if spec.choices:
        return spec.choice_label(value)
    return _number(value)


def drivers(predictor: Predictor, features: Mapping, count: int = 5) -> list[dict]:
    """The `count` strongest drivers: feature, French label, value, contribution (log-odds) and a sentence."""
    out = []
    for item in predictor.top_drivers(features, count):
        name, contribution = item["feature"], item["contribution"]
        direction = "augmente le risque" if contribution > 0 else "réduit le risque"
        value = display_value(name, features[name])
        out.append({"feature": name, "label": feature(name).label, "value": value, "contribution": contribution,
                    "increases": contribution > 0, "text": f"{feature(name).label} : {value} — {direction}"})
    return out


def display_raw_value(name: str, value) -> str:
    """A raw-record value as HR staff read it ("Oui"/"Non", French labels, "non renseigné" when absent)."""
    spec = raw_field(name)
    if value is None:
        return "non renseigné"
    if spec.kind == "bool":
        return "Oui" if value else "Non"
    if spec.choices:
        return spec.choice_label(value)
    return _number(value)


def format_percent(probability: float) -> str:
    """A probability as a French whole percentage ("23 %").

    Truncated rather than rounded so the figure always agrees with its risk band (cut-offs at whole percents):
    0.1496 reads "14 %", in the band "moins de 15 %".
    """
    if probability < 0.01:
        return "moins de 1\u00a0%"
    return f"{math.floor(probability * 100 + 1e-9)}\u00a0%"
