"""Data drift: the population stability index (PSI) of recent inputs against the reference data.

PSI = Σ (recent share − reference share) × ln(recent share / reference share) over bins: ten quantile bins of the
reference for numeric features, the categories themselves for categorical ones. Usual reading: below 0.1 stable,
0.1 to 0.2 moderate shift, above 0.2 significant shift. No Flask here: pure numpy/pandas.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from futurisys.domain.formatting import short_number

MODERATE, SIGNIFICANT = 0.1, 0.2
#: Below this many recent rows the PSI is shown as indicative only and nothing is flagged.
MIN_RECENT = 100
# Empty bins would make the logarithm infinite: shares are floored at this value.
EPSILON = 1e-4


@dataclass(frozen=True)
class Bin:
    """One bin (or category) with its share in the reference and in the recent data."""

    key: object
    label: str
    reference: float
    recent: float


@dataclass(frozen=True)
class FeatureDrift:
    """The PSI of one feature, how to read it, and the bins it was computed on."""

    name: str
    categorical: bool
    psi: float
    bins: tuple[Bin, ...]

    @property
    def level(self) -> str:
        """'stable', 'modere' or 'fort'."""
        return level(self.psi)


def level(psi: float) -> str:
    """'stable' below 0.1, 'modere' from 0.1 to 0.2, 'fort' above 0.2."""
    return "fort" if psi > SIGNIFICANT else "modere" if psi >= MODERATE else "stable"


def psi(reference_shares: Sequence[float], recent_shares: Sequence[float], epsilon: float = EPSILON) -> float:
    """The population stability index between two share vectors over the same bins."""
    expected = np.clip(np.asarray(reference_shares, dtype=float), epsilon, None)
    actual = np.clip(np.asarray(recent_shares, dtype=float), epsilon, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def quantile_edges(reference: Iterable[float], bins: int = 10) -> np.ndarray:
    """Inner cut points of `bins` quantile bins of the reference (fewer when values repeat)."""
    values = np.asarray(reference, dtype=float)
    # "lower": edges are observed values, so integer features get whole-number bins.
    return np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1], method="lower"))


def bin_shares(values, edges: np.ndarray) -> np.ndarray:
    """Share of `values` in each bin delimited by `edges` (bin k holds edges[k-1] <= x < edges[k])."""
    values = np.asarray(values, dtype=float)
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    return counts / max(len(values), 1)


def _bin_labels(edges: np.ndarray) -> list[str]:
    if len(edges) == 0:
        return ["toutes valeurs"]
    inner = [f"de {short_number(a)} à moins de {short_number(b)}" for a, b in zip(edges[:-1], edges[1:], strict=False)]
    return [f"moins de {short_number(edges[0])}", *inner, f"{short_number(edges[-1])} et plus"]


def numeric_drift(name: str, reference: pd.Series, recent: pd.Series, bins: int = 10) -> FeatureDrift:
    """PSI of a numeric feature over quantile bins of the reference."""
    edges = quantile_edges(reference.to_numpy(dtype=float), bins)
    counts = np.bincount(np.searchsorted(edges, recent.to_numpy(dtype=float), side="right"), minlength=len(edges) + 1)
    return numeric_drift_from_counts(name, reference, dict(enumerate(counts.tolist())), bins)


def numeric_drift_from_counts(
    name: str, reference: pd.Series, counts: Mapping[int, int], bins: int = 10
) -> FeatureDrift:
    """PSI of a numeric feature from the recent rows counted per reference quantile bin (bin index → count)."""
    edges = quantile_edges(reference.to_numpy(dtype=float), bins)
    ref = bin_shares(reference, edges)
    total = sum(counts.values())
    now = np.array([counts.get(k, 0) for k in range(len(edges) + 1)], dtype=float) / max(total, 1)
    labels = _bin_labels(edges)
    cells = tuple(
        Bin(i, label, float(r), float(c)) for i, (label, r, c) in enumerate(zip(labels, ref, now, strict=True))
    )
    return FeatureDrift(name, False, psi(ref, now), cells)


def categorical_drift(
    name: str, reference: pd.Series, recent: pd.Series, categories: Sequence = (), labels: dict | None = None
) -> FeatureDrift:
    """PSI of a categorical feature over its categories (known ones first, then any others seen)."""
    return categorical_drift_from_counts(name, reference, recent.value_counts().to_dict(), categories, labels)


def categorical_drift_from_counts(
    name: str, reference: pd.Series, counts: Mapping, categories: Sequence = (), labels: dict | None = None
) -> FeatureDrift:
    """PSI of a categorical feature from the recent rows counted per category (category → count)."""
    ref_shares = reference.value_counts(normalize=True)
    total = sum(counts.values())
    seen = sorted(counts, key=lambda key: -counts[key])
    keys = list(dict.fromkeys([*categories, *ref_shares.index, *seen]))
    ref = np.array([ref_shares.get(k, 0.0) for k in keys])
    now = np.array([counts.get(k, 0) / total for k in keys]) if total else np.zeros(len(keys))
    labels = labels or {}
    cells = tuple(Bin(k, labels.get(k, str(k)), float(r), float(c)) for k, r, c in zip(keys, ref, now, strict=True))
    return FeatureDrift(name, True, psi(ref, now), cells)


def drift_report(
    reference: pd.DataFrame,
    recent: pd.DataFrame,
    categorical: dict[str, Sequence],
    labels: dict[str, dict] | None = None,
) -> list[FeatureDrift]:
    """One FeatureDrift per column of `reference`; `categorical` maps categorical columns to their categories."""
    labels = labels or {}
    return [
        categorical_drift(name, reference[name], recent[name], categorical[name], labels.get(name))
        if name in categorical
        else numeric_drift(name, reference[name], recent[name].dropna())  # optional values may be absent
        for name in reference.columns
    ]


def drift_report_from_counts(
    reference: pd.DataFrame,
    counts: Mapping[str, Mapping],
    categorical: dict[str, Sequence],
    labels: dict[str, dict] | None = None,
) -> list[FeatureDrift]:
    """`drift_report` from recent rows already counted per feature and bin (categories, or quantile bin indexes)."""
    labels = labels or {}
    return [
        categorical_drift_from_counts(name, reference[name], counts.get(name, {}), categorical[name], labels.get(name))
        if name in categorical
        else numeric_drift_from_counts(name, reference[name], counts.get(name, {}))
        for name in reference.columns
    ]
