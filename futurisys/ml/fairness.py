"""How the model treats groups of employees, and how well its probabilities are calibrated (out-of-fold)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

#: Criteria French labour law forbids basing decisions on (Code du travail L1132-1): the default model ignores them.
PROTECTED_FEATURES = ("genre", "statut_marital", "age")
#: (key, lower bound included, upper bound excluded)
AGE_BANDS = (("<30", 0, 30), ("30-44", 30, 45), ("45+", 45, 200))
#: Attributes the fairness table is broken down by, with the feature each one comes from.
FAIRNESS_ATTRIBUTES = (("genre", "genre"), ("statut_marital", "statut_marital"), ("tranche_age", "age"))
#: The order groups are listed in (schema order for categories, youngest band first).
GROUP_ORDER = {
    "genre": ("F", "M"),
    "statut_marital": ("Célibataire", "Marié(e)", "Divorcé(e)"),
    "tranche_age": tuple(key for key, _, _ in AGE_BANDS),
}
FOUR_FIFTHS = 0.8
CALIBRATION_BINS = 10


def age_band(age: float | None) -> str:
    """The age band key of an age ("<30", "30-44", "45+"; "inconnu" when it was not given)."""
    if age is None:
        return "inconnu"
    return next(key for key, low, high in AGE_BANDS if low <= age < high)


def groups_of(records: Sequence[Mapping]) -> dict[str, np.ndarray]:
    """For each fairness attribute, every record's group key."""
    out = {}
    for attribute, source in FAIRNESS_ATTRIBUTES:
        values = [record.get(source) for record in records]
        if source == "age":
            values = [age_band(v) for v in values]
        out[attribute] = np.array(["inconnu" if v is None else v for v in values], dtype=object)
    return out


def _roc_auc(target: np.ndarray, proba: np.ndarray) -> float | None:
    """ROC AUC, or None when the group holds only one class."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(target, proba)) if len(set(target.tolist())) == 2 else None


def _ratio(numerator: float, denominator: float) -> float | None:
    return float(numerator / denominator) if denominator else None


def group_table(target, proba, groups, threshold: float, repeats: int = 1, order: Sequence = ()) -> list[dict]:
    """Per group: n, base rate, mean probability, ROC AUC, flag rate, precision, recall, four-fifths ratio, calibration.

    `target`, `proba` and `groups` may hold several out-of-fold repeats end to end: n counts employees (÷ repeats),
    every rate is over all the repeats. Groups come in `order`, then any others sorted.
    """
    target, proba, groups = np.asarray(target), np.asarray(proba, dtype=np.float64), np.asarray(groups, dtype=object)
    rows = []
    present = set(groups.tolist())
    for key in [k for k in order if k in present] + sorted(present - set(order), key=str):
        inside = groups == key
        y, p = target[inside], proba[inside]
        flagged = p >= threshold
        true_flags = int((flagged & (y == 1)).sum())
        rows.append(
            {
                "group": key,
                "n": int(inside.sum() // repeats),
                "base_rate": float(y.mean()),
                "mean_proba": float(p.mean()),
                "roc_auc": _roc_auc(y, p),
                "flag_rate": float(flagged.mean()),
                "precision": _ratio(true_flags, flagged.sum()),
                "recall": _ratio(true_flags, (y == 1).sum()),
                "calibration_gap": float(p.mean() - y.mean()),
                "ece": reliability(y, p)["ece"],
            }
        )
    top = max(row["flag_rate"] for row in rows)
    for row in rows:
        row["flag_ratio"] = _ratio(row["flag_rate"], top)
        row["below_four_fifths"] = row["flag_ratio"] is not None and row["flag_ratio"] < FOUR_FIFTHS
    return rows


def reliability(target, proba, bins: int = CALIBRATION_BINS) -> dict:
    """Equal-width probability bins (n, mean probability, observed rate) and the expected calibration error.

    ECE = Σ over bins of (share of records in the bin) × |mean probability − observed rate|.
    """
    target, proba = np.asarray(target, dtype=np.float64), np.asarray(proba, dtype=np.float64)
    index = np.minimum((proba * bins).astype(int), bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        inside = index == b
        n = int(inside.sum())
        if not n:
            continue
        mean_proba, observed = float(proba[inside].mean()), float(target[inside].mean())
        ece += n / len(proba) * abs(mean_proba - observed)
        rows.append(
            {"lower": b / bins, "upper": (b + 1) / bins, "n": n, "mean_proba": mean_proba, "observed_rate": observed}
        )
    return {"bins": rows, "ece": float(ece)}


def rounded(value, digits: int = 4):
    """Floats rounded for metadata.json, recursively (None and other values unchanged)."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v, digits) for v in value]
    return value
