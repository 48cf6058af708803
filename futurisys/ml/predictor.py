"""Loads a model bundle and scores feature records: probability, label and per-feature contributions."""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from futurisys.ml.encoding import FeatureEncoder
from futurisys.ml.linear import LinearDesign
from futurisys.schema import CLASS_LABELS, FEATURES

BOOSTER_FILE, LINEAR_FILE, METADATA_FILE = "xgboost.ubj", "linear.json", "metadata.json"
# Libraries whose major.minor must match the ones the bundle was trained with.
CHECKED_LIBRARIES = ("xgboost",)


class BundleError(Exception):
    """A model bundle is missing, unreadable or does not fit this code."""


@dataclass(frozen=True)
class Score:
    """One prediction: probability of departure and the label the threshold gives it."""

    proba: float
    label: str


def library_versions() -> dict[str, str]:
    """Versions of the libraries a bundle depends on."""
    from importlib.metadata import version

    import xgboost

    # importlib.metadata keeps scikit-learn out of the service's start-up (it is only needed to train).
    return {"xgboost": xgboost.__version__, "scikit-learn": version("scikit-learn"), "numpy": np.__version__}


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class Predictor:
    """A blend of XGBoost and a standardised logistic regression, averaged in log-odds."""

    def __init__(self, booster, linear: Mapping, metadata: Mapping):
        self.booster = booster
        self.linear = dict(linear)
        self.metadata = dict(metadata)
        self.encoder = FeatureEncoder()
        self.design = LinearDesign(self.encoder)
        self.version: str = metadata.get("version", "unversioned")
        self.threshold: float = float(metadata.get("threshold", 0.5))
        self.weight: float = float(linear["xgboost_weight"])
        self._mean = np.asarray(linear["mean"], dtype=np.float64)
        self._scale = np.asarray(linear["scale"], dtype=np.float64)
        self._coef = np.asarray(linear["coef"], dtype=np.float64)
        self._intercept = float(linear["intercept"])

    @classmethod
    def load(cls, bundle_dir: str | Path) -> "Predictor":
        """Load and check a bundle directory; raise BundleError with a clear message when it does not fit."""
        import xgboost

        bundle = Path(bundle_dir)
        try:
            metadata = json.loads((bundle / METADATA_FILE).read_text(encoding="utf-8"))
            linear = json.loads((bundle / LINEAR_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise BundleError(f"no model bundle in {bundle}: {Path(exc.filename).name} is missing") from None
        except (OSError, ValueError) as exc:
            raise BundleError(f"unreadable model bundle in {bundle}: {exc}") from None
        check_compatible(metadata)
        if linear.get("columns") != LinearDesign(FeatureEncoder()).columns:
            raise BundleError("model bundle's logistic-regression columns do not match this version of Futurisys")
        booster = xgboost.Booster()
        try:
            booster.load_model(str(bundle / BOOSTER_FILE))
        except xgboost.core.XGBoostError as exc:
            raise BundleError(f"unreadable XGBoost model in {bundle}: {str(exc).splitlines()[0]}") from None
        booster.set_param({"nthread": 1})
        return cls(booster, linear, metadata)

    def _label(self, proba: float) -> str:
        return CLASS_LABELS[int(proba >= self.threshold)]

    def _linear_terms(self, matrix: np.ndarray) -> np.ndarray:
        """Per-design-column log-odds terms of the logistic regression (n, 66)."""
        return (self.design.transform(matrix) - self._mean) / self._scale * self._coef

    def log_odds_many(self, matrix: np.ndarray) -> np.ndarray:
        """Blended log-odds for an encoded (n, width) matrix."""
        z_tree = self.booster.inplace_predict(matrix, predict_type="margin").astype(np.float64)
        z_linear = self._linear_terms(matrix).sum(axis=1) + self._intercept
        return self.weight * z_tree + (1.0 - self.weight) * z_linear

    def predict_one(self, features: Mapping) -> Score:
        """Score one 30-feature record without pandas: encode one float32 row, predict in place."""
        proba = float(_sigmoid(self.log_odds_many(self.encoder.encode_one(features))[0]))
        return Score(proba, self._label(proba))

    def predict_many(self, records: Sequence[Mapping]) -> list[Score]:
        """Score many 30-feature records in one vectorised pass."""
        if not records:
            return []
        probas = _sigmoid(self.log_odds_many(self.encoder.encode_many(records)))
        return [Score(float(p), self._label(float(p))) for p in probas]

    def contributions(self, records: Sequence[Mapping]) -> tuple[np.ndarray, np.ndarray]:
        """Per-feature log-odds contributions (n, 30) and base values (n,); their sum is the blended log-odds."""
        import xgboost

        matrix = self.encoder.encode_many(records)
        tree = self.booster.predict(xgboost.DMatrix(matrix), pred_contribs=True)
        w = self.weight
        per_feature = w * self.encoder.fold(tree[:, :-1].astype(np.float64))
        per_feature += (1.0 - w) * self.design.fold(self._linear_terms(matrix))
        base = w * tree[:, -1].astype(np.float64) + (1.0 - w) * self._intercept
        return per_feature, base

    def top_drivers(self, features: Mapping, count: int = 5) -> list[dict]:
        """The `count` features that move this record's risk most, with their sign and size (log-odds)."""
        contributions, _ = self.contributions([features])
        order = np.argsort(-np.abs(contributions[0]))[:count]
        return [{"feature": self.encoder.feature_names[i], "value": features[self.encoder.feature_names[i]],
                 "contribution": round(float(contributions[0][i]), 4)} for i in order]


def check_compatible(metadata: Mapping) -> None:
    """Raise BundleError when a bundle's features or library versions do not fit this code."""
    if metadata.get("features") != feature_spec():
        raise BundleError("model bundle features do not match this version of Futurisys's schema "
                          "(retrain with `flask --app futurisys model train`)")
    trained, here = metadata.get("library_versions", {}), library_versions()
    for name in CHECKED_LIBRARIES:
        if trained.get(name, "").split(".")[:2] != here[name].split(".")[:2]:
            raise BundleError(f"model bundle was trained with {name} {trained.get(name, '?')}, "
                              f"this service runs {name} {here[name]}: retrain or install the matching version")


def feature_spec() -> list[dict]:
    """The feature list stored in a bundle's metadata."""
    return [{"name": f.name, "type": f.kind, "categories": list(f.values) if f.kind == "category" else None}
            for f in FEATURES]
