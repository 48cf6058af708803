"""The one derivation of the model's 30 features from a raw HR record."""

from __future__ import annotations

from collections.abc import Mapping

from futurisys.domain.schema import FEATURE_NAMES, SHARED_NAMES


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
    total_years = raw["annee_experience_totale"]
    company_years = raw["annees_dans_l_entreprise"]
    role_years = raw["annees_dans_le_poste_actuel"]
    since_promotion = raw["annees_depuis_la_derniere_promotion"]
    yearly_income = 12 * raw["revenu_mensuel"]
    gap = raw["note_evaluation_actuelle"] - raw["note_evaluation_precedente"]
    derived = {name: raw.get(name) for name in SHARED_NAMES}  # protected attributes may be absent
    derived.update(
        ecart_note_evaluation=gap,
        evolution_cat_evol="hausse" if gap > 0 else "baisse" if gap < 0 else "stable",
        categorie_employe=employee_category(total_years, company_years, role_years),
        exp_hors_entreprise=total_years - company_years,
        ratio_sans_promotion=-1 if company_years == 0 else since_promotion // company_years,
        satisfaction_globale=(
            raw["satisfaction_employee_environnement"]
            + raw["satisfaction_employee_nature_travail"]
            + raw["satisfaction_employee_equipe"]
            + raw["satisfaction_employee_equilibre_pro_perso"]
        )
        / 4,
        revenu_par_annee_experience_totale=-1 if total_years == 0 else yearly_income // total_years,
        revenu_par_annee_experience_interne=-1 if company_years == 0 else yearly_income // company_years,
        # Deliberately not clipped: negative values other than the -1 sentinel are real (see MAPPING).
        mobilite_promotion=-1 if role_years == 0 else role_years - since_promotion,
    )
    return {name: derived[name] for name in FEATURE_NAMES}
