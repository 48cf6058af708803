"""Loads a model bundle and scores feature records: probability, label and per-feature contributions."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from futurisys.domain.schema import CLASS_LABELS, FEATURES
from futurisys.ml.encoding import FeatureEncoder
from futurisys.ml.linear import LinearDesign
from futurisys.ml.shape import StumpTables

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


def _xgboost():
    """The xgboost module, imported without its scikit-learn integration when scikit-learn is not loaded yet.

    Scoring never uses that integration, and `xgboost.compat` importing scikit-learn (SciPy with it) was half of the
    boot: 1.6 s of 3. `import sklearn` works as before afterwards (training and the model card use it). The model is
    loaded before any request thread runs (gunicorn's arbiter, or the CLI), so no other import races this one.
    """
    if "xgboost" not in sys.modules and "sklearn" not in sys.modules:
        sys.modules["sklearn"] = None  # `import sklearn` raises ImportError while xgboost is being imported
        try:
            return importlib.import_module("xgboost")
        finally:
            del sys.modules["sklearn"]
    return importlib.import_module("xgboost")


def library_versions() -> dict[str, str]:
    """Versions of the libraries a bundle depends on."""
    from importlib.metadata import version

    xgboost = _xgboost()

    # importlib.metadata keeps scikit-learn out of the service's start-up (it is only needed to train).
    return {"xgboost": xgboost.__version__, "scikit-learn": version("scikit-learn"), "numpy": np.__version__}


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class Predictor:
    """A blend of XGBoost stumps and a standardised logistic regression, averaged in log-odds.

    Both halves are sums of one term per feature, so the predictor scores with the stumps folded into step tables
    (float64, the same decisions as XGBoost) and each feature's contribution is exact.
    """

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
        self._unused = self._coef == 0
        #: features the model was trained without (protected attributes): no term, never a driver
        self.excluded: tuple[str, ...] = tuple(metadata.get("excluded_features", ()))
        centres = metadata.get("feature_centres")
        self._centres = np.asarray(centres if centres else [0.0] * len(self.encoder.feature_names))

    @cached_property
    def tables(self) -> StumpTables:
        """The booster's stumps as step tables (built once; `load` builds them before the first request)."""
        return StumpTables(self.booster, self.encoder.width)

    @cached_property
    def base(self) -> float:
        """The log-odds of a record whose every feature term is zero (the average employee's, roughly)."""
        return self.weight * self.tables.bias + (1.0 - self.weight) * self._intercept + float(self._centres.sum())

    @classmethod
    def load(cls, bundle_dir: str | Path) -> Predictor:
        """Load and check a bundle directory; raise BundleError with a clear message when it does not fit."""
        xgboost = _xgboost()

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
        predictor = cls(booster, linear, metadata)
        predictor.tables  # noqa: B018 - built now rather than on the first request
        return predictor

    def _label(self, proba: float) -> str:
        return CLASS_LABELS[int(proba >= self.threshold)]

    def _linear_terms(self, matrix: np.ndarray) -> np.ndarray:
        """Per-design-column log-odds terms of the logistic regression (n, 66)."""
        with np.errstate(divide="ignore", invalid="ignore"):  # log(0) of an absent age, in a column left unused
            terms = (self.design.transform(matrix) - self._mean) / self._scale * self._coef
        terms[:, self._unused] = 0.0  # an excluded feature's term is 0 whatever its value, even absent
        return terms

    def log_odds_many(self, matrix: np.ndarray) -> np.ndarray:
        """Blended log-odds for an encoded (n, width) matrix."""
        z_linear = self._linear_terms(matrix).sum(axis=1) + self._intercept
        return self.weight * self.tables.margin(matrix) + (1.0 - self.weight) * z_linear

    def log_odds_native(self, matrix: np.ndarray) -> np.ndarray:
        """The same log-odds through XGBoost's own float32 prediction (cross-validation: no tables to build)."""
        z_tree = self.booster.inplace_predict(matrix, predict_type="margin").astype(np.float64)
        z_linear = self._linear_terms(matrix).sum(axis=1) + self._intercept
        return self.weight * z_tree + (1.0 - self.weight) * z_linear

    def feature_terms(self, matrix: np.ndarray) -> np.ndarray:
        """Each feature's log-odds term (n, 30), centred on the training data; their sum plus `base` is the log-odds."""
        per_feature = self.weight * self.encoder.fold(self.tables.per_column(matrix))
        per_feature += (1.0 - self.weight) * self.design.fold(self._linear_terms(matrix))
        return per_feature - self._centres

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
        per_feature = self.feature_terms(self.encoder.encode_many(records))
        return per_feature, np.full(len(per_feature), self.base)

    def top_drivers(self, features: Mapping, count: int = 5) -> list[dict]:
        """The `count` features that move this record's risk most, with their sign and size (log-odds)."""
        contributions, _ = self.contributions([features])
        names = self.encoder.feature_names
        order = [i for i in np.argsort(-np.abs(contributions[0]), kind="stable") if names[i] not in self.excluded]
        return [
            {"feature": names[i], "value": features[names[i]], "contribution": round(float(contributions[0][i]), 4)}
            for i in order[:count]
        ]


def check_compatible(metadata: Mapping) -> None:
    """Raise BundleError when a bundle's features or library versions do not fit this code."""
    if metadata.get("features") != feature_spec():
        raise BundleError(
            "model bundle features do not match this version of Futurisys's schema "
            "(retrain with `flask --app futurisys model train`)"
        )
    trained, here = metadata.get("library_versions", {}), library_versions()
    for name in CHECKED_LIBRARIES:
        if trained.get(name, "").split(".")[:2] != here[name].split(".")[:2]:
            raise BundleError(
                f"model bundle was trained with {name} {trained.get(name, '?')}, "
                f"this service runs {name} {here[name]}: retrain or install the matching version"
            )


def feature_spec() -> list[dict]:
    """The feature list stored in a bundle's metadata."""
    return [
        {"name": f.name, "type": f.kind, "categories": list(f.values) if f.kind == "category" else None}
        for f in FEATURES
    ]
