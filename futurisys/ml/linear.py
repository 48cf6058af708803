"""The logistic-regression half's design matrix: log scales, -1 sentinels split out, a few indicator columns."""

from __future__ import annotations

import numpy as np

from futurisys.domain.schema import SENTINEL_FEATURES
from futurisys.ml.encoding import FeatureEncoder, fold_columns

_LOG1P_COLUMNS = ("revenu_par_annee_experience_interne", "revenu_par_annee_experience_totale")
_SATISFACTIONS = (
    "satisfaction_employee_environnement",
    "satisfaction_employee_nature_travail",
    "satisfaction_employee_equipe",
    "satisfaction_employee_equilibre_pro_perso",
)
# (new column, source column, test); the test gives 0/1, or a value for "log".
_EXTRA = (
    *((f"is_sentinel({name})", name, ("eq", -1.0)) for name in SENTINEL_FEATURES),
    ("nombre_participation_pee==0", "nombre_participation_pee", ("eq", 0.0)),
    ("nombre_participation_pee==3", "nombre_participation_pee", ("eq", 3.0)),
    ("mobilite_promotion==-1", "mobilite_promotion", ("eq", -1.0)),
    ("log(age)", "age", ("log", None)),
    *((f"{name}==1", name, ("eq", 1.0)) for name in _SATISFACTIONS),
)


class LinearDesign:
    """Maps the encoded matrix (n, 55) to the logistic regression's inputs (n, 66), in plain numpy."""

    def __init__(self, encoder: FeatureEncoder):
        index = {name: i for i, name in enumerate(encoder.columns)}
        self._income = index["revenu_mensuel"]
        self._sentinels = [index[name] for name in SENTINEL_FEATURES]
        self._log1p = [index[name] for name in _LOG1P_COLUMNS]
        extra = [
            (offset, index[source], test, value)
            for offset, (_, source, (test, value)) in enumerate(_EXTRA, start=len(encoder.columns))
        ]
        equal = [(offset, source, value) for offset, source, test, value in extra if test == "eq"]
        logged = [(offset, source) for offset, source, test, _ in extra if test == "log"]
        # One numpy operation per kind of test rather than one per column: a single record is scored per request.
        self._equal_at, self._equal_from, self._equal_to = (np.array(part) for part in zip(*equal, strict=True))
        self._log_at, self._log_from = (np.array(part) for part in zip(*logged, strict=True))
        self._n_features = len(encoder.feature_names)
        self.columns = list(encoder.columns) + [name for name, _, _ in _EXTRA]
        #: feature index each design column comes from (for per-feature contributions)
        self.source = list(encoder.source) + [encoder.source[index[source]] for _, source, _ in _EXTRA]

    def transform(self, matrix: np.ndarray) -> np.ndarray:
        """The design matrix for an encoded float32 matrix."""
        x = np.asarray(matrix, dtype=np.float64)
        design = np.empty((x.shape[0], len(self.columns)))
        z = design[:, : x.shape[1]]
        z[:] = x
        z[:, self._income] = np.log(x[:, self._income])
        z[:, self._sentinels] = np.where(x[:, self._sentinels] == -1.0, 0.0, x[:, self._sentinels])
        z[:, self._log1p] = np.log1p(z[:, self._log1p])
        design[:, self._equal_at] = x[:, self._equal_from] == self._equal_to
        design[:, self._log_at] = np.log(x[:, self._log_from])
        return design

    def fold(self, per_column: np.ndarray) -> np.ndarray:
        """Sum per-design-column contributions back onto the 30 features."""
        return fold_columns(per_column, self.source, self._n_features)
