"""Monthly summaries of outcomes: what « Performance réelle » needs of a month, in a few kilobytes (no Flask here).

A month's summary holds its counted predictions' counts and sums by outcome (the maturity bar, the figures a
calibrated model would give) and, once the month has matured, what its realised figures come from: a histogram of
the scored predictions by probability (steps of 1/RESOLUTION), outcome and flag, the Brier sums and the model
card's reliability bins. Summaries add up, so the page's cost is set by the number of months, not of predictions.

From a histogram, recall, precision, the Brier score and the calibration error are exact; the ROC AUC counts two
probabilities closer than 1/RESOLUTION as tied, and the precision of the top 10 % splits the boundary step in
proportion (tests/test_outcomes_summaries.py compares them with the figures from the rows).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import sqlalchemy as sa

from futurisys.ml.fairness import CALIBRATION_BINS
from futurisys.outcomes import metrics
from futurisys.outcomes.clock import as_utc, shift_months
from futurisys.outcomes.horizon import HORIZONS, PARTI, RESTE, SANS_REFERENCE
from futurisys.outcomes.models import KnownOutcomeCount, OutcomeSummary

RESOLUTION = 10_000
TABLE = OutcomeSummary.__table__
KNOWN_COUNTS = KnownOutcomeCount.__table__  # forgotten with the summaries: they rest on the same rows
SUM_FIELDS = ("n", "sum_p", "flagged", "sum_p_flagged", "sum_pq")


@dataclass
class Summary:
    """One month's (or several months', added) outcome aggregates."""

    counts: dict[str, int] = field(default_factory=dict)
    # Sums (metrics.Sums) of the predictions with a reference, every outcome together, and of the scored ones.
    referenced: metrics.Sums = metrics.ZERO
    scored: metrics.Sums = metrics.ZERO
    # Scored predictions (parti or resté): [target, flagged, probability step] counts.
    histogram: np.ndarray = field(default_factory=lambda: np.zeros((2, 2, RESOLUTION + 1), dtype=np.int64))
    brier_sums: tuple[float, float] = (0.0, 0.0)  # Σ(p − y)², Σ(p − y)⁴
    reliability: np.ndarray = field(default_factory=lambda: np.zeros((CALIBRATION_BINS, 3)))  # n, Σp, Σy per bin

    def __add__(self, other: Summary) -> Summary:
        counts = dict(self.counts)
        for status, n in other.counts.items():
            counts[status] = counts.get(status, 0) + n
        return Summary(
            counts,
            self.referenced + other.referenced,
            self.scored + other.scored,
            self.histogram + other.histogram,
            (self.brier_sums[0] + other.brier_sums[0], self.brier_sums[1] + other.brier_sums[1]),
            self.reliability + other.reliability,
        )

    # --- from the rows, and back and forth to the table's JSON --------------------------------------------------

    @classmethod
    def of_rows(cls, statuses: np.ndarray, proba: np.ndarray, flags: np.ndarray) -> Summary:
        """The summary of a month's counted rows (status, probability, flagged « Part »)."""
        counts = {str(s): int(n) for s, n in zip(*np.unique(statuses, return_counts=True), strict=True)}
        referenced = statuses != SANS_REFERENCE
        known = (statuses == PARTI) | (statuses == RESTE)
        target = (statuses[known] == PARTI).astype(np.int64)
        p, f = proba[known], flags[known]
        histogram = np.zeros((2, 2, RESOLUTION + 1), dtype=np.int64)
        np.add.at(histogram, (target, f.astype(np.int64), steps(p)), 1)
        errors = (p - target) ** 2
        index = np.minimum((p * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
        reliability = np.zeros((CALIBRATION_BINS, 3))
        np.add.at(reliability, index, np.column_stack([np.ones_like(p), p, target]) if len(p) else np.zeros((0, 3)))
        return cls(
            counts,
            metrics.sums(proba[referenced], flags[referenced]),
            metrics.sums(p, f),
            histogram,
            (float(errors.sum()), float((errors**2).sum())),
            reliability,
        )

    def to_json(self) -> dict:
        """What the table stores (the histogram sparse: a month fills a few thousand of its steps at most)."""
        where = np.nonzero(self.histogram)
        return {
            "counts": self.counts,
            "referenced": [getattr(self.referenced, name) for name in SUM_FIELDS],
            "scored": [getattr(self.scored, name) for name in SUM_FIELDS],
            "histogram": [
                [int(t), int(f), int(s), int(self.histogram[t, f, s])] for t, f, s in zip(*where, strict=True)
            ],
            "brier": list(self.brier_sums),
            "reliability": self.reliability.tolist(),
        }

    @classmethod
    def from_json(cls, data: dict) -> Summary:
        histogram = np.zeros((2, 2, RESOLUTION + 1), dtype=np.int64)
        for target, flagged, step, count in data["histogram"]:
            histogram[target, flagged, step] = count
        return cls(
            {str(k): int(v) for k, v in data["counts"].items()},
            metrics.Sums(*data["referenced"]),
            metrics.Sums(*data["scored"]),
            histogram,
            tuple(data["brier"]),
            np.array(data["reliability"], dtype=np.float64).reshape(CALIBRATION_BINS, 3),
        )

    # --- the figures ---------------------------------------------------------------------------------------------

    @property
    def departures(self) -> int:
        """Voluntary departures among the scored predictions."""
        return int(self.histogram[1].sum())

    def realised(self) -> dict[str, metrics.Estimate] | None:
        """metrics.realised of the scored predictions, from the histogram; None when there is none."""
        n = int(self.histogram.sum())
        if n == 0:
            return None
        positives = self.histogram[1].sum(axis=0)  # per step, flagged or not
        negatives = self.histogram[0].sum(axis=0)
        hits, flagged = int(self.histogram[1, 1].sum()), int(self.histogram[:, 1].sum())
        sum_e, sum_e2 = self.brier_sums
        mean = sum_e / n
        spread = math.sqrt(max(sum_e2 - n * mean * mean, 0.0) / (n - 1)) if n > 1 else 0.0
        half = metrics.Z * spread / math.sqrt(n) if n > 1 else 0.0
        return {
            "recall": metrics.wilson(hits, int(positives.sum())),
            "precision": metrics.wilson(hits, flagged),
            "top_precision": self._top_precision(positives, negatives, n),
            "roc_auc": _auc(positives, negatives),
            "brier": metrics.Estimate(mean, max(0.0, mean - half), mean + half, n),
            "calibration_error": metrics.calibration_from_bins(self.reliability_bins(), n),
        }

    def _top_precision(self, positives: np.ndarray, negatives: np.ndarray, n: int) -> metrics.Estimate:
        wanted = metrics.top_count(n)
        taken = left = 0.0
        for step in range(RESOLUTION, -1, -1):  # from the highest probability down
            in_step = positives[step] + negatives[step]
            if not in_step:
                continue
            share = min(1.0, (wanted - taken) / in_step)
            taken += in_step * share
            left += positives[step] * share
            if taken >= wanted:
                break
        return metrics.wilson(round(left), wanted)

    def top_mean(self) -> float | None:
        """The mean probability of the top 10 % of scored predictions (steps' centres; the boundary split)."""
        counts = self.histogram.sum(axis=(0, 1))
        n = int(counts.sum())
        if n == 0:
            return None
        wanted, taken, total = metrics.top_count(n), 0.0, 0.0
        for step in range(RESOLUTION, -1, -1):
            if not counts[step]:
                continue
            share = min(1.0, (wanted - taken) / counts[step])
            taken += counts[step] * share
            total += counts[step] * share * min(1.0, (step + 0.5) / RESOLUTION)
            if taken >= wanted:
                break
        return total / wanted

    def reliability_bins(self) -> list[dict]:
        """The model card's reliability rows (lower, upper, n, mean probability, observed rate), non-empty bins."""
        return [
            {
                "lower": b / CALIBRATION_BINS,
                "upper": (b + 1) / CALIBRATION_BINS,
                "n": int(n),
                "mean_proba": float(sum_p / n),
                "observed_rate": float(sum_y / n),
            }
            for b, (n, sum_p, sum_y) in enumerate(self.reliability)
            if n
        ]


def steps(proba: np.ndarray) -> np.ndarray:
    """The histogram step of each probability."""
    return np.clip(np.floor(proba * RESOLUTION).astype(np.int64), 0, RESOLUTION)


def _auc(positives: np.ndarray, negatives: np.ndarray) -> metrics.Estimate:
    """ROC AUC from per-step counts (a step counts as a tie), with metrics.roc_auc's Hanley & McNeil interval."""
    n_pos, n_neg = int(positives.sum()), int(negatives.sum())
    if n_pos == 0 or n_neg == 0:
        return metrics.Estimate(None, None, None, n_pos + n_neg)
    below = np.concatenate(([0], np.cumsum(negatives)[:-1]))
    auc = float((positives * (below + negatives / 2)).sum() / (n_pos * n_neg))
    return metrics.hanley_mcneil(auc, n_pos, n_neg)


# --- the table: read, write, forget ------------------------------------------------------------------------------


def kinds_key(voluntary) -> str:
    """The set of voluntary exit types a summary was computed for."""
    return ",".join(sorted(voluntary))


def stored(connection, version: str, horizon: int, kinds: str) -> dict[date, tuple[bool, date, Summary]]:
    """The stored summaries of a version, horizon and set of kinds: {month: (mature, valid_on, summary)}."""
    rows = connection.execute(
        sa.select(TABLE.c.month, TABLE.c.mature, TABLE.c.valid_on, TABLE.c.data).where(
            TABLE.c.model_version == version, TABLE.c.horizon == horizon, TABLE.c.kinds == kinds
        )
    )
    return {row.month: (row.mature, row.valid_on, Summary.from_json(row.data)) for row in rows}


def save(connection, version: str, horizon: int, kinds: str, month: date, mature: bool, on: date, summary: Summary):
    """Store (or replace) one month's summary."""
    key = {"model_version": version, "horizon": horizon, "kinds": kinds, "month": month}
    connection.execute(TABLE.delete().where(*(TABLE.c[name] == value for name, value in key.items())))
    connection.execute(TABLE.insert(), {**key, "mature": mature, "valid_on": on, "data": summary.to_json()})


def forget(connection, since: date | None = None, months: list[date] | None = None) -> None:
    """Forget the summaries of `months`, or of every month from `since` on, or all of them (and the known outcomes'
    counts, which any of them may change)."""
    connection.execute(KNOWN_COUNTS.delete())
    query = TABLE.delete()
    if months is not None:
        query = query.where(TABLE.c.month.in_([m.replace(day=1) for m in months]))
    elif since is not None:
        query = query.where(TABLE.c.month >= since.replace(day=1))
    connection.execute(query)


def forget_around_departure(connection, day: date) -> None:
    """A departure dated `day` was recorded, corrected or removed: forget the months whose horizon may hold it."""
    forget(connection, since=shift_months(day, -max(HORIZONS)))


def forget_changed(connection, up_to=None) -> None:
    """storage.hooks listener: predictions made up to `up_to` (any, when None) changed; forget their months."""
    connection.execute(KNOWN_COUNTS.delete())
    if up_to is None:
        connection.execute(TABLE.delete())
    else:
        connection.execute(TABLE.delete().where(TABLE.c.month <= as_utc(up_to).date().replace(day=1)))
