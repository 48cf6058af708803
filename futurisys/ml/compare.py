"""Two models on the same folds of the same data: a new version's out-of-fold probabilities beside the active one's.

The active version is a fitted model: it scores every row as it is (had it been trained on these rows, its figures
are in-sample and the page says so). Each figure is the mean over the folds' test rows, like the model card's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from futurisys.ml import fairness

#: The figures where higher is better, and those where lower is (the warnings read them).
HIGHER_IS_BETTER = ("roc_auc", "pr_auc")
LOWER_IS_BETTER = ("brier", "ece")


def figures(target, tests: Sequence[np.ndarray], out_of_fold: np.ndarray, threshold: float, groups: Mapping) -> dict:
    """ROC AUC, PR AUC, Brier (fold means), ECE (pooled), precision and recall at `threshold`, fairness ratios."""
    from sklearn.metrics import average_precision_score, brier_score_loss, precision_score, recall_score, roc_auc_score

    target = np.asarray(target)
    splits = len(tests) // out_of_fold.shape[0]
    per_fold = []
    for number, test in enumerate(tests):
        proba, truth = out_of_fold[number // splits, test], target[test]
        flagged = proba >= threshold
        per_fold.append(
            (
                roc_auc_score(truth, proba),
                average_precision_score(truth, proba),
                brier_score_loss(truth, proba),
                precision_score(truth, flagged, zero_division=0),
                recall_score(truth, flagged, zero_division=0),
            )
        )
    roc, pr, brier, precision, recall = np.mean(per_fold, axis=0)
    repeats = out_of_fold.shape[0]
    pooled_target, pooled = np.tile(target, repeats), out_of_fold.ravel()
    ratios = {}
    for attribute, keys in groups.items():
        rows = fairness.group_table(
            pooled_target, pooled, np.tile(keys, repeats), threshold, repeats, fairness.GROUP_ORDER[attribute]
        )
        ratios[attribute] = {str(row["group"]): fairness.rounded(row["flag_ratio"]) for row in rows}
    return {
        "roc_auc": round(float(roc), 4),
        "pr_auc": round(float(pr), 4),
        "brier": round(float(brier), 4),
        "ece": round(float(fairness.reliability(pooled_target, pooled)["ece"]), 4),
        "threshold": threshold,
        "precision": round(float(precision), 4),
        "recall": round(float(recall), 4),
        "flag_ratios": ratios,
    }


def below_four_fifths(ratios: Mapping[str, Mapping[str, float | None]]) -> set[tuple[str, str]]:
    """The (attribute, group) pairs whose flag ratio is under four fifths."""
    return {
        (attribute, group)
        for attribute, rows in ratios.items()
        for group, ratio in rows.items()
        if ratio is not None and ratio < fairness.FOUR_FIFTHS
    }
