"""The reference dataset and the one derivation function."""

import pytest

from futurisys.domain.schema import FEATURE_NAMES, RAW_FIELDS, raw_consistency_errors
from futurisys.ml.data import REFERENCE_MD5, md5_hex, raw_records, reference_csv_bytes
from futurisys.ml.features import derive_features

BASE = {  # a plausible employee; each test changes what it pins
    "age": 35,
    "genre": "M",
    "revenu_mensuel": 5000,
    "statut_marital": "Marié(e)",
    "departement": "Consulting",
    "poste": "Consultant",
    "nombre_experiences_precedentes": 2,
    "annee_experience_totale": 10,
    "annees_dans_l_entreprise": 5,
    "annees_dans_le_poste_actuel": 3,
    "satisfaction_employee_environnement": 3,
    "note_evaluation_precedente": 3,
    "niveau_hierarchique_poste": 2,
    "satisfaction_employee_nature_travail": 4,
    "satisfaction_employee_equipe": 2,
    "satisfaction_employee_equilibre_pro_perso": 3,
    "note_evaluation_actuelle": 3,
    "heure_supplementaires": False,
    "augementation_salaire_precedente": 12,
    "nombre_participation_pee": 1,
    "nb_formations_suivies": 2,
    "distance_domicile_travail": 7,
    "niveau_education": 3,
    "domaine_etude": "Marketing",
    "frequence_deplacement": "Aucun",
    "annees_depuis_la_derniere_promotion": 1,
    "annes_sous_responsable_actuel": 2,
}


def test_export_is_byte_identical_to_the_original_dataset():
    content = reference_csv_bytes()
    assert md5_hex(content) == REFERENCE_MD5 == "9eedbae8e9b34a02ec492270cb7e2f71"
    assert content.count(b"\n") == 1471
    assert "Marié(e)".encode() in content


def test_raw_records_are_the_27_field_hr_record():
    records = raw_records()
    assert len(records) == 1470
    assert {f.name for f in RAW_FIELDS} <= set(records[0])
    assert len(RAW_FIELDS) == 27
    assert all(not raw_consistency_errors(r) for r in records)


def test_features_keep_the_original_names_order_and_types():
    features = derive_features(BASE)
    assert tuple(features) == FEATURE_NAMES and len(features) == 30
    assert isinstance(features["heure_supplementaires"], bool)
    assert isinstance(features["satisfaction_globale"], float)
    assert all(
        isinstance(features[n], int) for n in ("age", "mobilite_promotion", "revenu_par_annee_experience_totale")
    )


def test_experienced_employee():
    f = derive_features(BASE)
    assert f["categorie_employe"] == "employe_experimente"
    assert f["exp_hors_entreprise"] == 5
    assert f["ratio_sans_promotion"] == 0  # 1 // 5
    assert f["revenu_par_annee_experience_totale"] == 6000  # 60000 // 10
    assert f["revenu_par_annee_experience_interne"] == 12000
    assert f["mobilite_promotion"] == 2
    assert f["satisfaction_globale"] == 3.0
    assert (f["ecart_note_evaluation"], f["evolution_cat_evol"]) == (0, "stable")


def test_no_experience_uses_the_sentinels():
    f = derive_features(
        {
            **BASE,
            "annee_experience_totale": 0,
            "annees_dans_l_entreprise": 0,
            "annees_dans_le_poste_actuel": 0,
            "annees_depuis_la_derniere_promotion": 0,
        }
    )
    assert f["categorie_employe"] == "employe_sans_experience"
    assert f["revenu_par_annee_experience_totale"] == -1
    assert f["revenu_par_annee_experience_interne"] == -1
    assert f["ratio_sans_promotion"] == -1
    assert f["mobilite_promotion"] == -1
    assert f["exp_hors_entreprise"] == 0


def test_new_hire_with_experience():
    f = derive_features(
        {
            **BASE,
            "annees_dans_l_entreprise": 0,
            "annees_dans_le_poste_actuel": 0,
            "annees_depuis_la_derniere_promotion": 0,
        }
    )
    assert f["categorie_employe"] == "employe_experimente_nouvel_entrant"
    assert f["revenu_par_annee_experience_interne"] == -1
    assert f["revenu_par_annee_experience_totale"] == 6000
    assert f["exp_hors_entreprise"] == 10


def test_new_internal_role():
    f = derive_features({**BASE, "annees_dans_le_poste_actuel": 0})
    assert f["categorie_employe"] == "employe_nouveau_poste_interne"
    assert f["mobilite_promotion"] == -1


def test_negative_mobilite_promotion_is_not_clipped():
    f = derive_features({**BASE, "annees_dans_le_poste_actuel": 2, "annees_depuis_la_derniere_promotion": 5})
    assert f["mobilite_promotion"] == -3
    natural = derive_features({**BASE, "annees_dans_le_poste_actuel": 2, "annees_depuis_la_derniere_promotion": 3})
    assert natural["mobilite_promotion"] == -1  # a real -1, not the sentinel
    assert natural["categorie_employe"] == "employe_experimente"


def test_ratio_sans_promotion_is_one_only_when_never_promoted():
    assert derive_features({**BASE, "annees_depuis_la_derniere_promotion": 5})["ratio_sans_promotion"] == 1
    assert derive_features({**BASE, "annees_depuis_la_derniere_promotion": 4})["ratio_sans_promotion"] == 0


def test_revenue_ratios_floor_rather_than_round():
    f = derive_features(
        {
            **BASE,
            "revenu_mensuel": 1001,
            "annee_experience_totale": 7,
            "annees_dans_l_entreprise": 7,
            "annees_dans_le_poste_actuel": 7,
            "annees_depuis_la_derniere_promotion": 0,
        }
    )
    assert f["revenu_par_annee_experience_totale"] == 12012 // 7 == 1716  # 1716.0 exactly would round the same
    f = derive_features(
        {
            **BASE,
            "revenu_mensuel": 1003,
            "annee_experience_totale": 7,
            "annees_dans_l_entreprise": 7,
            "annees_dans_le_poste_actuel": 7,
            "annees_depuis_la_derniere_promotion": 0,
        }
    )
    assert f["revenu_par_annee_experience_totale"] == 1719  # 12036 / 7 = 1719.43


@pytest.mark.parametrize(
    "current, previous, gap, trend", [(4, 1, 3, "hausse"), (3, 4, -1, "baisse"), (3, 3, 0, "stable")]
)
def test_evaluation_gap_and_trend(current, previous, gap, trend):
    f = derive_features({**BASE, "note_evaluation_actuelle": current, "note_evaluation_precedente": previous})
    assert (f["ecart_note_evaluation"], f["evolution_cat_evol"]) == (gap, trend)


def test_satisfaction_globale_averages_four_items_without_involvement():
    f = derive_features(
        {
            **BASE,
            "satisfaction_employee_environnement": 1,
            "satisfaction_employee_nature_travail": 2,
            "satisfaction_employee_equipe": 2,
            "satisfaction_employee_equilibre_pro_perso": 4,
            "note_evaluation_precedente": 1,
        }
    )
    assert f["satisfaction_globale"] == 2.25


def test_consistency_rules_name_the_fields():
    errors = raw_consistency_errors({**BASE, "annees_dans_le_poste_actuel": 6, "annees_dans_l_entreprise": 5})
    assert list(errors) == ["annees_dans_le_poste_actuel"]
    errors = raw_consistency_errors({**BASE, "annees_dans_l_entreprise": 12})
    assert "annees_dans_l_entreprise" in errors
    errors = raw_consistency_errors({**BASE, "age": 20, "annee_experience_totale": 10})
    assert "annee_experience_totale" in errors
