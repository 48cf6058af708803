"""The employee schema: the one source of truth for field names, types, ranges, categories and French texts.

The HR form, the JSON validation, the database columns, the OpenAPI document and the CSV columns are all
derived from the definitions below. This module imports neither Flask nor the web layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["int", "float", "bool", "category"]

SECTIONS = (
    "Identité et poste",
    "Parcours",
    "Rémunération",
    "Évaluations",
    "Satisfaction",
    "Conditions de travail",
)


@dataclass(frozen=True)
class Field:
    """One employee attribute: how it is typed, bounded, labelled and explained."""

    name: str
    kind: Kind
    label: str
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[tuple[object, str], ...] = ()
    section: str = ""
    required: bool = True
    unit: str = ""  # how a value reads to HR: "€", "km", "ans"
    lever: bool = False  # something HR can act on (pay, overtime, training, promotion, travel, satisfaction)
    sentinel: bool = False  # -1 means "does not apply" (no experience, hired this year), not a quantity
    accepts_percent: bool = False  # an integer HR exports write as a percentage ("11 %")

    @property
    def values(self) -> tuple:
        """The allowed values (categories, or the points of a labelled scale)."""
        return tuple(value for value, _ in self.choices)

    def choice_label(self, value) -> str:
        """The French label of an allowed value (the value itself when it has none)."""
        return dict(self.choices).get(value, str(value))

    @property
    def json_type(self) -> str:
        """The JSON Schema type of the field."""
        return {"int": "integer", "float": "number", "bool": "boolean", "category": "string"}[self.kind]


def _same(*values: str) -> tuple[tuple[str, str], ...]:
    return tuple((v, v) for v in values)


SATISFACTION = ((1, "1 — Faible"), (2, "2 — Moyenne"), (3, "3 — Élevée"), (4, "4 — Très élevée"))
EVALUATION = ((1, "1 — Faible"), (2, "2 — Bonne"), (3, "3 — Excellente"), (4, "4 — Exceptionnelle"))
BALANCE = ((1, "1 — Mauvais"), (2, "2 — Correct"), (3, "3 — Bon"), (4, "4 — Excellent"))
EDUCATION = (
    (1, "1 — Avant le supérieur"),
    (2, "2 — Bac+2"),
    (3, "3 — Licence"),
    (4, "4 — Master"),
    (5, "5 — Doctorat"),
)
PEE = ((0, "0 — Aucune"), (1, "1 — Faible"), (2, "2 — Moyenne"), (3, "3 — Élevée"))
JOB_LEVEL = tuple((n, f"Niveau {n}") for n in range(1, 6))

POSTES = (
    "Cadre Commercial",
    "Assistant de Direction",
    "Consultant",
    "Tech Lead",
    "Manager",
    "Senior Manager",
    "Représentant Commercial",
    "Directeur Technique",
    "Ressources Humaines",
)

S_ID, S_PATH, S_PAY, S_EVAL, S_SAT, S_WORK = SECTIONS


def _income_per_year(experience: str, label: str, help_text: str) -> Field:
    """Annual pay divided by years of experience (`totale`) or in the company (`interne`); −1 when there are none."""
    name = f"revenu_par_annee_experience_{experience}"
    return Field(name, "int", label, help_text, -1, 1_200_000, unit="€", lever=True, sentinel=True)


def _satisfaction(name: str, label: str, choices=SATISFACTION) -> Field:
    """A 1–4 satisfaction scale: something HR can act on."""
    return Field(name, "int", label, minimum=1, maximum=4, choices=choices, section=S_SAT, lever=True)


#: What the form and the batch page say next to the protected attributes (sex, marital status, age).
PROTECTED_HELP = (
    "Facultatif : jamais utilisé par le score. Enregistré s'il est donné, il ne sert qu'au contrôle d'équité du "
    "modèle (tableau d'équité de la fiche du modèle)."
)

# Fields that are both in the raw HR record and, unchanged, among the model's 30 features. The protected attributes
# (the law forbids basing an employment decision on them) are optional: the model is trained without them.
_SHARED = (
    Field(
        "age", "int", "Âge", "En années révolues. " + PROTECTED_HELP, 16, 75, section=S_ID, unit="ans", required=False
    ),
    Field(
        "genre",
        "category",
        "Genre",
        PROTECTED_HELP,
        choices=(("F", "Femme"), ("M", "Homme")),
        section=S_ID,
        required=False,
    ),
    Field(
        "statut_marital",
        "category",
        "Statut marital",
        PROTECTED_HELP,
        choices=_same("Célibataire", "Marié(e)", "Divorcé(e)"),
        section=S_ID,
        required=False,
    ),
    Field(
        "departement",
        "category",
        "Département",
        choices=_same("Commercial", "Consulting", "Ressources Humaines"),
        section=S_ID,
    ),
    Field("poste", "category", "Poste", choices=_same(*POSTES), section=S_ID),
    Field("niveau_education", "int", "Niveau d'études", minimum=1, maximum=5, choices=EDUCATION, section=S_ID),
    Field(
        "domaine_etude",
        "category",
        "Domaine d'études",
        choices=(
            ("Infra & Cloud", "Infra & Cloud"),
            ("Transformation Digitale", "Transformation Digitale"),
            ("Marketing", "Marketing"),
            ("Entrepreunariat", "Entrepreneuriat"),
            ("Autre", "Autre"),
            ("Ressources Humaines", "Ressources Humaines"),
        ),
        section=S_ID,
    ),
    Field(
        "nombre_experiences_precedentes",
        "int",
        "Nombre d'entreprises précédentes",
        "Employeurs avant l'entreprise actuelle.",
        0,
        30,
        section=S_PATH,
    ),
    Field(
        "annees_dans_l_entreprise",
        "int",
        "Années dans l'entreprise",
        "Ancienneté ; 0 pour une embauche récente.",
        0,
        60,
        section=S_PATH,
        unit="ans",
    ),
    Field(
        "annees_depuis_la_derniere_promotion",
        "int",
        "Années depuis la dernière promotion",
        "0 si promu cette année ou jamais promu depuis l'arrivée récente.",
        0,
        60,
        section=S_PATH,
        unit="ans",
        lever=True,
    ),
    Field(
        "nb_formations_suivies",
        "int",
        "Formations suivies l'an dernier",
        minimum=0,
        maximum=20,
        section=S_PATH,
        lever=True,
    ),
    Field(
        "revenu_mensuel",
        "int",
        "Revenu mensuel brut (€)",
        minimum=500,
        maximum=100_000,
        section=S_PAY,
        unit="€",
        lever=True,
    ),
    Field(
        "nombre_participation_pee",
        "int",
        "Participation au PEE",
        "Niveau de participation au plan d'épargne entreprise.",
        0,
        3,
        choices=PEE,
        section=S_PAY,
        lever=True,
    ),
    Field(
        "note_evaluation_actuelle",
        "int",
        "Note de l'évaluation actuelle",
        "Dernier entretien annuel.",
        1,
        4,
        choices=EVALUATION,
        section=S_EVAL,
    ),
    _satisfaction("satisfaction_employee_environnement", "Satisfaction : environnement de travail"),
    _satisfaction("satisfaction_employee_nature_travail", "Satisfaction : nature du travail"),
    _satisfaction("satisfaction_employee_equipe", "Satisfaction : équipe"),
    _satisfaction("satisfaction_employee_equilibre_pro_perso", "Équilibre vie professionnelle / personnelle", BALANCE),
    Field(
        "heure_supplementaires",
        "bool",
        "Heures supplémentaires",
        "Fait régulièrement des heures supplémentaires.",
        choices=((True, "Oui"), (False, "Non")),
        section=S_WORK,
        lever=True,
    ),
    Field(
        "frequence_deplacement",
        "category",
        "Déplacements professionnels",
        choices=(("Aucun", "Aucun"), ("Occasionnel", "Occasionnel"), ("Frequent", "Fréquent")),
        section=S_WORK,
        lever=True,
    ),
    Field(
        "distance_domicile_travail",
        "int",
        "Distance domicile–travail (km)",
        minimum=0,
        maximum=300,
        section=S_WORK,
        unit="km",
    ),
)
_BY_NAME = {f.name: f for f in _SHARED}

# Fields of the raw HR record only (the HR exports' spelling is kept, typos included).
_RAW_ONLY = (
    Field(
        "annee_experience_totale",
        "int",
        "Années d'expérience totale",
        "Toute la carrière, entreprise actuelle comprise.",
        0,
        60,
        section=S_PATH,
    ),
    Field(
        "annees_dans_le_poste_actuel",
        "int",
        "Années dans le poste actuel",
        "0 pour un changement de poste récent.",
        0,
        60,
        section=S_PATH,
    ),
    Field(
        "annes_sous_responsable_actuel",
        "int",
        "Années avec le responsable actuel",
        "Facultatif : non utilisé par le modèle.",
        0,
        60,
        section=S_PATH,
        required=False,
    ),
    Field(
        "niveau_hierarchique_poste",
        "int",
        "Niveau hiérarchique",
        "Facultatif : non utilisé par le modèle.",
        1,
        5,
        choices=JOB_LEVEL,
        section=S_ID,
        required=False,
    ),
    Field(
        "augementation_salaire_precedente",
        "int",
        "Dernière augmentation (%)",
        "Facultatif : non utilisé par le modèle. « 11 % » est accepté.",
        0,
        100,
        section=S_PAY,
        required=False,
        accepts_percent=True,
    ),
    Field(
        "note_evaluation_precedente",
        "int",
        "Note de l'évaluation précédente",
        "Entretien de l'année précédente ; sert à mesurer l'évolution.",
        1,
        4,
        choices=EVALUATION,
        section=S_EVAL,
    ),
)

_RAW_ORDER = (
    "age",
    "genre",
    "revenu_mensuel",
    "statut_marital",
    "departement",
    "poste",
    "nombre_experiences_precedentes",
    "annee_experience_totale",
    "annees_dans_l_entreprise",
    "annees_dans_le_poste_actuel",
    "satisfaction_employee_environnement",
    "note_evaluation_precedente",
    "niveau_hierarchique_poste",
    "satisfaction_employee_nature_travail",
    "satisfaction_employee_equipe",
    "satisfaction_employee_equilibre_pro_perso",
    "note_evaluation_actuelle",
    "heure_supplementaires",
    "augementation_salaire_precedente",
    "nombre_participation_pee",
    "nb_formations_suivies",
    "distance_domicile_travail",
    "niveau_education",
    "domaine_etude",
    "frequence_deplacement",
    "annees_depuis_la_derniere_promotion",
    "annes_sous_responsable_actuel",
)
_ALL_RAW = {f.name: f for f in _SHARED + _RAW_ONLY}
#: The 27 fields of the raw HR record, in the HR export's column order.
RAW_FIELDS: tuple[Field, ...] = tuple(_ALL_RAW[name] for name in _RAW_ORDER)

_ENGINEERED = {
    f.name: f
    for f in (
        Field(
            "ecart_note_evaluation", "int", "Écart de note d'évaluation", "Note actuelle moins note précédente.", -3, 3
        ),
        Field(
            "evolution_cat_evol",
            "category",
            "Évolution de l'évaluation",
            choices=(("hausse", "En hausse"), ("stable", "Stable"), ("baisse", "En baisse")),
        ),
        Field(
            "categorie_employe",
            "category",
            "Catégorie d'employé",
            choices=(
                ("employe_sans_experience", "Sans expérience"),
                ("employe_experimente_nouvel_entrant", "Expérimenté, nouvel entrant"),
                ("employe_nouveau_poste_interne", "Nouveau poste interne"),
                ("employe_experimente", "Expérimenté"),
            ),
        ),
        Field("exp_hors_entreprise", "int", "Expérience hors entreprise (années)", minimum=0, maximum=60, unit="ans"),
        Field(
            "ratio_sans_promotion",
            "int",
            "Sans promotion depuis l'arrivée",
            "1 si aucune promotion depuis l'arrivée, 0 sinon, −1 pour une embauche de l'année.",
            -1,
            1,
            lever=True,
            sentinel=True,
        ),
        Field(
            "satisfaction_globale",
            "float",
            "Satisfaction globale",
            "Moyenne des quatre satisfactions.",
            1,
            4,
            lever=True,
        ),
        _income_per_year("totale", "Revenu annuel par année d'expérience", "−1 sans expérience."),
        _income_per_year("interne", "Revenu annuel par année d'ancienneté", "−1 pour une embauche de l'année."),
        Field(
            "mobilite_promotion",
            "int",
            "Mobilité et promotion",
            "Années dans le poste moins années depuis la promotion ; −1 pour un poste de l'année.",
            -60,
            60,
            lever=True,
        ),
    )
}

_FEATURE_ORDER = (
    "genre",
    "statut_marital",
    "departement",
    "poste",
    "domaine_etude",
    "frequence_deplacement",
    "heure_supplementaires",
    "evolution_cat_evol",
    "categorie_employe",
    "satisfaction_employee_nature_travail",
    "nombre_participation_pee",
    "ecart_note_evaluation",
    "revenu_mensuel",
    "distance_domicile_travail",
    "satisfaction_globale",
    "niveau_education",
    "note_evaluation_actuelle",
    "satisfaction_employee_equipe",
    "age",
    "revenu_par_annee_experience_interne",
    "satisfaction_employee_equilibre_pro_perso",
    "nombre_experiences_precedentes",
    "annees_dans_l_entreprise",
    "nb_formations_suivies",
    "revenu_par_annee_experience_totale",
    "ratio_sans_promotion",
    "satisfaction_employee_environnement",
    "exp_hors_entreprise",
    "mobilite_promotion",
    "annees_depuis_la_derniere_promotion",
)
#: The original API's 30 model features (its `EmployeeFeatures`), in its order.
FEATURES: tuple[Field, ...] = tuple(_BY_NAME.get(n) or _ENGINEERED[n] for n in _FEATURE_ORDER)
FEATURE_NAMES: tuple[str, ...] = _FEATURE_ORDER
#: The 21 fields of the raw record that are model features unchanged.
SHARED_NAMES: tuple[str, ...] = tuple(f.name for f in _SHARED)
#: The features where -1 means "does not apply", in feature order.
SENTINEL_FEATURES: tuple[str, ...] = tuple(f.name for f in FEATURES if f.sentinel)
RAW_NAMES: tuple[str, ...] = _RAW_ORDER

TARGET = "a_quitte_l_entreprise"
ID = "id_employee"
#: The 32 columns of the reference dataset (`dataset_final.csv`), in its order.
DATASET_COLUMNS: tuple[str, ...] = (
    ID,
    "genre",
    "statut_marital",
    "departement",
    "poste",
    TARGET,
    "domaine_etude",
    "frequence_deplacement",
    "heure_supplementaires",
    "evolution_cat_evol",
    "categorie_employe",
    "nombre_experiences_precedentes",
    "annees_dans_l_entreprise",
    "annees_depuis_la_derniere_promotion",
    "nombre_participation_pee",
    "niveau_education",
    "revenu_mensuel",
    "ecart_note_evaluation",
    "satisfaction_employee_nature_travail",
    "satisfaction_employee_equipe",
    "satisfaction_employee_equilibre_pro_perso",
    "note_evaluation_actuelle",
    "nb_formations_suivies",
    "age",
    "distance_domicile_travail",
    "exp_hors_entreprise",
    "ratio_sans_promotion",
    "satisfaction_employee_environnement",
    "satisfaction_globale",
    "revenu_par_annee_experience_totale",
    "revenu_par_annee_experience_interne",
    "mobilite_promotion",
)

#: Keys that only a raw HR record carries: their presence tells a raw record from a feature payload.
RAW_ONLY_NAMES = frozenset(f.name for f in _RAW_ONLY)
CLASS_LABELS = {0: "Reste", 1: "Part"}
LEAVES, STAYS = CLASS_LABELS[1], CLASS_LABELS[0]
#: Rows of the reference dataset (IBM HR attrition sample).
REFERENCE_ROWS = 1470

#: The employee's reference (matricule) HR may attach to an evaluation: never a name.
EMPLOYEE_REF_PATTERN = r"^[A-Za-z0-9._-]{1,32}$"
EMPLOYEE_REF_MESSAGE = "Jusqu'à 32 caractères parmi lettres sans accent, chiffres, « - », « _ » et « . »."
EMPLOYEE_REF_HELP = "Facultatif : le matricule, pour retrouver l'évaluation. Jamais de nom."


def raw_field(name: str) -> Field:
    """The raw-record field called `name`."""
    return _ALL_RAW[name]


def feature(name: str) -> Field:
    """The model feature called `name`."""
    return _BY_NAME.get(name) or _ENGINEERED[name]


@dataclass(frozen=True)
class Rule:
    """A cross-field rule as integrators read it: the expression, the field it flags, what it means in French."""

    rule: str
    field: str
    description: str


# "No more years ... than in the company": field → what its years count, for both the message HR read and the rule
# written out for integrators.
_WITHIN_COMPANY = {
    "annees_dans_le_poste_actuel": "dans le poste actuel",
    "annees_depuis_la_derniere_promotion": "depuis la dernière promotion",
    "annes_sous_responsable_actuel": "avec le responsable actuel",
}
_WITHIN_COMPANY_RULES = {
    name: Rule(f"{name} <= annees_dans_l_entreprise", name, f"pas plus d'années {what} que dans l'entreprise")
    for name, what in _WITHIN_COMPANY.items()
}
#: The rules of `raw_consistency_errors`, written out (JSON Schema cannot express them; the API documents them).
RAW_RULES: tuple[Rule, ...] = (
    Rule(
        "annees_dans_l_entreprise <= annee_experience_totale",
        "annees_dans_l_entreprise",
        "pas plus d'années dans l'entreprise que d'expérience totale",
    ),
    *_WITHIN_COMPANY_RULES.values(),
    Rule("age - annee_experience_totale >= 14", "annee_experience_totale", "début de carrière à 14 ans au plus tôt"),
)
#: The rules of `feature_consistency_errors`, written out.
FEATURE_RULES: tuple[Rule, ...] = (
    _WITHIN_COMPANY_RULES["annees_depuis_la_derniere_promotion"],
    Rule(
        "evolution_cat_evol == ('hausse' if ecart_note_evaluation > 0 "
        "else 'baisse' if ecart_note_evaluation < 0 else 'stable')",
        "evolution_cat_evol",
        "l'évolution suit le signe de l'écart de note",
    ),
)


def _beyond_company(name: str) -> str:
    return f"Les années {_WITHIN_COMPANY[name]} ne peuvent pas dépasser les années dans l'entreprise."


def raw_consistency_errors(record: dict) -> dict[str, list[str]]:
    """Cross-field rules every real raw record obeys, as {field: [French message]} (empty when consistent)."""
    errors: dict[str, list[str]] = {}

    def check(ok: bool, field: str, message: str) -> None:
        if not ok:
            errors.setdefault(field, []).append(message)

    total_years, company_years = record.get("annee_experience_totale"), record.get("annees_dans_l_entreprise")
    age = record.get("age")
    if company_years is not None:
        if total_years is not None:
            check(
                company_years <= total_years,
                "annees_dans_l_entreprise",
                "Les années dans l'entreprise ne peuvent pas dépasser l'expérience totale.",
            )
        for name in _WITHIN_COMPANY:
            if record.get(name) is not None:
                check(record[name] <= company_years, name, _beyond_company(name))
    if age is not None and total_years is not None:
        check(
            age - total_years >= 14,
            "annee_experience_totale",
            "L'expérience totale est incompatible avec l'âge (début de carrière avant 14 ans).",
        )
    return errors


def feature_consistency_errors(features: dict) -> dict[str, list[str]]:
    """Cross-field rules for a 30-feature payload, as {field: [French message]}."""
    errors: dict[str, list[str]] = {}
    company_years = features.get("annees_dans_l_entreprise")
    since_promotion = features.get("annees_depuis_la_derniere_promotion")
    if company_years is not None and since_promotion is not None and since_promotion > company_years:
        errors["annees_depuis_la_derniere_promotion"] = [_beyond_company("annees_depuis_la_derniere_promotion")]
    ecart, evolution = features.get("ecart_note_evaluation"), features.get("evolution_cat_evol")
    if ecart is not None and evolution is not None:
        expected = "hausse" if ecart > 0 else "baisse" if ecart < 0 else "stable"
        if evolution != expected:
            errors["evolution_cat_evol"] = [f"Incohérent avec ecart_note_evaluation={ecart} : attendu « {expected} »."]
    return errors
