"""The blend as a sum of one exact function per feature: XGBoost stumps folded into step tables, plus linear terms."""

from __future__ import annotations

import json
import math

import numpy as np


class StumpTables:
    """Depth-1 XGBoost trees summed per encoded column: margin = bias + Σ_c table_c(x_c), in float64.

    Each stump sends x to its right leaf when x >= threshold (XGBoost's float32 comparison), so the stumps of one
    column add up to a step function: the sum of their left leaves plus, for each threshold at or below x, the
    difference between its right and left leaves.
    """

    def __init__(self, booster, width: int):
        model = json.loads(booster.save_raw(raw_format="json"))
        learner = model["learner"]
        base_score = float(np.float32(learner["learner_model_param"]["base_score"].strip("[]")))
        self.bias = math.log(base_score / (1.0 - base_score))
        per_column: list[dict[float, float]] = [{} for _ in range(width)]
        left_sums = np.zeros(width)
        for tree in learner["gradient_booster"]["model"]["trees"]:
            values = tree["split_conditions"]
            if len(values) == 1:  # a tree without a split is a constant
                self.bias += values[0]
                continue
            if len(values) != 3:
                raise ValueError("the model is not made of depth-1 trees: it is not additive per feature")
            column, threshold = tree["split_indices"][0], float(np.float32(values[0]))
            left, right = values[tree["left_children"][0]], values[tree["right_children"][0]]
            left_sums[column] += left
            steps = per_column[column]
            steps[threshold] = steps.get(threshold, 0.0) + (right - left)
        self.width = width
        self.offsets = left_sums
        self.thresholds = [np.array(sorted(steps), dtype=np.float32) for steps in per_column]
        self.levels = [np.concatenate([[0.0], np.cumsum([steps[t] for t in sorted(steps)])]) for steps in per_column]
        self.used = [len(t) > 0 for t in self.thresholds]
        # A padded copy for one row at a time: a single comparison instead of a loop over the columns.
        depth = max((len(t) for t in self.thresholds), default=0)
        self._padded_thresholds = np.full((width, depth), np.inf, dtype=np.float32)
        self._padded_levels = np.zeros((width, depth + 1))
        for c, (t, levels) in enumerate(zip(self.thresholds, self.levels, strict=False)):
            self._padded_thresholds[c, : len(t)] = t
            self._padded_levels[c, : len(levels)] = levels
            self._padded_levels[c, len(levels) :] = levels[-1]
        self._rows = np.arange(width)

    def per_column(self, matrix: np.ndarray) -> np.ndarray:
        """Each encoded column's share of the margin (n, width), bias excluded."""
        x = np.asarray(matrix, dtype=np.float32)
        if x.shape[0] == 1:
            steps = (x[0][:, None] >= self._padded_thresholds).sum(axis=1)
            return (self._padded_levels[self._rows, steps] + self.offsets)[None, :]
        out = np.tile(self.offsets, (x.shape[0], 1))
        for c in range(self.width):
            if self.used[c]:
                out[:, c] += self.levels[c][np.searchsorted(self.thresholds[c], x[:, c], side="right")]
        return out

    def margin(self, matrix: np.ndarray) -> np.ndarray:
        """XGBoost's margin (log-odds) for an encoded matrix, computed in float64."""
        return self.per_column(matrix).sum(axis=1) + self.bias


#: Numeric features with more distinct values than this are drawn on an even grid of this many points.
MAX_CURVE_POINTS = 120


def curve_values(kind: str, categories, observed) -> list:
    """The values a feature's curve is drawn at: every category, or the observed numeric values (or a grid)."""
    if kind in ("category", "bool"):
        return list(categories) if kind == "category" else [False, True]
    distinct = np.unique(np.asarray(observed, dtype=np.float64))
    if len(distinct) > MAX_CURVE_POINTS:
        distinct = np.linspace(distinct[0], distinct[-1], MAX_CURVE_POINTS)
    integral = np.all(np.asarray(observed, dtype=np.float64) % 1 == 0)
    return sorted({int(round(v)) for v in distinct}) if integral else distinct.tolist()


def feature_curve(predictor, name: str, values, record) -> np.ndarray:
    """The feature's exact log-odds term at each value: `record` with only that feature changed.

    The model is a sum of one term per feature, so the curve does not depend on `record`'s other values.
    """
    column = predictor.encoder.feature_names.index(name)
    records = [{**record, name: value} for value in values]
    return predictor.feature_terms(predictor.encoder.encode_many(records))[:, column]
