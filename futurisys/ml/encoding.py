"""Turns feature records into the model's float32 matrix: one-hot categories, 0/1 booleans, numbers as is."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from futurisys.domain.schema import FEATURES

#: Features a record may lack (the protected attributes): encoded as 0, the value training masks them with.
OPTIONAL = frozenset(field.name for field in FEATURES if not field.required)


class FeatureEncoder:
    """Fixed encoding derived from the schema: the same columns for training, one record and a batch."""

    def __init__(self, features=FEATURES):
        self.columns: list[str] = []
        #: for each encoded column, the index of the feature it comes from
        self.source: list[int] = []
        self._steps = []
        for index, field in enumerate(features):
            if field.kind == "category":
                positions = {value: len(self.columns) + k for k, value in enumerate(field.values)}
                self.columns += [f"{field.name}={value}" for value in field.values]
                self.source += [index] * len(field.values)
                self._steps.append((field.name, positions))
            else:
                self._steps.append((field.name, len(self.columns)))
                self.columns.append(field.name)
                self.source.append(index)
        self.feature_names = [field.name for field in features]
        self.width = len(self.columns)

    def encode_one(self, record: Mapping) -> np.ndarray:
        """A (1, width) float32 row for one feature record (the fast single-prediction path)."""
        row = [0.0] * self.width
        for name, position in self._steps:
            value = record.get(name)
            if isinstance(position, dict):
                slot = position.get(value)
                if slot is not None:
                    row[slot] = 1.0
            elif value is not None:  # an absent optional value stays 0, the value training masks it with
                row[position] = float(value)
        return np.array([row], dtype=np.float32)

    def encode_many(self, records: Sequence[Mapping]) -> np.ndarray:
        """A (n, width) float32 matrix, filled column by column."""
        matrix = np.zeros((len(records), self.width), dtype=np.float32)
        for name, position in self._steps:
            values = [record.get(name) for record in records]
            if isinstance(position, dict):
                slots = np.fromiter((position.get(v, -1) for v in values), dtype=np.int64, count=len(values))
                rows = np.nonzero(slots >= 0)[0]
                matrix[rows, slots[rows]] = 1.0
            else:
                column = np.asarray(values, dtype=np.float32)  # None reads as NaN: absent, left at 0
                matrix[:, position] = np.nan_to_num(column, nan=0.0) if name in OPTIONAL else column
        return matrix

    def fold(self, per_column: np.ndarray) -> np.ndarray:
        """Sum per-column contributions (n, width) back onto the features (n, n_features)."""
        return fold_columns(per_column, self.source, len(self.feature_names))


def fold_columns(per_column: np.ndarray, source: Sequence[int], n_features: int) -> np.ndarray:
    """Sum columns that come from the same feature: (n, columns) -> (n, n_features)."""
    out = np.zeros((per_column.shape[0], n_features), dtype=np.float64)
    np.add.at(out.T, np.asarray(source), per_column.T)
    return out
