"""The one derivation of the model's 30 features from a raw HR record."""
from __future__ import annotations

from collections.abc import Mapping

from futurisys.schema import FEATURE_NAMES

_COPIED = (
    "genre", "statut_marital", "departement", "poste", "domaine_etude", "frequence_deplacement",
    "heure_supplementaires", "satisfaction_employee_nature_travail", "nombre_participation_pee", "revenu_mensuel",
    "distance_domicile_travail", "niveau_education", "note_evaluation_actuelle", "satisfaction_employee_equipe",
    "age", "satisfaction_employee_equilibre_pro_perso", "nombre_experiences_precedentes",
    "annees_dans_l_entreprise", "nb_formations_suivies", "satisfaction_employee_environnement",
    "annees_depuis_la_derniere_promotion",
)


def employee_category(total_years: int, years_at_company: int, years_in_role: int) -> str:
    """`categorie_employe`: the rules are checked in this order."""
    if total_years == 0:
        return "employe_sans_experience"
    if years_at_company == 0:
        return "employe_experimente_nouvel_entrant"
    if years_in_role == 0:
        return "employe_nouveau_poste_interne"
    return "employe_experimente"


def derive_features(raw: Mapping) -> dict:
    """The 30 model features (original API names, order and JSON types) computed from one raw HR record."""
    twy = raw["annee_experience_totale"]
    yac = raw["annees_dans_l_entreprise"]
    ycr = raw["annees_dans_le_poste_actuel"]
    yslp = raw["annees_depuis_la_derniere_promotion"]
    yearly_income = 12 * raw["revenu_mensuel"]
    gap = raw["note_evaluation_actuelle"] - raw["note_evaluation_precedente"]
    derived = {name: raw[name] for name in _COPIED}
    derived.update(
        ecart_note_evaluation=gap,
        evolution_cat_evol="hausse" if gap > 0 else "baisse" if gap < 0 else "stable",
        categorie_employe=employee_category(twy, yac, ycr),
        exp_hors_entreprise=twy - yac,
        ratio_sans_promotion=-1 if yac == 0 else yslp // yac,
        satisfaction_globale=(raw["satisfaction_employee_environnement"] + raw["satisfaction_employee_nature_travail"]
                              + raw["satisfaction_employee_equipe"]
                              + raw["satisfaction_employee_equilibre_pro_perso"]) / 4,
        revenu_par_annee_experience_totale=-1 if twy == 0 else yearly_income // twy,
        revenu_par_annee_experience_interne=-1 if yac == 0 else yearly_income // yac,
        # Deliberately not clipped: negative values other than the -1 sentinel are real (see MAPPING).
        mobilite_promotion=-1 if ycr == 0 else ycr - yslp,
    )
    return {name: derived[name] for name in FEATURE_NAMES}
