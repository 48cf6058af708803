"""Realised accuracy of a set of matured predictions, each figure with its n and a 95 % interval (no Flask here).

Proportions (recall, precision, precision among the top 10 %) get Wilson score intervals; ROC AUC the Hanley &
McNeil (1982) standard error; the Brier score a normal interval on the mean of squared errors; the calibration
error (the model card's ECE, same bins) a parametric bootstrap by bin (seeded: a page shows the same figures twice).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from futurisys.ml.fairness import reliability

Z = 1.959963984540054  # the 97.5th percentile of the standard normal: 95 % two-sided
TOP_SHARE = 0.10
MIN_DEPARTURES = 5  # below this, a cohort's figures are shown greyed, « effectif insuffisant »
BOOTSTRAP_DRAWS = 200


@dataclass(frozen=True)
class Estimate:
    """A figure, its 95 % interval and the number of records it rests on (value None when n is 0)."""

    value: float | None
    low: float | None
    high: float | None
    n: int


NONE = Estimate(None, None, None, 0)


def wilson(successes: int, n: int) -> Estimate:
    """The proportion successes / n with its Wilson score interval."""
    if n == 0:
        return NONE
    p = successes / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return Estimate(p, max(0.0, centre - half), min(1.0, centre + half), n)


def roc_auc(target: np.ndarray, proba: np.ndarray) -> Estimate:
    """ROC AUC by ranks (ties count half), with the Hanley & McNeil interval; None without both outcomes."""
    positives = int(target.sum())
    negatives = len(target) - positives
    if positives == 0 or negatives == 0:
        return Estimate(None, None, None, len(target))
    ranks = rankdata(proba)
    auc = (ranks[target == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives)
    return hanley_mcneil(float(auc), positives, negatives)


def hanley_mcneil(auc: float, positives: int, negatives: int) -> Estimate:
    """A ROC AUC with the Hanley & McNeil (1982) 95 % interval."""
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    variance = (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)) / (
        positives * negatives
    )
    half = Z * math.sqrt(max(variance, 0.0))
    return Estimate(float(auc), max(0.0, auc - half), min(1.0, auc + half), positives + negatives)


def brier(target: np.ndarray, proba: np.ndarray) -> Estimate:
    """Mean squared error of the probabilities, with a normal interval."""
    n = len(target)
    if n == 0:
        return NONE
    errors = (proba - target) ** 2
    mean = float(errors.mean())
    half = Z * float(errors.std(ddof=1)) / math.sqrt(n) if n > 1 else 0.0
    return Estimate(mean, max(0.0, mean - half), mean + half, n)


def calibration_error(target: np.ndarray, proba: np.ndarray, seed: int = 0) -> Estimate:
    """The expected calibration error (the model card's bins) and a bootstrap interval redrawn bin by bin."""
    if len(target) == 0:
        return NONE
    return calibration_from_bins(reliability(target, proba)["bins"], len(target), seed)


def calibration_from_bins(bins: list[dict], n: int, seed: int = 0) -> Estimate:
    """The calibration error of `n` records from their reliability bins, with the bin-by-bin bootstrap interval."""
    if n == 0:
        return NONE
    value = sum(b["n"] / n * abs(b["mean_proba"] - b["observed_rate"]) for b in bins)
    sizes = np.array([b["n"] for b in bins])
    means = np.array([b["mean_proba"] for b in bins])
    rates = np.array([b["observed_rate"] for b in bins])
    rng = np.random.default_rng(seed)
    # Redraw how many records fall in each bin, then how many of them left; the bin's mean probability is kept.
    drawn = rng.multinomial(n, sizes / n, size=BOOTSTRAP_DRAWS)
    left = rng.binomial(drawn, rates)
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = np.where(drawn > 0, left / np.maximum(drawn, 1), 0.0)
    draws = (drawn / n * np.abs(means - observed)).sum(axis=1)
    low, high = np.percentile(draws, [2.5, 97.5])
    return Estimate(float(value), float(low), float(high), n)


def top_count(n: int, share: float = TOP_SHARE) -> int:
    """How many records make the top `share` of n (at least one)."""
    return max(1, math.ceil(share * n)) if n else 0


def top_order(proba: np.ndarray) -> np.ndarray:
    """Indexes from the highest probability down (ties in the order given)."""
    return np.argsort(-proba, kind="stable")


def realised(target, proba, flagged) -> dict[str, Estimate]:
    """Recall and precision at the threshold (`flagged`: predicted « Part »), top-10 % precision, AUC, Brier, ECE."""
    target = np.asarray(target, dtype=np.int8)
    proba = np.asarray(proba, dtype=np.float64)
    flagged = np.asarray(flagged, dtype=bool)
    hits = int((flagged & (target == 1)).sum())
    top = top_order(proba)[: top_count(len(proba))]
    return {
        "recall": wilson(hits, int(target.sum())),
        "precision": wilson(hits, int(flagged.sum())),
        "top_precision": wilson(int(target[top].sum()), len(top)),
        "roc_auc": roc_auc(target, proba),
        "brier": brier(target, proba),
        "calibration_error": calibration_error(target, proba),
    }


@dataclass(frozen=True)
class Sums:
    """What the figures expected under calibration need: count, Σp, the same over flagged records, Σp(1−p)."""

    n: int
    sum_p: float
    flagged: int
    sum_p_flagged: float
    sum_pq: float

    def __add__(self, other: Sums) -> Sums:
        return Sums(
            self.n + other.n,
            self.sum_p + other.sum_p,
            self.flagged + other.flagged,
            self.sum_p_flagged + other.sum_p_flagged,
            self.sum_pq + other.sum_pq,
        )


ZERO = Sums(0, 0.0, 0, 0.0, 0.0)


def sums(proba, flagged) -> Sums:
    """The Sums of a set of predictions."""
    proba, flagged = np.asarray(proba, dtype=np.float64), np.asarray(flagged, dtype=bool)
    return Sums(
        len(proba),
        float(proba.sum()),
        int(flagged.sum()),
        float(proba[flagged].sum()),
        float((proba * (1 - proba)).sum()),
    )


def expected(total: Sums, top_mean: float | None = None) -> dict[str, float | None]:
    """The figures a calibrated model would reach on average: each employee leaves with their probability."""

    def ratio(a: float, b: float) -> float | None:
        return a / b if b else None

    return {
        "departures": total.sum_p,
        "recall": ratio(total.sum_p_flagged, total.sum_p),
        "precision": ratio(total.sum_p_flagged, total.flagged),
        "top_precision": top_mean,
        "brier": ratio(total.sum_pq, total.n),
    }


def expected_from_rows(proba, flagged) -> dict[str, float | None]:
    """`expected` of a set of predictions, with the mean probability of its top 10 %."""
    proba = np.asarray(proba, dtype=np.float64)
    top = top_order(proba)[: top_count(len(proba))]
    return expected(sums(proba, flagged), float(proba[top].mean()) if len(top) else None)
